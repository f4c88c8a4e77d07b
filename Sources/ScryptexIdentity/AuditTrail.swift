public import Foundation
import ScryptexCore
public import ScryptexCrypto
public import ScryptexPostgres
import ScryptexTenancy

/// Something to record: who did what to which object.
public struct AuditEvent: Sendable {
    public var actor: String
    public var action: String
    public var objectType: String?
    public var objectID: String?
    public var accountID: UUID?
    public var requestID: String?
    /// Extra facts (never secrets, never personal data in clear).
    public var details: [String: String]

    public init(
        actor: String, action: String, objectType: String? = nil, objectID: String? = nil, accountID: UUID? = nil,
        requestID: String? = nil, details: [String: String] = [:]
    ) {
        self.actor = actor
        self.action = action
        self.objectType = objectType
        self.objectID = objectID
        self.accountID = accountID
        self.requestID = requestID
        self.details = details
    }
}

/// A tamper-evident audit trail: the `audit_records` table of one schema (a tenant's, or the
/// control plane's). Appends happen inside the caller's transaction, so a change and its record
/// commit or roll back together; the database trigger assigns the position and the hashes.
public struct AuditTrail: Sendable {
    public let schema: SQLIdentifier

    static let table = SQLIdentifier(static: "audit_records")

    public init(schema: SQLIdentifier) {
        self.schema = schema
    }

