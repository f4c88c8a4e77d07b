public import Foundation
public import ScryptexPostgres

/// Each served domain's last attempt at a certificate from the ACME authority
/// (`platform.certificate_attempts`), written by the host that tried and read by any host and
/// the platform console.
public struct CertificateAttempts: Sendable {
    /// A domain's last attempt, and the last certificate obtained for it.
    public struct Record: Sendable, Equatable {
        public var domain: String
        public var attemptedAt: Date
        /// Nil after a success.
        public var error: String?
        public var consecutiveFailures: Int
        public var retryAt: Date?
        public var obtainedAt: Date?
        public var issuer: String?
        public var expiresAt: Date?

        public init(
            domain: String, attemptedAt: Date, error: String?, consecutiveFailures: Int, retryAt: Date?,
            obtainedAt: Date? = nil, issuer: String? = nil, expiresAt: Date? = nil
        ) {
            self.domain = domain
            self.attemptedAt = attemptedAt
            self.error = error
            self.consecutiveFailures = consecutiveFailures
            self.retryAt = retryAt
            self.obtainedAt = obtainedAt
            self.issuer = issuer
            self.expiresAt = expiresAt
        }
    }

    public init() {}

    /// Records an attempt. A failure keeps the last certificate obtained; a success replaces it.
    public func record(_ attempt: Record, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            INSERT INTO platform.certificate_attempts
                (domain, attempted_at, error, consecutive_failures, retry_at, obtained_at, issuer, expires_at)
            VALUES (\(attempt.domain), \(attempt.attemptedAt), \(attempt.error), \(attempt.consecutiveFailures),
                    \(attempt.retryAt), \(attempt.obtainedAt), \(attempt.issuer), \(attempt.expiresAt))
            ON CONFLICT (domain) DO UPDATE SET
                attempted_at = excluded.attempted_at, error = excluded.error,
                consecutive_failures = excluded.consecutive_failures, retry_at = excluded.retry_at,
                obtained_at = coalesce(excluded.obtained_at, certificate_attempts.obtained_at),
                issuer = coalesce(excluded.issuer, certificate_attempts.issuer),
                expires_at = coalesce(excluded.expires_at, certificate_attempts.expires_at)
            """)
    }

    /// Claims `domain` for `host` until `until`, unless another host holds an unexpired claim or
    /// the last failure's next try is still ahead; true when `host` holds it now.
    public func claim(
        _ domain: String, by host: String, until: Date, in transaction: PostgresTransaction
    ) async throws -> Bool {
        let rows = try await transaction.query(
            """
            INSERT INTO platform.certificate_attempts (domain, claimed_by, claimed_until)
            VALUES (\(domain), \(host), \(until))
            ON CONFLICT (domain) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
            WHERE (certificate_attempts.claimed_until IS NULL OR certificate_attempts.claimed_until < now()
                    OR certificate_attempts.claimed_by = excluded.claimed_by)
                -- After a failure every host waits for the shared next try.
                AND (certificate_attempts.retry_at IS NULL OR certificate_attempts.retry_at <= now())
            RETURNING domain
            """)
        return rows.first != nil
    }

    /// Ends `host`'s claim on `domain` (after its attempt, whatever the outcome).
    public func release(_ domain: String, by host: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE platform.certificate_attempts SET claimed_by = NULL, claimed_until = NULL
            WHERE domain = \(domain) AND claimed_by = \(host)
            """)
    }

    /// The records of `domains` that have one, by domain.
    public func records(for domains: [String], in transaction: PostgresTransaction) async throws -> [String: Record] {
        var records: [String: Record] = [:]
        for row in try await transaction.query(
            """
            SELECT domain, attempted_at, error, consecutive_failures, retry_at, obtained_at, issuer, expires_at
            FROM platform.certificate_attempts WHERE domain = ANY(\(domains)::text[]) AND attempted_at IS NOT NULL
            """)
        {
            let record = Record(
                domain: try row.decode("domain", as: String.self),
                attemptedAt: try row.decode("attempted_at", as: Date.self),
                error: try row.decode("error", as: String?.self),
                consecutiveFailures: try row.decode("consecutive_failures", as: Int.self),
                retryAt: try row.decode("retry_at", as: Date?.self),
                obtainedAt: try row.decode("obtained_at", as: Date?.self),
                issuer: try row.decode("issuer", as: String?.self),
                expiresAt: try row.decode("expires_at", as: Date?.self))
            records[record.domain] = record
        }
        return records
    }
}

