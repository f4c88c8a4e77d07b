import Foundation
public import ScryptexACME
import ScryptexCore
import ScryptexCrypto
public import ScryptexPortal
public import ScryptexPostgres
import ScryptexTenancy

/// ACME attempts kept in `platform.certificate_attempts`, so every host and the console see
/// each domain's last outcome. A write that fails is logged; the renewal loop goes on.
struct RecordedCertificateAttempts: CertificateAttemptLog {
    let pool: PostgresConnectionPool
    /// This host's name in claims.
    let host: String
    let logger: Logger

    func claim(_ domain: String, for duration: Duration) async -> Bool {
        let until = Date().addingTimeInterval(Double(duration.components.seconds))
        do {
            return try await pool.withTransaction {
                try await CertificateAttempts().claim(domain, by: host, until: until, in: $0)
            }
        } catch {
            logger.error("could not claim a domain's order", ["domain": domain, "error": String(describing: error)])
            return false
        }
    }

    func release(_ domain: String) async {
        do {
            try await pool.withTransaction { try await CertificateAttempts().release(domain, by: host, in: $0) }
        } catch {
            // The claim ends by itself at its deadline.
            logger.warning(
                "could not release a domain's claim", ["domain": domain, "error": String(describing: error)])
        }
    }

    func record(_ attempt: CertificateAttempt) async {
        let record = CertificateAttempts.Record(
            domain: attempt.domain, attemptedAt: attempt.attemptedAt, error: attempt.error,
            consecutiveFailures: attempt.consecutiveFailures, retryAt: attempt.retryAt,
            obtainedAt: attempt.certificate == nil ? nil : attempt.attemptedAt,
            issuer: attempt.certificate?.issuerOrganization, expiresAt: attempt.certificate?.notAfter)
        do {
            try await pool.withTransaction { try await CertificateAttempts().record(record, in: $0) }
        } catch {
            logger.error(
                "could not record a certificate attempt",
                ["domain": attempt.domain, "error": String(describing: error)])
        }
    }
}

/// Each domain's certificate as served (the certificate folder, a wildcard for its parent
/// included) beside its last ACME attempt (the database).
public struct HostCertificateInventory: CertificateInventory {
    let folder: CertificateFolder
    let pool: PostgresConnectionPool

    public init(folder: CertificateFolder, pool: PostgresConnectionPool) {
        self.folder = folder
        self.pool = pool
    }

    public func certificates(for domains: [String]) async throws -> [DomainCertificate] {
        let attempts = try await pool.withTransaction(readOnly: true) {
            try await CertificateAttempts().records(for: domains, in: $0)
        }
        return domains.map { domain in
            let served = folder.certificate(for: domain)?.summary
            let attempt = attempts[domain]
            return DomainCertificate(
                domain: domain, issuer: served.map { $0.issuerOrganization ?? "(no organization named)" },
                isDevelopment: served?.issuerOrganization == CertificateFactory.developmentOrganization,
                expiresAt: served?.notAfter, lastAttemptAt: attempt?.attemptedAt, lastError: attempt?.error,
                consecutiveFailures: attempt?.consecutiveFailures ?? 0, retryAt: attempt?.retryAt)
        }
    }
}

/// Challenges published in the database, so whichever host the authority reaches answers them
/// (`ACMEChallengeAnswers` reads them on the plain HTTP port).
struct DatabaseChallengePublisher: ACMEChallengePublisher {
    let pool: PostgresConnectionPool

    func publish(token: String, keyAuthorization: String) async throws {
        try await pool.withTransaction {
            try await ACMEChallenges().publish(token: token, keyAuthorization: keyAuthorization, in: $0)
        }
    }

    func remove(token: String) async {
        // Left behind, it is cleared a day later by the next publication.
        try? await pool.withTransaction { try await ACMEChallenges().remove(token: token, in: $0) }
    }
}