    /// Appends `event` in `transaction`, as the host: a tenant's role may read its trail but
    /// not write it.
    public func append(_ event: AuditEvent, in transaction: PostgresTransaction) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let details = String(decoding: try encoder.encode(event.details), as: UTF8.self)
        try await TenantScope.asHost(in: transaction) {
            try await transaction.execute(
                """
                INSERT INTO \(identifier: schema, Self.table)
                    (actor, action, object_type, object_id, account_id, request_id, details, previous_hash, record_hash)
                VALUES (\(event.actor), \(event.action), \(event.objectType), \(event.objectID), \(event.accountID),
                        \(event.requestID), \(details)::jsonb, '', '')
                """
            )
        }
    }

    /// Which records to list.
    public struct Filter: Sendable {
        public var actor: String?
        public var action: String?
        public var objectType: String?
        public var objectID: String?
        public var accountID: UUID?
        public var from: Date?
        public var until: Date?

        public init(
            actor: String? = nil, action: String? = nil, objectType: String? = nil, objectID: String? = nil,
            accountID: UUID? = nil, from: Date? = nil, until: Date? = nil
        ) {
            self.actor = actor
            self.action = action
            self.objectType = objectType
            self.objectID = objectID
            self.accountID = accountID
            self.from = from
            self.until = until
        }
    }

    static let columns: StaticString = """
        chain_position, (extract(epoch FROM occurred_at) * 1000000)::bigint AS occurred_us, actor, action, object_type,
        object_id, account_id::text AS account_id, request_id, details::text AS details, previous_hash, record_hash
        """

    /// Records matching `filter`, oldest first, after position `cursor`, at most `limit`.
    public func records(
        matching filter: Filter, after cursor: Int64 = 0, limit: Int = 100, in transaction: PostgresTransaction
    ) async throws -> [AuditRecord] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM \(identifier: schema, Self.table)
            WHERE chain_position > \(cursor)
              AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
              AND (\(filter.action)::text IS NULL OR action = \(filter.action))
              AND (\(filter.objectType)::text IS NULL OR object_type = \(filter.objectType))
              AND (\(filter.objectID)::text IS NULL OR object_id = \(filter.objectID))
              AND (\(filter.accountID)::uuid IS NULL OR account_id = \(filter.accountID))
              AND (\(filter.from)::timestamptz IS NULL OR occurred_at >= \(filter.from))
              AND (\(filter.until)::timestamptz IS NULL OR occurred_at < \(filter.until))
            ORDER BY chain_position LIMIT \(limit)
            """
        )
        return try rows.map(Self.record(from:))
    }

    static func record(from row: PostgresRow) throws -> AuditRecord {
        AuditRecord(
            position: try row.decode("chain_position", as: Int64.self),
            occurredAtMicroseconds: try row.decode("occurred_us", as: Int64.self),
            actor: try row.decode("actor", as: String.self), action: try row.decode("action", as: String.self),
            objectType: try row.decode("object_type", as: String?.self),
            objectID: try row.decode("object_id", as: String?.self),
            accountID: try row.decode("account_id", as: String?.self),
            requestID: try row.decode("request_id", as: String?.self),
            details: try row.decode("details", as: String.self),
            previousHash: try row.decode("previous_hash", as: String.self),
            recordHash: try row.decode("record_hash", as: String.self)
        )
    }

    /// Verifies the whole trail, including the checkpoint that vouches for a purged beginning,
    /// and, given the trail's latest seal and the key that signs seals, that no sealed record
    /// was rewritten or removed since (which the chain alone cannot show against someone who
    /// can write the database).
    public func verify(
        in transaction: PostgresTransaction, checkpointKey: [UInt8]?, seal: AuditSeal? = nil,
        sealKey: P256PublicKey? = nil
    ) async throws
        -> AuditChain.Verification
    {
        // Page by page, in constant memory: the first record, the checkpoint that vouches for a
        // purged beginning, then every record through the chain walk.
        let verifier = AuditTrailVerifier(checkpointKey: checkpointKey, schemaName: schema.name)
        guard let first = try await records(matching: Filter(), limit: 1, in: transaction).first else {
            return verifier.verify([], seal: seal, sealKey: sealKey)
        }
        var checkpoints: [AuditRecord] = []
        if first.position > 1 {
            let rows = try await transaction.query(
                """
                SELECT \(sql: Self.columns) FROM \(identifier: schema, Self.table)
                WHERE action = 'audit.checkpoint' AND details ->> 'purgedThrough' = \(String(first.position - 1))
                ORDER BY chain_position DESC
                """
            )
            checkpoints = try rows.map(Self.record(from:))
        }
        var walk: AuditChain.Walk
        switch verifier.walk(from: first, checkpoints: checkpoints) {
        case .walk(let start): walk = start
        case .broken(let verification): return verification
        }
        var hashAtSeal: String?
        var cursor = first.position - 1
        paging: while true {
            let page = try await records(matching: Filter(), after: cursor, limit: 5000, in: transaction)
            guard let last = page.last else { break }
            for record in page {
                if record.position == seal?.position { hashAtSeal = record.recordHash }
                guard walk.check(record) else { break paging }
            }
            cursor = last.position
        }
        var result = walk.verification
        verifier.hold(
            &result, against: seal, sealKey: sealKey, hashAtSealedPosition: hashAtSeal, firstPosition: first.position)
        return result
    }

    /// The last record's position and hash; nil for an empty trail.
    public func head(in transaction: PostgresTransaction) async throws -> (position: Int64, hash: String)? {
        let rows = try await transaction.query(
            """
            SELECT chain_position, record_hash FROM \(identifier: schema, Self.table)
            ORDER BY chain_position DESC LIMIT 1
            """
        )
        guard let row = rows.first else { return nil }
        return (try row.decode("chain_position", as: Int64.self), try row.decode("record_hash", as: String.self))
    }

    /// Deletes records older than `cutoff`, first appending a signed checkpoint that names the
    /// last purged record and its hash, so the rest of the chain stays verifiable.
    /// - Returns: How many records were purged.
    @discardableResult
    public func purge(
        olderThan cutoff: Date, checkpointKey: [UInt8], in transaction: PostgresTransaction
    ) async throws
        -> Int
    {
        let rows = try await transaction.query(
            """
            SELECT chain_position, record_hash FROM \(identifier: schema, Self.table)
            WHERE occurred_at < \(cutoff) ORDER BY chain_position DESC LIMIT 1
            """
        )
        guard let last = rows.first else { return 0 }
        let position = try last.decode("chain_position", as: Int64.self)
        let hash = try last.decode("record_hash", as: String.self)
        let signature = AuditTrailVerifier.checkpointSignature(
            schemaName: schema.name, purgedThrough: position, headHash: hash, key: checkpointKey)
        try await append(
            AuditEvent(
                actor: "system", action: "audit.checkpoint", objectType: "audit_trail",
                details: [
                    "purgedThrough": String(position), "headHash": hash, "signature": signature,
                    "purgedBefore": ISO8601DateFormatter().string(from: cutoff),
                ]
            ),
            in: transaction
        )
        try await transaction.executeScript("SET LOCAL scryptex.audit_purge = 'on'")
        let purged = try await transaction.execute(
            "DELETE FROM \(identifier: schema, Self.table) WHERE chain_position <= \(position)")
        try await transaction.executeScript("SET LOCAL scryptex.audit_purge = 'off'")
        return purged
    }
}

/// Verifies a trail from its records alone (online, or offline from an export), accepting a
/// purged beginning only when a checkpoint record vouches for it.
public struct AuditTrailVerifier: Sendable {
    /// The key that signs checkpoints; without it, checkpoints are checked for consistency only.
    public var checkpointKey: [UInt8]?
    public var schemaName: String

    public init(checkpointKey: [UInt8]?, schemaName: String) {
        self.checkpointKey = checkpointKey
        self.schemaName = schemaName
    }

    public static func checkpointSignature(
        schemaName: String, purgedThrough: Int64, headHash: String, key: [UInt8]
    )
        -> String
    {
        Hex.encode(HMAC.code(for: Array("\(schemaName)|\(purgedThrough)|\(headHash)".utf8), key: key))
    }

    /// Verifies the chain, then holds its head against `seal` (signed by `sealKey`): a seal
    /// that the trail no longer agrees with is the first broken link.
    public func verify(
        _ records: [AuditRecord], seal: AuditSeal?, sealKey: P256PublicKey?
    )
        -> AuditChain.Verification
    {
        var result = verify(records)
        let hash = records.first { $0.position == seal?.position }?.recordHash
        hold(
            &result, against: seal, sealKey: sealKey, hashAtSealedPosition: hash, firstPosition: records.first?.position
        )
        return result
    }

    /// Holds a verified chain against its latest seal: the sealed record must still carry the
    /// sealed hash and the trail reach that far (or the record was purged behind a checkpoint).
    func hold(
        _ result: inout AuditChain.Verification, against seal: AuditSeal?, sealKey: P256PublicKey?,
        hashAtSealedPosition hash: String?, firstPosition: Int64?
    ) {
        guard result.isIntact, let seal else { return }
        guard let sealKey else {
            result.firstBrokenLink = AuditChain.BrokenLink(
                position: seal.position, problem: "the trail is sealed but no key to check the seal was given")
            return
        }
        if let firstPosition, seal.position < firstPosition {
            // The sealed record was purged behind a verified checkpoint, which now vouches for it.
            guard seal.isSigned(by: sealKey) else {
                result.firstBrokenLink = AuditChain.BrokenLink(
                    position: seal.position, problem: "the seal's signature is not valid for this key")
                return
            }
            result.sealedThrough = seal.position
            return
        }
        if let problem = seal.disagreement(hashAtPosition: hash, lastPosition: result.lastPosition, key: sealKey) {
            result.firstBrokenLink = problem
        } else {
            result.sealedThrough = seal.position
        }
    }

    public func verify(_ records: [AuditRecord]) -> AuditChain.Verification {
        guard let first = records.first else { return AuditChain.verify(records) }
        switch walk(from: first, checkpoints: records.reversed().lazy.filter { $0.action == "audit.checkpoint" }) {
        case .walk(var walk):
            for record in records {
                guard walk.check(record) else { break }
            }
            return walk.verification
        case .broken(let verification):
            return verification
        }
    }

    /// Where the walk starts: at 1, or, when the beginning was purged, after the record a
    /// checkpoint (newest first in `checkpoints`) names with a valid signature.
    func walk(
        from first: AuditRecord, checkpoints: some Sequence<AuditRecord>
    ) -> WalkStart {
        guard first.position > 1 else { return .walk(AuditChain.Walk()) }
        // The beginning was purged: a checkpoint later in the chain must name exactly what is gone.
        let anchorPosition = first.position - 1
        for record in checkpoints {
            guard let details = try? JSONDecoder().decode([String: String].self, from: Data(record.details.utf8)),
                details["purgedThrough"] == String(anchorPosition), let headHash = details["headHash"]
            else { continue }
            if let checkpointKey {
                let expected = Self.checkpointSignature(
                    schemaName: schemaName, purgedThrough: anchorPosition, headHash: headHash, key: checkpointKey)
                guard ConstantTime.equals(expected, details["signature"] ?? "") else {
                    var result = AuditChain.Verification(recordsChecked: 0)
                    result.firstBrokenLink = AuditChain.BrokenLink(
                        position: record.position, problem: "the checkpoint's signature is not valid")
                    return .broken(result)
                }
            }
            return .walk(AuditChain.Walk(startingAfter: (anchorPosition, headHash)))
        }
        var result = AuditChain.Verification(recordsChecked: 0)
        result.firstBrokenLink = AuditChain.BrokenLink(
            position: first.position,
            problem: "records 1 to \(anchorPosition) are missing and no checkpoint accounts for them")
        return .broken(result)
    }

    /// How a walk begins: from its start, or already broken (a purge no checkpoint vouches for).
    enum WalkStart {
        case walk(AuditChain.Walk)
        case broken(AuditChain.Verification)
    }
}
