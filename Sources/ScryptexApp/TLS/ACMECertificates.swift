import Foundation
import Glibc
import ScryptexACME
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexTenancy

/// Certificates from the ACME authority in `ACME_DIRECTORY_URL` for every domain the host
/// serves — the platform domain and each tenant's domains — written into the certificate folder,
/// which the running host loads from the next handshake. A domain gets one when it has none, has
/// only a development certificate, or has one that expires within `ACME_RENEW_DAYS`. Challenges
/// are answered from `$SCRYPTEX_DATA_DIR/acme`, which the plain HTTP port serves; so the
/// authority must reach that port on port 80 of each domain.
struct ACMECertificates: Sendable {
    let configuration: Configuration
    let logger: Logger

    private var folder: CertificateFolder { CertificateFolder(dataDirectory: configuration.dataDirectory) }
    var webroot: String { configuration.dataDirectory + "/acme" }
    var accountKeyPath: String { folder.path + "/acme-account.key" }

    /// The domain's certificate needs replacing now: missing, unreadable, a development one, not
    /// naming the domain, or within the renewal window.
    func needsCertificate(_ domain: String, now: Date = Date()) -> Bool {
        guard let chain = try? String(contentsOfFile: folder.certificatePath(for: domain), encoding: .utf8),
            FileManager.default.fileExists(atPath: folder.keyPath(for: domain)),
            let summary = try? CertificateFactory.inspect(certificatePEM: chain)
        else { return true }
        return summary.issuerOrganization == CertificateFactory.developmentOrganization
            || !summary.domains.contains(domain)
            || summary.notAfter < now.addingTimeInterval(Double(configuration.acmeRenewDays) * 86_400)
    }

    /// Obtains a certificate for `domain` and writes it (key, then chain) into the folder.
    func obtain(_ domain: String) async throws -> CertificateSummary {
        guard let directoryURL = configuration.acmeDirectoryURL else {
            throw ACMEError("ACME_DIRECTORY_URL is not set: no ACME authority to ask")
        }
        let client = ACMEClient(
            directoryURL: directoryURL, accountKey: try accountKey(),
            contacts: configuration.acmeEmail.map { ["mailto:" + $0] } ?? [],
            transport: HTTPSClient(trustedCertificatesFile: configuration.acmeTrustedCertificatesFile),
            logger: logger)
        let issued = try await client.issueCertificate(for: [domain], publishing: ACMEWebroot(folder: webroot))
        try FileManager.default.createDirectory(atPath: folder.certificatesPath, withIntermediateDirectories: true)
        try CertificateFolder.write(issued.privateKeyPEM, to: folder.keyPath(for: domain), mode: 0o600)
        try CertificateFolder.write(issued.certificateChainPEM, to: folder.certificatePath(for: domain), mode: 0o644)
        return try CertificateFactory.inspect(certificatePEM: issued.certificateChainPEM)
    }

    /// The account key, made (mode 0600) on first use.
    private func accountKey() throws -> P256SigningKey {
        if let text = try? String(contentsOfFile: accountKeyPath, encoding: .utf8) {
            return try P256SigningKey(privateKeyPEM: text)
        }
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        chmod(folder.path, 0o700)
        let key = try P256SigningKey.generate()
        try CertificateFolder.write(key.privateKeyPEM, to: accountKeyPath, mode: 0o600)
        return key
    }

    /// Checks every served domain each `ACME_CHECK_SECONDS` until cancelled. A domain that
    /// failed waits before it is tried again — an hour, doubling to a day — so a domain whose
    /// DNS does not point here yet does not run into the authority's rate limits.
    func keepCertificates(directory: TenantDirectory) async {
        var failures: [String: (count: Int, retryAt: ContinuousClock.Instant)] = [:]
        while !Task.isCancelled {
            let domains = [configuration.platformDomain] + directory.hosts.map(\.name)
            for domain in Set(domains).sorted() where needsCertificate(domain) {
                if let failure = failures[domain], ContinuousClock.now < failure.retryAt { continue }
                if Task.isCancelled { return }
                do {
                    let summary = try await obtain(domain)
                    failures[domain] = nil
                    logger.notice(
                        "certificate obtained from the ACME authority",
                        ["domain": domain, "expires": ISO8601DateFormatter().string(from: summary.notAfter)])
                } catch {
                    let count = (failures[domain]?.count ?? 0) + 1
                    let wait = Duration.seconds(min(3600 << min(count - 1, 5), 86_400))
                    failures[domain] = (count, ContinuousClock.now + wait)
                    logger.error(
                        "could not obtain a certificate from the ACME authority",
                        [
                            "domain": domain, "error": String(describing: error),
                            "retry_in_seconds": String(wait.components.seconds),
                        ])
                }
            }
            try? await Task.sleep(for: .seconds(configuration.acmeCheckSeconds))
        }
    }
}
