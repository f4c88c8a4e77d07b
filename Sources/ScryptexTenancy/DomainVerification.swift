public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Looks up a name's TXT records (the host's DNS resolver answers).
public protocol TXTLookup: Sendable {
    func txtRecords(for name: String) async throws -> [String]
}

/// Proof that a tenant controls a custom domain before the host serves it.
///
/// A custom domain starts `pending` with a random token; its owner publishes the token as a TXT
/// record at `_scryptex-challenge.<domain>`. A check that finds it makes the domain `verified`:
/// the directory routes it and its certificate is requested (`active` once issued). Verified
/// domains are checked again periodically; a check that no longer finds the token makes the
/// domain `failed` — no longer routed — until a later check finds it again. Platform subdomains
/// are the platform's own, and names under `.localhost` (RFC 6761: they only ever reach this
/// machine) need no proof.
public struct DomainVerification: Sendable {
    public enum State: String, Sendable, Codable {
        case pending, verified, failed
        /// Verified and its certificate issued.
        case active
    }

    /// What a domain's owner publishes, and where.
    public struct Challenge: Sendable, Codable, Equatable {
        public var recordName: String
        public var recordType = "TXT"
        public var value: String

        public init(recordName: String, value: String) {
            self.recordName = recordName
            self.value = value
        }
    }

    public struct Outcome: Sendable, Codable, Equatable {
        public var hostname: String
        public var state: State
        public var challenge: Challenge?
        public var error: String?

        public init(hostname: String, state: State, challenge: Challenge?, error: String?) {
            self.hostname = hostname
            self.state = state
            self.challenge = challenge
            self.error = error
        }
    }

    let lookup: any TXTLookup

    public init(lookup: any TXTLookup) {
        self.lookup = lookup
    }

    public static func recordName(for hostname: String) -> String { "_scryptex-challenge." + hostname }

    /// The state a domain starts in.
    public static func initialState(of hostname: String, kind: String) -> State {
        kind == "platform-subdomain" || hostname == "localhost" || hostname.hasSuffix(".localhost")
            ? .verified : .pending
    }

    /// A domain's state as last recorded and, while it is unproven, the record to publish.
    /// - Throws: `ServiceError.notFound` for a domain no tenant has.
    public static func status(of hostname: String, from database: some PostgresQuerying) async throws -> Outcome {
        guard
            let row = try await database.query(
                """
                SELECT verification_token, verification_state, certificate_state, verification_error
                FROM platform.tenant_domains WHERE hostname = \(hostname)
                """, timeout: nil
            ).first
        else { throw ServiceError(.notFound, "no tenant has the domain '\(hostname)'") }
        let recorded = State(rawValue: try row.decode("verification_state", as: String.self)) ?? .pending
        let issued = try row.decode("certificate_state", as: String.self) == "issued"
        let state: State = recorded == .verified && issued ? .active : recorded
        return Outcome(
            hostname: hostname, state: state,
            challenge: recorded == .verified
                ? nil
                : Challenge(
                    recordName: recordName(for: hostname), value: try row.decode("verification_token", as: String.self)),
            error: try row.decode("verification_error", as: String?.self))
    }

    /// Checks one custom domain of `tenant` and records the outcome; the hosts reload their
    /// directory when it changed the domain's state.
    /// - Throws: `ServiceError.notFound` when the tenant has no such custom domain.
    public func verify(
        _ hostname: String, of tenant: UUID, on pool: PostgresConnectionPool, now: Date = Date()
    ) async throws -> Outcome {
        let rows = try await pool.query(
            """
            SELECT d.verification_token, d.verification_state, d.certificate_state, t.slug FROM platform.tenant_domains d
            JOIN platform.tenants t ON t.id = d.tenant_id
            WHERE d.hostname = \(hostname) AND d.tenant_id = \(tenant) AND d.kind = 'custom'
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "the tenant has no custom domain '\(hostname)'")
        }
        return try await check(
            hostname, token: try row.decode("verification_token", as: String.self),
            previous: try row.decode("verification_state", as: String.self),
            certificate: try row.decode("certificate_state", as: String.self),
            slug: try row.decode("slug", as: String.self), on: pool, now: now)
    }

    /// Checks every custom domain: pending and failed ones for a first proof, verified ones again.
    /// - Returns: The outcomes, for the log.
    @discardableResult
    public func checkAll(on pool: PostgresConnectionPool, now: Date = Date()) async throws -> [Outcome] {
        let rows = try await pool.query(
            """
            SELECT d.hostname, d.verification_token, d.verification_state, d.certificate_state, t.slug
            FROM platform.tenant_domains d JOIN platform.tenants t ON t.id = d.tenant_id
            WHERE d.kind = 'custom' AND t.status IN ('active', 'suspended') ORDER BY d.hostname
            """
        )
        var outcomes: [Outcome] = []
        for row in rows {
            let hostname = try row.decode("hostname", as: String.self)
            guard Self.initialState(of: hostname, kind: "custom") == .pending else { continue }
            outcomes.append(
                try await check(
                    hostname, token: try row.decode("verification_token", as: String.self),
                    previous: try row.decode("verification_state", as: String.self),
                    certificate: try row.decode("certificate_state", as: String.self),
                    slug: try row.decode("slug", as: String.self), on: pool, now: now))
        }
        return outcomes
    }

    private func check(
        _ hostname: String, token: String, previous: String, certificate: String, slug: String,
        on pool: PostgresConnectionPool, now: Date
    ) async throws -> Outcome {
        let challenge = Challenge(recordName: Self.recordName(for: hostname), value: token)
        var error: String?
        do {
            let records = try await lookup.txtRecords(for: challenge.recordName)
            if !records.contains(token) {
                error =
                    records.isEmpty
                    ? "no TXT record at \(challenge.recordName)"
                    : "the TXT record at \(challenge.recordName) does not hold this domain's token"
            }
        } catch {
            // The resolver did not answer: the domain keeps its state until a check can tell.
            let outcome = Outcome(
                hostname: hostname, state: State(rawValue: previous) ?? .pending, challenge: challenge,
                error: "the DNS check could not be made: \(error)")
            return outcome
        }
        let state: State = error == nil ? .verified : (previous == "pending" ? .pending : .failed)
        try await pool.withTransaction { transaction in
            try await transaction.execute(
                """
                UPDATE platform.tenant_domains SET verification_state = \(state.rawValue), checked_at = \(now),
                    verification_error = \(error),
                    verified_at = CASE WHEN \(state.rawValue) = 'verified' THEN coalesce(verified_at, \(now)) ELSE verified_at END
                WHERE hostname = \(hostname)
                """
            )
            if state.rawValue != previous { try await TenantChangeFeed.announce(slug, in: transaction) }
        }
        let shown: State = state == .verified && certificate == "issued" ? .active : state
        return Outcome(hostname: hostname, state: shown, challenge: state == .verified ? nil : challenge, error: error)
    }
}