/// HTTP-01 key authorizations published while an ACME order runs
/// (`platform.acme_challenges`), answered by whichever host the authority reaches.
public struct ACMEChallenges: Sendable {
    public init() {}

    /// Publishes a token's key authorization; ones left behind by an order that died more than a
    /// day ago are cleared on the way.
    public func publish(token: String, keyAuthorization: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            "DELETE FROM platform.acme_challenges WHERE published_at < now() - interval '1 day'")
        try await transaction.execute(
            """
            INSERT INTO platform.acme_challenges (token, key_authorization) VALUES (\(token), \(keyAuthorization))
            ON CONFLICT (token) DO UPDATE SET key_authorization = excluded.key_authorization, published_at = now()
            """)
    }

    public func remove(token: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("DELETE FROM platform.acme_challenges WHERE token = \(token)")
    }

    /// The key authorization published for `token`, if any.
    public func keyAuthorization(for token: String, in transaction: PostgresTransaction) async throws -> String? {
        try await transaction.query(
            "SELECT key_authorization FROM platform.acme_challenges WHERE token = \(token)"
        ).first?.decode("key_authorization", as: String.self)
    }
}

/// Certificates obtained from the ACME authority (`platform.certificates`), which every host
/// writes into its certificate folder; the private key is stored sealed (the caller seals it).
public struct StoredCertificates: Sendable {
    public struct Certificate: Sendable, Equatable {
        public var domain: String
        public var chainPEM: String
        public var sealedKey: [UInt8]
        public var issuer: String?
        public var notAfter: Date
        public var updatedAt: Date

        public init(
            domain: String, chainPEM: String, sealedKey: [UInt8], issuer: String?, notAfter: Date,
            updatedAt: Date = Date()
        ) {
            self.domain = domain
            self.chainPEM = chainPEM
            self.sealedKey = sealedKey
            self.issuer = issuer
            self.notAfter = notAfter
            self.updatedAt = updatedAt
        }
    }

    public init() {}

    /// Stores `certificate`, unless the one stored expires later (a newer order won).
    public func store(_ certificate: Certificate, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            INSERT INTO platform.certificates (domain, chain_pem, key_sealed, issuer, not_after)
            VALUES (\(certificate.domain), \(certificate.chainPEM), \(Data(certificate.sealedKey)),
                    \(certificate.issuer), \(certificate.notAfter))
            ON CONFLICT (domain) DO UPDATE SET chain_pem = excluded.chain_pem, key_sealed = excluded.key_sealed,
                issuer = excluded.issuer, not_after = excluded.not_after, updated_at = clock_timestamp()
            WHERE certificates.not_after <= excluded.not_after
            """)
    }

    /// The certificates stored or replaced after `time` (all with nil), oldest change first.
    public func changed(since time: Date?, in transaction: PostgresTransaction) async throws -> [Certificate] {
        try await transaction.query(
            """
            SELECT domain, chain_pem, key_sealed, issuer, not_after, updated_at FROM platform.certificates
            WHERE \(time)::timestamptz IS NULL OR updated_at > \(time)::timestamptz ORDER BY updated_at
            """
        ).map(Self.certificate)
    }

    public func certificate(for domain: String, in transaction: PostgresTransaction) async throws -> Certificate? {
        try await transaction.query(
            """
            SELECT domain, chain_pem, key_sealed, issuer, not_after, updated_at FROM platform.certificates
            WHERE domain = \(domain)
            """
        ).first.map(Self.certificate)
    }

    static func certificate(_ row: PostgresRow) throws -> Certificate {
        Certificate(
            domain: try row.decode("domain", as: String.self), chainPEM: try row.decode("chain_pem", as: String.self),
            sealedKey: Array(try row.decode("key_sealed", as: Data.self)),
            issuer: try row.decode("issuer", as: String?.self), notAfter: try row.decode("not_after", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}
