public import Foundation
import Glibc
public import ScryptexCore
public import ScryptexCrypto
import ScryptexHTTP

/// Certificates from an ACME authority for every domain the host serves — the platform domain
/// and each tenant's domains — written into the certificate folder, which the running host loads
/// from the next handshake. A domain gets one when it has none, has only a development
/// certificate, or has one that expires within the renewal window. Challenges are answered from
/// `<data folder>/acme`, which the plain HTTP port serves; so the authority must reach that port
/// on port 80 of each domain.
public struct ACMECertificates: Sendable {
    /// The host's ACME settings.
    public struct Options: Sendable {
        /// The authority's directory (`ACME_DIRECTORY_URL`); nil: no authority to ask.
        public var directoryURL: String?
        /// The account's contact (`ACME_EMAIL`).
        public var email: String?
        /// Extra CA certificates to trust for the authority (`ACME_TRUSTED_CERTIFICATES`).
        public var trustedCertificatesFile: String?
        /// Renew this many days before expiry (`ACME_RENEW_DAYS`).
        public var renewDays: Int
        /// How often the served domains are checked (`ACME_CHECK_SECONDS`).
        public var checkInterval: Duration
        /// The host's data folder: certificates under `tls/`, challenges under `acme/`.
        public var dataDirectory: String

