public import Foundation
import ScryptexCore
import ScryptexCrypto

/// One entry of an audit trail, as stored and as exported.
public struct AuditRecord: Sendable, Equatable, Codable {
    /// The record's place in the chain: 1, 2, 3, … with no gaps (assigned under a lock).
    public var position: Int64
    /// Microseconds since the Unix epoch.
    public var occurredAtMicroseconds: Int64
    /// Who: `user:<id>`, `api-key:<prefix>`, `platform-admin:<prefix>`, `system`.
    public var actor: String
    /// What, as `noun.verb`: `account.created`, `login.failed`, `api_key.revoked`.
    public var action: String
    public var objectType: String?
    public var objectID: String?
    public var accountID: String?
    public var requestID: String?
    /// The details as PostgreSQL prints the stored `jsonb` (its canonical text).
    public var details: String
    public var previousHash: String
    public var recordHash: String

    public init(
        position: Int64, occurredAtMicroseconds: Int64, actor: String, action: String, objectType: String? = nil,
        objectID: String? = nil, accountID: String? = nil, requestID: String? = nil, details: String = "{}",
        previousHash: String, recordHash: String
    ) {
        self.position = position
        self.occurredAtMicroseconds = occurredAtMicroseconds
        self.actor = actor
        self.action = action
        self.objectType = objectType
        self.objectID = objectID
        self.accountID = accountID
        self.requestID = requestID
        self.details = details
        self.previousHash = previousHash
        self.recordHash = recordHash
    }

    public var occurredAt: Date { Date(timeIntervalSince1970: Double(occurredAtMicroseconds) / 1e6) }
}

/// The hash chain over audit records. Each record's hash is SHA-256 over a canonical encoding of
/// its fields, which include the previous record's hash; changing, removing or reordering any
/// record breaks every link after it.
///
/// The canonical encoding is each field as `<UTF-8 length>:<text>` (or `~` when absent), joined
/// by `|`, in the order: position, occurred-at microseconds, actor, action, object type, object
/// id, account id, request id, details, previous hash. The database computes the same encoding
/// in the insert trigger (`AuditChainSQL`), so every row is chained however it was written.
public enum AuditChain {
    /// The previous hash of the first record ever written.
    public static let genesisHash = String(repeating: "0", count: 64)

    public static func canonicalEncoding(of record: AuditRecord) -> String {
        let fields: [String?] = [
            String(record.position), String(record.occurredAtMicroseconds), record.actor, record.action,
            record.objectType, record.objectID, record.accountID, record.requestID, record.details,
            record.previousHash,
        ]
        return fields.map { field in field.map { "\($0.utf8.count):\($0)" } ?? "~" }.joined(separator: "|")
    }

    public static func hash(of record: AuditRecord) -> String {
        SHA256.hexDigest(canonicalEncoding(of: record))
    }

    /// What a verification found.
    public struct Verification: Sendable, Equatable, Codable {
        public var recordsChecked: Int
        public var firstPosition: Int64?
        public var lastPosition: Int64?
        public var headHash: String?
        /// The first broken link; nil when the chain is intact.
        public var firstBrokenLink: BrokenLink?
        /// The position through which a signed seal vouches for the records; nil without a seal.
        public var sealedThrough: Int64?

        public var isIntact: Bool { firstBrokenLink == nil }
    }

    public struct BrokenLink: Sendable, Equatable, Codable, CustomStringConvertible {
        public var position: Int64
        public var problem: String

        public var description: String { "record \(position): \(problem)" }
    }

    /// Walks records in chain order and reports the first broken link.
    ///
    /// - Parameters:
    ///   - records: In ascending position.
    ///   - startingAfter: For a trail whose beginning was purged: the position and hash of the
    ///     last purged record, from a verified checkpoint. Nil means the chain starts at 1.
    public static func verify(
        _ records: some Sequence<AuditRecord>, startingAfter anchor: (position: Int64, hash: String)? = nil
    ) -> Verification {
        var walk = Walk(startingAfter: anchor)
        for record in records {
            guard walk.check(record) else { break }
        }
        return walk.verification
    }

