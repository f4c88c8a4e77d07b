import Foundation
public import ScryptexACME
import ScryptexCore
import ScryptexCrypto
import ScryptexIdentity
public import ScryptexPortal
public import ScryptexPostgres
import ScryptexTenancy
import Synchronization

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

/// Certificates in the database for every host (`platform.certificates`): the one that obtains a
/// certificate stores it, its key sealed with the master key; every host writes what is stored
/// into its certificate folder, where the folder watcher serves it.
final class DatabaseCertificateVault: CertificateVault {
    let pool: PostgresConnectionPool
    let keyring: Keyring
    let folder: CertificateFolder
    let logger: Logger
    /// The newest change already written here.
    private let synchronizedUpTo = Mutex<Date?>(nil)

    init(pool: PostgresConnectionPool, keyring: Keyring, folder: CertificateFolder, logger: Logger) {
        self.pool = pool
        self.keyring = keyring
        self.folder = folder
        self.logger = logger
    }

    static func purpose(_ domain: String) -> String { "certificate-key|" + domain }

    func store(domain: String, chainPEM: String, privateKeyPEM: String, summary: CertificateSummary) async {
        let certificate = StoredCertificates.Certificate(
            domain: domain, chainPEM: chainPEM,
            sealedKey: keyring.sealPlatformSecret(Array(privateKeyPEM.utf8), purpose: Self.purpose(domain)),
            issuer: summary.issuerOrganization, notAfter: summary.notAfter)
        do {
            try await pool.withTransaction { try await StoredCertificates().store(certificate, in: $0) }
        } catch {
            logger.error(
                "could not store a certificate for the other hosts",
                ["domain": domain, "error": String(describing: error)])
        }
    }

    func restore(_ domain: String) async -> Bool {
        do {
            guard
                let stored = try await pool.withTransaction(
                    readOnly: true,
                    {
                        try await StoredCertificates().certificate(for: domain, in: $0)
                    })
            else { return false }
            try write(stored)
            return true
        } catch {
            logger.warning(
                "could not restore a stored certificate", ["domain": domain, "error": String(describing: error)])
            return false
        }
    }

    /// Writes every certificate stored or replaced since the last call into the folder.
    func synchronize() async {
        let since = synchronizedUpTo.withLock { $0 }
        do {
            let changed = try await pool.withTransaction(readOnly: true) {
                try await StoredCertificates().changed(since: since, in: $0)
            }
            for certificate in changed {
                do {
                    try write(certificate)
                } catch {
                    logger.error(
                        "could not write a stored certificate",
                        ["domain": certificate.domain, "error": String(describing: error)])
                }
            }
            if let newest = changed.last?.updatedAt { synchronizedUpTo.withLock { $0 = newest } }
        } catch {
            logger.warning("could not read the stored certificates", ["error": String(describing: error)])
        }
    }

    /// Key first, then chain (as an order writes them), each replaced in one step; a file that
    /// already holds the same bytes is left alone, so the watcher reloads nothing.
    private func write(_ certificate: StoredCertificates.Certificate) throws {
        guard HostName(certificate.domain) != nil || certificate.domain.hasPrefix("*.") else {
            throw ServiceError(.corrupt, "a stored certificate names no valid domain")
        }
        let key = String(
            decoding: try keyring.openPlatformSecret(certificate.sealedKey, purpose: Self.purpose(certificate.domain)),
            as: UTF8.self)
        let chainPath = folder.certificatePath(for: certificate.domain)
        let keyPath = folder.keyPath(for: certificate.domain)
        if (try? String(contentsOfFile: chainPath, encoding: .utf8)) == certificate.chainPEM,
            (try? String(contentsOfFile: keyPath, encoding: .utf8)) == key
        {
            return
        }
        try FileManager.default.createDirectory(atPath: folder.certificatesPath, withIntermediateDirectories: true)
        try CertificateFolder.write(key, to: keyPath, mode: 0o600)
        try CertificateFolder.write(certificate.chainPEM, to: chainPath, mode: 0o644)
        logger.notice("certificate stored by another host written to the folder", ["domain": certificate.domain])
    }
}