        public init(
            directoryURL: String?, email: String?, trustedCertificatesFile: String?, renewDays: Int,
            checkInterval: Duration, dataDirectory: String
        ) {
            self.directoryURL = directoryURL
            self.email = email
            self.trustedCertificatesFile = trustedCertificatesFile
            self.renewDays = renewDays
            self.checkInterval = checkInterval
            self.dataDirectory = dataDirectory
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    private var folder: CertificateFolder { CertificateFolder(dataDirectory: options.dataDirectory) }
    public var webroot: String { options.dataDirectory + "/acme" }
    var accountKeyPath: String { folder.path + "/acme-account.key" }

    /// The domain needs a certificate now: its own is missing, unreadable, a development one, not
    /// naming it, or within the renewal window — and no usable wildcard certificate for its
    /// parent (`*.<parent>.pem` in the folder, e.g. one for `*.PLATFORM_DOMAIN` obtained with
    /// DNS-01 elsewhere) covers it.
    func needsCertificate(_ domain: String, now: Date = Date()) -> Bool {
        !domainsNeedingCertificates([domain], now: now).isEmpty
    }

    /// The domains among `domains` that need a certificate now (see `needsCertificate`); each
    /// certificate file is read once, however many names a wildcard covers.
    func domainsNeedingCertificates(_ domains: [String], now: Date = Date()) -> [String] {
        var usable: [String: Bool] = [:]
        func isUsable(_ file: String) -> Bool {
            if let known = usable[file] { return known }
            let verdict = self.isUsable(file, for: file, now: now)
            usable[file] = verdict
            return verdict
        }
        return domains.filter { domain in
            if FileManager.default.fileExists(atPath: folder.certificatePath(for: domain)) { return !isUsable(domain) }
            guard let dot = domain.firstIndex(of: ".") else { return true }
            return !isUsable("*" + domain[dot...])
        }
    }

    /// Whether the certificate filed under `file` is one to keep serving for `name`.
    private func isUsable(_ file: String, for name: String, now: Date) -> Bool {
        guard let chain = try? String(contentsOfFile: folder.certificatePath(for: file), encoding: .utf8),
            FileManager.default.fileExists(atPath: folder.keyPath(for: file)),
            let summary = try? CertificateFactory.inspect(certificatePEM: chain)
        else { return false }
        return summary.issuerOrganization != CertificateFactory.developmentOrganization
            && summary.domains.contains(name)
            && summary.notAfter >= now.addingTimeInterval(Double(options.renewDays) * 86_400)
    }

    /// Obtains a certificate for `domain` and writes it (key, then chain) into the folder; the
    /// challenges are published through `challenges` (default: this host's webroot).
    public func obtain(
        _ domain: String, publishing challenges: (any ACMEChallengePublisher)? = nil
    ) async throws -> CertificateSummary {
        try await obtainIssued(domain, publishing: challenges).summary
    }

    /// `obtain`, also answering the chain and key it wrote (for the vault).
    func obtainIssued(
        _ domain: String, publishing challenges: (any ACMEChallengePublisher)?
    ) async throws -> (summary: CertificateSummary, issued: ACMEClient.IssuedCertificate) {
        guard let directoryURL = options.directoryURL else {
            throw ACMEError("ACME_DIRECTORY_URL is not set: no ACME authority to ask")
        }
        let client = ACMEClient(
            directoryURL: directoryURL, accountKey: try accountKey(),
            contacts: options.email.map { ["mailto:" + $0] } ?? [],
            transport: HTTPSClient(trustedCertificatesFile: options.trustedCertificatesFile),
            logger: logger)
        let publisher: any ACMEChallengePublisher = challenges ?? ACMEWebroot(folder: webroot)
        let issued = try await client.issueCertificate(for: [domain], publishing: publisher)
        try FileManager.default.createDirectory(atPath: folder.certificatesPath, withIntermediateDirectories: true)
        try CertificateFolder.write(issued.privateKeyPEM, to: folder.keyPath(for: domain), mode: 0o600)
        try CertificateFolder.write(issued.certificateChainPEM, to: folder.certificatePath(for: domain), mode: 0o644)
        return (try CertificateFactory.inspect(certificatePEM: issued.certificateChainPEM), issued)
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

    /// Checks every domain `domains` names each check interval until cancelled. A domain that
    /// failed waits before it is tried again — an hour, doubling to a day — so a domain whose
    /// DNS does not point here yet does not run into the authority's rate limits; and at most
    /// `ordersPerHour` orders are placed in any hour (Let's Encrypt allows 300 per 3 hours per
    /// account), the rest waiting for the next check.
    ///
    /// Each attempt's outcome goes to `log` (the database, where every host and the console read
    /// it).
    ///
    /// With several hosts, `log` also claims a domain before its order (one host orders it) and
    /// `challenges` publishes where every host answers (the database).
    ///
    /// And `vault` shares certificates: each one obtained is stored there, and before ordering a
    /// domain the host takes the vault's certificate when it is usable (another host got it).
    public func keepCertificates(
        of domains: @Sendable () -> [String], ordersPerHour: Int = 100, log: (any CertificateAttemptLog)? = nil,
        challenges: (any ACMEChallengePublisher)? = nil, vault: (any CertificateVault)? = nil
    ) async {
        var failures: [String: (count: Int, retryAt: ContinuousClock.Instant)] = [:]
        var budget = OrderBudget(limit: ordersPerHour, window: .seconds(3600))
        while !Task.isCancelled {
            for domain in domainsNeedingCertificates(Set(domains()).sorted()) {
                if let failure = failures[domain], ContinuousClock.now < failure.retryAt { continue }
                guard !Task.isCancelled else { break }
                // Another host is ordering it: its certificate reaches this one's folder.
                if let log, await !log.claim(domain, for: .seconds(600)) { continue }
                // Another host may have stored it while this one waited for the claim.
                if let vault, await vault.restore(domain), !needsCertificate(domain) {
                    await log?.release(domain)
                    continue
                }
                guard budget.spend(at: .now) else {
                    await log?.release(domain)
                    break
                }
                do {
                    let (summary, issued) = try await obtainIssued(domain, publishing: challenges)
                    failures[domain] = nil
                    await vault?.store(
                        domain: domain, chainPEM: issued.certificateChainPEM, privateKeyPEM: issued.privateKeyPEM,
                        summary: summary)
                    await log?.record(
                        CertificateAttempt(
                            domain: domain, attemptedAt: Date(), error: nil, consecutiveFailures: 0, retryAt: nil,
                            certificate: summary))
                    logger.notice(
                        "certificate obtained from the ACME authority",
                        ["domain": domain, "expires": ISO8601DateFormatter().string(from: summary.notAfter)])
                } catch {
                    let count = (failures[domain]?.count ?? 0) + 1
                    let wait = Duration.seconds(min(3600 << min(count - 1, 5), 86_400))
                    failures[domain] = (count, ContinuousClock.now + wait)
                    await log?.record(
                        CertificateAttempt(
                            domain: domain, attemptedAt: Date(), error: String(describing: error),
                            consecutiveFailures: count,
                            retryAt: Date().addingTimeInterval(Double(wait.components.seconds)), certificate: nil))
                    logger.error(
                        "could not obtain a certificate from the ACME authority",
                        [
                            "domain": domain, "error": String(describing: error),
                            "retry_in_seconds": String(wait.components.seconds),
                        ])
                }
                await log?.release(domain)
            }
            try? await Task.sleep(for: options.checkInterval)
        }
    }
}

/// What became of one attempt to obtain a domain's certificate from the ACME authority.
public struct CertificateAttempt: Sendable {
    public var domain: String
    public var attemptedAt: Date
    /// Why it failed; nil when the certificate was obtained.
    public var error: String?
    /// Failures in a row, this one included (0 after a success).
    public var consecutiveFailures: Int
    /// When the domain is tried again after a failure.
    public var retryAt: Date?
    /// The certificate obtained.
    public var certificate: CertificateSummary?

    public init(
        domain: String, attemptedAt: Date, error: String?, consecutiveFailures: Int, retryAt: Date?,
        certificate: CertificateSummary?
    ) {
        self.domain = domain
        self.attemptedAt = attemptedAt
        self.error = error
        self.consecutiveFailures = consecutiveFailures
        self.retryAt = retryAt
        self.certificate = certificate
    }
}

/// Where attempts are kept; recording never fails the renewal loop (a log that cannot write
/// says so in its own way).
public protocol CertificateAttemptLog: Sendable {
    func record(_ attempt: CertificateAttempt) async
    /// Claims `domain` for this host's order for `duration`; false when another host holds it.
    func claim(_ domain: String, for duration: Duration) async -> Bool
    /// Ends this host's claim.
    func release(_ domain: String) async
}

/// Where obtained certificates are kept for every host (the database, keys sealed).
public protocol CertificateVault: Sendable {
    func store(domain: String, chainPEM: String, privateKeyPEM: String, summary: CertificateSummary) async
    /// Writes the stored certificate of `domain` into this host's folder; false when there is none.
    func restore(_ domain: String) async -> Bool
}

/// At most `limit` events in any `window`: the times of the recent ones, oldest first.
struct OrderBudget {
    let limit: Int
    let window: Duration
    private var spent: [ContinuousClock.Instant] = []

    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    /// Takes one from the budget at `now`; false (taking nothing) when it is used up.
    mutating func spend(at now: ContinuousClock.Instant) -> Bool {
        spent.removeAll { now - $0 >= window }
        guard spent.count < limit else { return false }
        spent.append(now)
        return true
    }
}