    /// Checks records one at a time, in chain order, keeping only the last link: a trail of any
    /// length is verified in constant memory, page by page.
    public struct Walk: Sendable {
        public private(set) var verification = Verification(recordsChecked: 0)
        private var expectedPosition: Int64
        private var expectedPrevious: String

        /// - Parameter anchor: The last purged record's position and hash (from a verified
        ///   checkpoint), or nil for a chain that starts at 1.
        public init(startingAfter anchor: (position: Int64, hash: String)? = nil) {
            expectedPosition = (anchor?.position ?? 0) + 1
            expectedPrevious = anchor?.hash ?? genesisHash
        }

        /// Checks the next record; false once a link is broken (nothing after it is checked).
        @discardableResult
        public mutating func check(_ record: AuditRecord) -> Bool {
            guard verification.isIntact else { return false }
            if verification.firstPosition == nil { verification.firstPosition = record.position }
            verification.recordsChecked += 1
            if record.position != expectedPosition {
                let problem =
                    record.position > expectedPosition
                    ? "records \(expectedPosition) to \(record.position - 1) are missing"
                    : "out of order: expected record \(expectedPosition)"
                verification.firstBrokenLink = BrokenLink(position: record.position, problem: problem)
                return false
            }
            if !ConstantTime.equals(record.previousHash, expectedPrevious) {
                verification.firstBrokenLink = BrokenLink(
                    position: record.position,
                    problem: "its previous-hash does not match the hash of record \(record.position - 1)")
                return false
            }
            if !ConstantTime.equals(hash(of: record), record.recordHash) {
                verification.firstBrokenLink = BrokenLink(
                    position: record.position, problem: "its contents do not match its hash (the record was altered)")
                return false
            }
            verification.lastPosition = record.position
            verification.headHash = record.recordHash
            expectedPosition += 1
            expectedPrevious = record.recordHash
            return true
        }
    }
}

/// The SQL side of the chain, shared by the platform schema and every tenant schema.
///
/// Part of applied migrations: never edit this text; add a migration with a new version instead.
public enum AuditChainSQL {
    /// Functions and triggers for a table named `audit_records` in the current `search_path`
    /// schema, with the columns `AuditRecord` describes.
    public static let version1 = """
        CREATE FUNCTION audit_canonical(bigint, timestamptz, text, text, text, text, uuid, text, jsonb, text)
        RETURNS text LANGUAGE sql IMMUTABLE AS $$
            SELECT string_agg(CASE WHEN field IS NULL THEN '~' ELSE octet_length(field)::text || ':' || field END, '|'
                              ORDER BY ordinal)
            FROM unnest(ARRAY[
                $1::text, (extract(epoch FROM $2) * 1000000)::bigint::text, $3, $4, $5, $6, $7::text, $8, $9::text, $10
            ]) WITH ORDINALITY AS fields (field, ordinal)
        $$;

        CREATE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
        DECLARE
            last_position bigint;
            last_hash text;
        BEGIN
            -- One writer at a time per trail, until its transaction ends: positions have no gaps
            -- and follow commit order.
            PERFORM pg_advisory_xact_lock(hashtextextended(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, 7));
            SELECT chain_position, record_hash INTO last_position, last_hash
                FROM audit_records ORDER BY chain_position DESC LIMIT 1;
            NEW.chain_position := coalesce(last_position, 0) + 1;
            NEW.previous_hash := coalesce(last_hash, repeat('0', 64));
            NEW.occurred_at := date_trunc('microseconds', clock_timestamp());
            NEW.details := coalesce(NEW.details, '{}'::jsonb);
            NEW.record_hash := encode(sha256(convert_to(audit_canonical(
                NEW.chain_position, NEW.occurred_at, NEW.actor, NEW.action, NEW.object_type, NEW.object_id,
                NEW.account_id, NEW.request_id, NEW.details, NEW.previous_hash), 'UTF8')), 'hex');
            RETURN NEW;
        END
        $$;

        CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('scryptex.audit_purge', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit records are append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$;

        CREATE TRIGGER audit_records_chain BEFORE INSERT ON audit_records
            FOR EACH ROW EXECUTE FUNCTION audit_chain_append();
        CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
            FOR EACH ROW EXECUTE FUNCTION audit_append_only();
        CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
            FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
        """
}
