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
    let logger: Logger

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
