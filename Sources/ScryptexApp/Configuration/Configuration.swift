import Foundation
public import ScryptexCore
public import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexKYC
public import ScryptexML
public import ScryptexMarketData
public import ScryptexPostgres
import ScryptexTenancy

/// The host's settings, read from the environment and validated at start-up.
///
/// Every variable of the product specification is here. A bad value is reported with the
/// variable's name, the value and what is accepted, and start-up stops. Settings whose spec
/// example needs a network service or a GPU fall back to a local choice, each with a notice in
/// `fallbacks` that start-up logs.
public struct Configuration: Sendable {
    public var enterpriseFeaturesEnabled = true
    public var kycProvider = "manual"
    /// How the host reaches the KYC provider; nil for `manual` (local review).
    public var kyc: KYCProviderSettings?
    public var complianceMonitoringEnabled = true
    public var mlTrainingEnabled = true
    public var marketMakingEnabled = true
    public var defaultJurisdiction = "US"
    public var regulatoryReportingEnabled = true
    public var auditRetentionDays = 2555
    public var mlModelStoragePath: String
    public var backtestingDataSource = "local"
    /// Alpha Vantage's key (`ALPHA_VANTAGE_API_KEY`), its URL (`ALPHA_VANTAGE_URL`) and the
    /// authorities verifying it (`ALPHA_VANTAGE_CA_FILE`), for `BACKTESTING_DATA_SOURCE=alpha_vantage`.
    public var alphaVantageAPIKey: String?
    public var alphaVantageURL = "https://www.alphavantage.co"
    public var alphaVantageCAFile: String?
    public var trainingComputeTier = "cpu"
    public var whiteLabelEnabled = true
    public var customDomainSupport = true
    /// The DNS server domain verification asks (`DNS_RESOLVER`, `host[:port]`; unset: the first
    /// IPv4 nameserver of /etc/resolv.conf).
    public var dnsResolver: String?
    /// How often custom domains are checked (`DOMAIN_VERIFICATION_INTERVAL`, seconds): pending
    /// ones for a first proof, verified ones again.
    public var domainVerificationIntervalSeconds = 600
    public var partnerRevenueShareDefault = ExactDecimal(20)
    public var biReportsEnabled = true
    public var executiveDashboardRefreshSeconds = 300
    public var reportGenerationTimeoutSeconds = 3600
    /// Certificate authorities report webhooks trust (`BI_WEBHOOK_CA_FILE`; unset: the system's).
    public var biWebhookCAFile: String?
    /// Whether report webhooks may reach loopback and private addresses
    /// (`BI_WEBHOOK_PRIVATE_ADDRESSES=allow`; refused by default: a tenant's URL must not make
    /// the host call its own network).
    public var biWebhookPrivateAddresses = false

    /// The external database, or nil for the embedded cluster.
    public var database: PostgresConfiguration?
    /// More PostgreSQL clusters for tenants (`TENANT_CLUSTERS`: `name=postgres://…` separated by
    /// spaces or semicolons), beside `primary` (the control plane's database).
    public var tenantClusters: [String: PostgresConfiguration] = [:]
    /// Where new tenants are placed (`TENANT_PLACEMENT`): `primary`, `least-loaded` (the cluster
    /// with the fewest tenants) or a cluster's name. A request's explicit placement wins.
    public var tenantPlacement = "primary"
    public var dataDirectory = ".scryptex"
    /// The folder of declarative tenant files (`<slug>.json`).
    public var tenantsDirectory = "tenants"
    /// The folder of page templates (`<name>.mustache`): branded pages and printable statements.
    public var templatesDirectory = "templates"
    /// A loopback TCP port for the embedded cluster, besides its unix socket.
    public var embeddedPostgresPort: Int?
    public var httpsListen = ListenAddress(host: "0.0.0.0", port: 8443)
    public var httpListen = ListenAddress(host: "0.0.0.0", port: 8080)
    /// Where `GET /metrics` (Prometheus text format, no authentication) is served; nil: nowhere.
    public var metricsListen: ListenAddress?
    public var platformDomain = "localhost"
    public var logLevel = LogLevel.info
    /// Event loops (threads serving network I/O); nil means one per core.
    public var eventLoopCount: Int?
    /// Tenant schemas the host keeps built ahead of need, so creating a tenant renames one
    /// instead of running every tenant migration (0 turns it off).
    public var spareTenantSchemas = 2
    /// The master key as text (`SCRYPTEX_MASTER_KEY`), or nil to read `masterKeyFile`.
    public var masterKey: String?
    /// Where the master key is read from when `SCRYPTEX_MASTER_KEY` is unset; created (mode
    /// 0600) on first start when it is the default in the data folder.
    public var masterKeyFile: String?
    /// The P-256 key that signs audit seals, as a PEM file (`SCRYPTEX_AUDIT_SIGNING_KEY_FILE`);
    /// nil: `<data folder>/audit-signing-key.pem`, created on first start. Like the master key,
    /// it never enters the database.
    public var auditSigningKeyFile: String?
    /// The append-only file of audit seals (`AUDIT_SEAL_LOG`); nil: `<data folder>/audit-seals.jsonl`.
    public var auditSealLog: String?
    /// How often the host seals every audit trail that grew (`AUDIT_SEAL_INTERVAL`, seconds).
    public var auditSealIntervalSeconds = 300
    /// A reference price older than this (`REFERENCE_PRICE_MAX_AGE`, seconds) no longer vouches for
    /// an order's price: the price-band rule sends the order to review.
    public var referencePriceMaxAgeSeconds = 86_400
    /// A US dollar rate older than this (`FX_RATE_MAX_AGE`, seconds) no longer values an order
    /// against the limits: it goes to review.
    public var fxRateMaxAgeSeconds = 4 * 86_400
    /// A previous master key (`SCRYPTEX_MASTER_KEY_PREVIOUS`) during a master-key rotation.
    public var previousMasterKey: String?
    /// The ACME directory to obtain certificates from (`ACME_DIRECTORY_URL`, e.g. Let's
    /// Encrypt's `https://acme-v02.api.letsencrypt.org/directory`); nil keeps certificates as
    /// they are in the folder (development certificates, or ones an operator put there).
    public var acmeDirectoryURL: String?
    /// The account's contact address (`ACME_EMAIL`), for the authority's expiry notices.
    public var acmeEmail: String?
    /// Certificate authorities that verify the ACME server's own HTTPS (`ACME_CA_FILE`), for a
    /// private authority; nil trusts the system's.
    public var acmeTrustedCertificatesFile: String?
    /// The mail relay (`SMTP_URL`: `smtps://user:password@host:465`, `smtp://…:587` with
    /// STARTTLS, or `smtp+insecure://localhost:25`); nil writes mail into `<data>/outbox`.
    public var smtpURL: String?
    /// The sender of the host's mail (`MAIL_FROM`; default `no-reply@PLATFORM_DOMAIN`).
    public var mailFrom: String?
    /// Certificate authorities that verify the relay's TLS (`SMTP_CA_FILE`); nil trusts the system's.
    public var smtpTrustedCertificatesFile: String?
    /// A certificate is renewed this many days before it expires (`ACME_RENEW_DAYS`).
    public var acmeRenewDays = 30
    /// The host's `statement_timeout` when `DATABASE_URL` names none: a request facing a stalled
    /// database answers 503 within it (and 2 s), never hangs.
    public var databaseStatementTimeoutSeconds = 30
    /// On SIGTERM or SIGINT, how long the host keeps serving with `/readyz` answering 503 and
    /// connections closed after each response, before it stops (`SHUTDOWN_DRAIN_SECONDS`; behind
    /// a load balancer, longer than its health check takes to mark the host down). 0: no drain.
    public var shutdownDrainSeconds = 0
    /// How often each host tells the others what it took from the rate limits
    /// (`RATE_LIMIT_SHARE_MS`; 0: limits are per host). See `RateLimitExchange` for the bound.
    public var rateLimitShareMilliseconds = 250
    /// Load balancers trusted to send a PROXY protocol header on the HTTPS port
    /// (`PROXY_PROTOCOL_FROM`: addresses or ranges, comma-separated), so requests carry their
    /// clients' addresses (rate limits, audit trail, logs); empty: none is read.
    public var proxyProtocolSources: [IPAddressRange] = []
    /// How often the host looks for domains that need a certificate (`ACME_CHECK_SECONDS`).
    public var acmeCheckSeconds = 300
    public var apiKeyRateLimit = RateLimiter.Limit(ratePerSecond: 50, burst: 100)
    public var userRateLimit = RateLimiter.Limit(ratePerSecond: 20, burst: 40)
    public var tenantRateLimit = RateLimiter.Limit(ratePerSecond: 500, burst: 1000)
    /// Login attempts per client address and tenant.
    public var loginRateLimit = RateLimiter.Limit(ratePerSecond: 10.0 / 60, burst: 10)

    /// Spec settings that were replaced by a local choice, with the reason; logged at start-up.
    public var fallbacks: [String] = []

    /// Where each setting came from, for `scryptex config`.
    public var sources: [String: Source] = [:]

    public enum Source: String, Sendable {
        case environment
        case defaultValue = "default"
    }

    /// The defaults, as with an empty environment.
    public init() {
        mlModelStoragePath = ".scryptex/models"
    }

    /// Reads and validates every setting.
    /// - Parameters:
    ///   - environment: The process environment.
    ///   - hasGPU: Whether a GPU is present (for `TRAINING_COMPUTE_TIER=gpu`).
    /// - Throws: `ConfigurationError` listing every bad variable.
    public init(environment: [String: String], hasGPU: Bool = false) throws(ConfigurationError) {
        self.init()
        var reader = EnvironmentReader(environment: environment)

        enterpriseFeaturesEnabled = reader.boolean("ENABLE_ENTERPRISE_FEATURES", default: true)
        kycProvider = reader.choice(
            "INSTITUTIONAL_KYC_PROVIDER", from: ["manual"] + KYCProviderSettings.Provider.allCases.map(\.rawValue),
            default: "manual")
        if let provider = KYCProviderSettings.Provider(rawValue: kycProvider) {
            let (settings, missing) = reader.kycSettings(provider)
            if missing.isEmpty {
                kyc = settings
            } else {
                // The specification's example names a provider without credentials: it degrades
                // to local review, said in the log, and `kycProvider` says what is in force.
                fallbacks.append(
                    "INSTITUTIONAL_KYC_PROVIDER=\(provider.rawValue) needs \(missing.joined(separator: ", ")), which \(missing.count == 1 ? "is" : "are") unset; using the manual (local review) provider"
                )
                kycProvider = "manual"
            }
        }
        complianceMonitoringEnabled =
            reader.choice("COMPLIANCE_MONITORING", from: ["enabled", "disabled"], default: "enabled") == "enabled"
        mlTrainingEnabled = reader.boolean("ML_TRAINING_ENABLED", default: true)
        marketMakingEnabled = reader.boolean("MARKET_MAKING_ENABLED", default: true)
        defaultJurisdiction = reader.value(
            "DEFAULT_JURISDICTION", default: "US", accepted: "an ISO 3166-1 alpha-2 country code such as US, GB or DE"
        ) {
            $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isUppercase } ? $0 : nil
        }
        regulatoryReportingEnabled = reader.boolean("REGULATORY_REPORTING_ENABLED", default: true)
        auditRetentionDays = reader.integer("AUDIT_RETENTION_DAYS", default: 2555, in: 1...36_500)
        backtestingDataSource = reader.choice(
            "BACKTESTING_DATA_SOURCE", from: ["local", "alpha_vantage"], default: "local")
        alphaVantageURL = reader.value(
            "ALPHA_VANTAGE_URL", default: alphaVantageURL, accepted: "an https URL such as https://www.alphavantage.co"
        ) {
            guard let url = URLComponents(string: $0), url.scheme == "https", url.host?.isEmpty == false,
                url.query == nil
            else { return nil }
            return $0.hasSuffix("/") ? String($0.dropLast()) : $0
        }
        alphaVantageCAFile = reader.value("ALPHA_VANTAGE_CA_FILE", default: nil, accepted: "a readable PEM file") {
            path -> String? in FileManager.default.isReadableFile(atPath: path) ? path : nil
        }
        alphaVantageAPIKey = reader.value("ALPHA_VANTAGE_API_KEY", default: nil, accepted: "an API key") {
            $0.isEmpty ? nil : $0
        }
        if backtestingDataSource == "alpha_vantage" && alphaVantageAPIKey == nil {
            // The specification's example names the provider without a key: local data, said in
            // the log, and the setting says what is in force. With a key, a provider that cannot
            // be reached fails the backtest naming it (never local data under its name).
            fallbacks.append(
                "BACKTESTING_DATA_SOURCE=alpha_vantage needs ALPHA_VANTAGE_API_KEY, which is unset; using the local market-data store"
            )
            backtestingDataSource = "local"
        }
        trainingComputeTier = reader.choice("TRAINING_COMPUTE_TIER", from: ["cpu", "gpu"], default: "cpu")
        if trainingComputeTier == "gpu" && !hasGPU {
            fallbacks.append("TRAINING_COMPUTE_TIER=gpu but no GPU is present; training on the CPU")
            trainingComputeTier = "cpu"
        }
        whiteLabelEnabled = reader.boolean("WHITE_LABEL_ENABLED", default: true)
        customDomainSupport = reader.boolean("CUSTOM_DOMAIN_SUPPORT", default: true)
        dnsResolver = reader.value(
            "DNS_RESOLVER", default: nil, accepted: "an IPv4 address with an optional port, such as 127.0.0.1:5353"
        ) { text -> String?? in
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), inet_addr(String(parts[0])) != INADDR_NONE,
                parts.count == 1 || Int(parts[1]).map({ (1...65_535).contains($0) }) == true
            else { return nil }
            return .some(text)
        }
        domainVerificationIntervalSeconds = reader.integer(
            "DOMAIN_VERIFICATION_INTERVAL", default: 600, in: 5...(7 * 86_400))
        partnerRevenueShareDefault = reader.value(
            "PARTNER_REVENUE_SHARE_DEFAULT", default: ExactDecimal(20),
            accepted: "a percentage from 0 to 100 with at most 4 decimals"
        ) { text in
            guard let value = ExactDecimal(text), value >= .zero, value <= ExactDecimal(100),
                value.significantScale <= 4
            else {
                return nil
            }
            return value
        }
        biReportsEnabled = reader.boolean("BI_REPORTS_ENABLED", default: true)
        executiveDashboardRefreshSeconds = reader.integer("EXECUTIVE_DASHBOARD_REFRESH", default: 300, in: 1...86_400)
        reportGenerationTimeoutSeconds = reader.integer("REPORT_GENERATION_TIMEOUT", default: 3600, in: 1...86_400)
        biWebhookCAFile = reader.value("BI_WEBHOOK_CA_FILE", default: nil, accepted: "a readable PEM file") {
            path -> String? in FileManager.default.isReadableFile(atPath: path) ? path : nil
        }
        biWebhookPrivateAddresses =
            reader.choice("BI_WEBHOOK_PRIVATE_ADDRESSES", from: ["refuse", "allow"], default: "refuse") == "allow"

        database = reader.value(
            "DATABASE_URL", default: nil,
            accepted:
                "a URL such as postgres://user:password@host:5432/database or postgres:///database?host=/run/postgresql"
        ) { text throws(ConfigurationProblem) in
            do throws(PostgresConfigurationError) {
                return try PostgresConfiguration(url: text)
            } catch {
                throw ConfigurationProblem(reason: error.message)
            }
        }
        let clusters: [String: PostgresConfiguration] = reader.value(
            "TENANT_CLUSTERS", default: [:],
            accepted:
                "name=postgres://… pairs separated by spaces or semicolons, such as eu=postgres://scryptex@db-eu/scryptex"
        ) { text throws(ConfigurationProblem) in
            do throws(ServiceError) {
                return try TenantClusters.parse(text)
            } catch {
                throw ConfigurationProblem(reason: error.message)
            }
        }
        tenantClusters = clusters
        tenantPlacement = reader.value(
            "TENANT_PLACEMENT", default: "primary",
            accepted: "primary, least-loaded or a cluster named in TENANT_CLUSTERS"
        ) { text -> String? in
            text == "primary" || text == "least-loaded" || clusters[text] != nil ? text : nil
        }
        dataDirectory = reader.value("SCRYPTEX_DATA_DIR", default: ".scryptex", accepted: "a folder path") {
            $0.isEmpty ? nil : $0
        }
        tenantsDirectory = reader.value("SCRYPTEX_TENANTS_DIR", default: "tenants", accepted: "a folder path") {
            $0.isEmpty ? nil : $0
        }
        templatesDirectory = reader.value("SCRYPTEX_TEMPLATES_DIR", default: "templates", accepted: "a folder path") {
            $0.isEmpty ? nil : $0
        }
        mlModelStoragePath = reader.value(
            "ML_MODEL_STORAGE_PATH", default: dataDirectory + "/models", accepted: "a folder path"
        ) {
            $0.isEmpty ? nil : $0
        }
        embeddedPostgresPort = reader.value(
            "SCRYPTEX_POSTGRES_PORT", default: nil, accepted: "a port from 1024 to 65535"
        ) {
            text -> Int?? in
            // The outer optional is "parsed or not"; the inner one is the setting itself.
            guard let port = Int(text), (1024...65_535).contains(port) else { return nil }
            return .some(port)
        }
        httpsListen = reader.value(
            "HTTPS_LISTEN", default: ListenAddress(host: "0.0.0.0", port: 8443),
            accepted: "HOST:PORT such as 0.0.0.0:8443 or [::]:8443"
        ) { ListenAddress(parsing: $0) }
        httpListen = reader.value(
            "HTTP_LISTEN", default: ListenAddress(host: "0.0.0.0", port: 8080),
            accepted: "HOST:PORT such as 0.0.0.0:8080"
        ) { ListenAddress(parsing: $0) }
        metricsListen = reader.value(
            "METRICS_LISTEN", default: nil, accepted: "HOST:PORT such as 127.0.0.1:9464"
        ) { text -> ListenAddress?? in
            ListenAddress(parsing: text).map { .some($0) }
        }
        platformDomain = reader.value(
            "PLATFORM_DOMAIN", default: "localhost", accepted: "a DNS host name such as scryptex.example.com"
        ) {
            HostName($0)?.value
        }
        eventLoopCount = reader.value("SCRYPTEX_EVENT_LOOPS", default: nil, accepted: "a whole number from 1 to 256") {
            text -> Int?? in
            guard let count = Int(text), (1...256).contains(count) else { return nil }
            return .some(count)
        }
        spareTenantSchemas = reader.integer("SCRYPTEX_SPARE_TENANT_SCHEMAS", default: 2, in: 0...100)
        masterKey = reader.value("SCRYPTEX_MASTER_KEY", default: nil, accepted: "64 hexadecimal digits") {
            text -> String?? in (try? MasterKey(text: text)) != nil ? .some(text) : nil
        }
        previousMasterKey = reader.value(
            "SCRYPTEX_MASTER_KEY_PREVIOUS", default: nil, accepted: "64 hexadecimal digits"
        ) {
            text -> String?? in (try? MasterKey(text: text)) != nil ? .some(text) : nil
        }
        masterKeyFile = reader.value("SCRYPTEX_MASTER_KEY_FILE", default: nil, accepted: "a file path") {
            text -> String?? in text.isEmpty ? nil : .some(text)
        }
        auditSigningKeyFile = reader.value("SCRYPTEX_AUDIT_SIGNING_KEY_FILE", default: nil, accepted: "a file path") {
            text -> String?? in text.isEmpty ? nil : .some(text)
        }
        auditSealLog = reader.value("AUDIT_SEAL_LOG", default: nil, accepted: "a file path") {
            text -> String?? in text.isEmpty ? nil : .some(text)
        }
        auditSealIntervalSeconds = reader.integer("AUDIT_SEAL_INTERVAL", default: 300, in: 5...86_400)
        referencePriceMaxAgeSeconds = reader.integer(
            "REFERENCE_PRICE_MAX_AGE", default: 86_400, in: 60...(366 * 86_400))
        fxRateMaxAgeSeconds = reader.integer("FX_RATE_MAX_AGE", default: 4 * 86_400, in: 60...(366 * 86_400))
        acmeDirectoryURL = reader.value(
            "ACME_DIRECTORY_URL", default: nil,
            accepted: "an https URL such as https://acme-v02.api.letsencrypt.org/directory"
        ) { text -> String?? in
            guard let url = URLComponents(string: text), url.scheme == "https", url.host?.isEmpty == false else {
                return nil
            }
            return .some(text)
        }
        acmeEmail = reader.value("ACME_EMAIL", default: nil, accepted: "an email address such as ops@example.com") {
            text -> String?? in
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, HostName(String(parts[1])) != nil,
                !text.contains(where: { $0 == " " || $0 == "," || $0 == "\"" })
            else { return nil }
            return .some(text)
        }
        acmeTrustedCertificatesFile = reader.value(
            "ACME_CA_FILE", default: nil, accepted: "a readable PEM file of certificate authorities"
        ) { text -> String?? in
            FileManager.default.isReadableFile(atPath: text) ? .some(text) : nil
        }
        acmeRenewDays = reader.integer("ACME_RENEW_DAYS", default: 30, in: 1...89)
        smtpURL = reader.value(
            "SMTP_URL", default: nil,
            accepted:
                "smtps://USER:PASSWORD@HOST:465, smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtp+insecure://localhost:25"
        ) { text -> String?? in
            (try? SMTPClient(url: text)) == nil ? nil : .some(text)
        }
        mailFrom = reader.value("MAIL_FROM", default: nil, accepted: "an email address such as no-reply@example.com") {
            text -> String?? in
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, HostName(String(parts[1])) != nil,
                !text.contains(where: { $0 == " " || $0 == "," || $0 == "\"" || $0 == "<" || $0 == ">" })
            else { return nil }
            return .some(text)
        }
        smtpTrustedCertificatesFile = reader.value(
            "SMTP_CA_FILE", default: nil, accepted: "a readable PEM file of certificate authorities"
        ) { text -> String?? in
            FileManager.default.isReadableFile(atPath: text) ? .some(text) : nil
        }
        databaseStatementTimeoutSeconds = reader.integer("DATABASE_STATEMENT_TIMEOUT", default: 30, in: 1...3600)
        acmeCheckSeconds = reader.integer("ACME_CHECK_SECONDS", default: 300, in: 1...86_400)
        shutdownDrainSeconds = reader.integer("SHUTDOWN_DRAIN_SECONDS", default: 0, in: 0...300)
        rateLimitShareMilliseconds = reader.integer("RATE_LIMIT_SHARE_MS", default: 250, in: 0...10_000)
        proxyProtocolSources = reader.value(
            "PROXY_PROTOCOL_FROM", default: [],
            accepted: "addresses or ranges, comma-separated, such as 10.0.0.5,10.1.0.0/16"
        ) { text -> [IPAddressRange]? in
            let ranges = text.split(separator: ",").map { IPAddressRange($0.trimmingCharacters(in: .whitespaces)) }
            return ranges.contains(nil) || ranges.isEmpty ? nil : ranges.compactMap { $0 }
        }
        let rateLimit = "RATE/s or RATE/m with an optional :BURST, such as 50/s:100"
        apiKeyRateLimit = reader.value("RATE_LIMIT_API_KEY", default: apiKeyRateLimit, accepted: rateLimit) {
            RateLimiter.Limit(parsing: $0)
        }
        userRateLimit = reader.value("RATE_LIMIT_USER", default: userRateLimit, accepted: rateLimit) {
            RateLimiter.Limit(parsing: $0)
        }
        tenantRateLimit = reader.value("RATE_LIMIT_TENANT", default: tenantRateLimit, accepted: rateLimit) {
            RateLimiter.Limit(parsing: $0)
        }
        loginRateLimit = reader.value("RATE_LIMIT_LOGIN", default: loginRateLimit, accepted: rateLimit) {
            RateLimiter.Limit(parsing: $0)
        }
        logLevel = reader.value(
            "LOG_LEVEL", default: LogLevel.info, accepted: LogLevel.allCases.map(\.description).joined(separator: ", ")
        ) { LogLevel(name: $0) }

        sources = reader.sources
        if !reader.problems.isEmpty {
            throw ConfigurationError(problems: reader.problems)
        }
    }

    /// Every setting as `(variable, shown value, source)`, secrets masked, for `scryptex config`.
    public var effectiveSettings: [(name: String, value: String, source: Source)] {
        let rows: [(String, String)] = [
            ("ENABLE_ENTERPRISE_FEATURES", String(enterpriseFeaturesEnabled)),
            ("INSTITUTIONAL_KYC_PROVIDER", kycProvider),
            ("KYC_PROVIDER_URL", kyc?.apiURL ?? "(unused: manual review)"),
            ("KYC_PROVIDER_WORKFLOW", kyc?.workflow ?? "(unused: manual review)"),
            (
                "KYC_PROVIDER_API_TOKEN",
                kyc.map { $0.apiToken.isEmpty ? "(unset)" : "(set)" } ?? "(unused: manual review)"
            ),
            (
                "KYC_PROVIDER_API_SECRET",
                kyc.map { $0.apiSecret.isEmpty ? "(unset)" : "(set)" } ?? "(unused: manual review)"
            ),
            (
                "KYC_PROVIDER_WEBHOOK_SECRET",
                kyc.map { $0.webhookSecret.isEmpty ? "(unset)" : "(set)" } ?? "(unused: manual review)"
            ),
            ("KYC_PROVIDER_CA_FILE", kyc?.trustedCertificatesFile ?? "(unset: the system's authorities)"),
            ("COMPLIANCE_MONITORING", complianceMonitoringEnabled ? "enabled" : "disabled"),
            ("ML_TRAINING_ENABLED", String(mlTrainingEnabled)),
            ("MARKET_MAKING_ENABLED", String(marketMakingEnabled)),
            ("DEFAULT_JURISDICTION", defaultJurisdiction),
            ("REGULATORY_REPORTING_ENABLED", String(regulatoryReportingEnabled)),
            ("AUDIT_RETENTION_DAYS", String(auditRetentionDays)),
            ("AUDIT_SEAL_INTERVAL", String(auditSealIntervalSeconds)),
            ("REFERENCE_PRICE_MAX_AGE", String(referencePriceMaxAgeSeconds)),
            ("FX_RATE_MAX_AGE", String(fxRateMaxAgeSeconds)),
            ("AUDIT_SEAL_LOG", auditSealLogPath),
            ("ML_MODEL_STORAGE_PATH", mlModelStoragePath),
            ("BACKTESTING_DATA_SOURCE", backtestingDataSource),
            ("ALPHA_VANTAGE_API_KEY", alphaVantageAPIKey == nil ? "(unset)" : "(set)"),
            ("ALPHA_VANTAGE_URL", alphaVantageURL),
            ("TRAINING_COMPUTE_TIER", trainingComputeTier),
            ("WHITE_LABEL_ENABLED", String(whiteLabelEnabled)),
            ("CUSTOM_DOMAIN_SUPPORT", String(customDomainSupport)),
            ("DNS_RESOLVER", dnsResolver ?? "(unset: /etc/resolv.conf)"),
            ("DOMAIN_VERIFICATION_INTERVAL", String(domainVerificationIntervalSeconds)),
            ("PARTNER_REVENUE_SHARE_DEFAULT", partnerRevenueShareDefault.description),
            ("BI_REPORTS_ENABLED", String(biReportsEnabled)),
            ("EXECUTIVE_DASHBOARD_REFRESH", String(executiveDashboardRefreshSeconds)),
            ("REPORT_GENERATION_TIMEOUT", String(reportGenerationTimeoutSeconds)),
            ("BI_WEBHOOK_CA_FILE", biWebhookCAFile ?? "(unset: the system's authorities)"),
            ("BI_WEBHOOK_PRIVATE_ADDRESSES", biWebhookPrivateAddresses ? "allow" : "refuse"),
            ("DATABASE_URL", database?.redactedDescription ?? "(unset: embedded cluster in \(dataDirectory)/postgres)"),
            ("DATABASE_STATEMENT_TIMEOUT", String(databaseStatementTimeoutSeconds)),
            (
                "TENANT_CLUSTERS",
                tenantClusters.isEmpty
                    ? "(unset: every tenant on DATABASE_URL's database)"
                    : tenantClusters.keys.sorted().map { "\($0)=\(tenantClusters[$0]!.redactedDescription)" }
                        .joined(separator: " ")
            ),
            ("TENANT_PLACEMENT", tenantPlacement),
            ("SCRYPTEX_DATA_DIR", dataDirectory),
            ("SCRYPTEX_TENANTS_DIR", tenantsDirectory),
            ("SCRYPTEX_TEMPLATES_DIR", templatesDirectory),
            ("SCRYPTEX_POSTGRES_PORT", embeddedPostgresPort.map(String.init) ?? "(unset: unix socket only)"),
            ("HTTPS_LISTEN", httpsListen.description),
            ("HTTP_LISTEN", httpListen.description),
            ("METRICS_LISTEN", metricsListen?.description ?? "(unset: no metrics listener)"),
            ("PLATFORM_DOMAIN", platformDomain),
            ("SCRYPTEX_EVENT_LOOPS", eventLoopCount.map(String.init) ?? "(unset: one per core)"),
            ("SCRYPTEX_SPARE_TENANT_SCHEMAS", String(spareTenantSchemas)),
            ("LOG_LEVEL", logLevel.description),
            ("SHUTDOWN_DRAIN_SECONDS", String(shutdownDrainSeconds)),
            ("RATE_LIMIT_SHARE_MS", String(rateLimitShareMilliseconds)),
            (
                "PROXY_PROTOCOL_FROM",
                proxyProtocolSources.isEmpty
                    ? "(unset: no PROXY header is read)"
                    : proxyProtocolSources.map(\.description).joined(separator: ",")
            ),
            ("ACME_DIRECTORY_URL", acmeDirectoryURL ?? "(unset: certificates are taken from the folder as they are)"),
            ("ACME_EMAIL", acmeEmail ?? "(unset)"),
            ("ACME_CA_FILE", acmeTrustedCertificatesFile ?? "(unset: the system's authorities)"),
            ("ACME_RENEW_DAYS", String(acmeRenewDays)),
            ("ACME_CHECK_SECONDS", String(acmeCheckSeconds)),
            ("SMTP_URL", smtpURL.map(SMTPClient.redacted) ?? "(unset: mail is written into \(dataDirectory)/outbox)"),
            ("MAIL_FROM", mailFrom ?? "no-reply@\(platformDomain)"),
            ("SMTP_CA_FILE", smtpTrustedCertificatesFile ?? "(unset: the system's authorities)"),
        ]
        return rows.map { ($0.0, $0.1, sources[$0.0] ?? .defaultValue) }
    }
}

/// A `host:port` to listen on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPv6]:PORT`; nil if malformed or the port is out of range.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One or more environment variables with values that cannot be used.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable {
        public var variable: String
        public var value: String
        public var accepted: String
        public var reason: String?
    }

    public var problems: [Problem]

    public var description: String {
        problems.map { problem in
            var line = "\(problem.variable)='\(problem.value)' is not valid"
            if let reason = problem.reason { line += ": \(reason)" }
            return line + "; accepted: \(problem.accepted)"
        }.joined(separator: "\n")
    }
}

/// A reason a single value was refused, from a parse closure.
struct ConfigurationProblem: Error {
    var reason: String
}

/// Reads variables, remembering the source of each and collecting every problem.
struct EnvironmentReader {
    let environment: [String: String]
    var problems: [ConfigurationError.Problem] = []
    var sources: [String: Configuration.Source] = [:]

    init(environment: [String: String]) {
        self.environment = environment
    }

    mutating func value<Value>(
        _ name: String,
        default defaultValue: Value,
        accepted: String,
        parse: (String) throws(ConfigurationProblem) -> Value?
    ) -> Value {
        guard let raw = environment[name] else {
            sources[name] = .defaultValue
            return defaultValue
        }
        sources[name] = .environment
        let text = raw.trimmingCharacters(in: .whitespaces)
        do {
            if let parsed = try parse(text) { return parsed }
            problems.append(.init(variable: name, value: Self.shown(name, raw), accepted: accepted, reason: nil))
        } catch {
            problems.append(
                .init(variable: name, value: Self.shown(name, raw), accepted: accepted, reason: error.reason))
        }
        return defaultValue
    }

    mutating func boolean(_ name: String, default defaultValue: Bool) -> Bool {
        value(name, default: defaultValue, accepted: "true or false (also 1/0, yes/no, on/off)") { text in
            switch text.lowercased() {
            case "true", "1", "yes", "on", "enabled": true
            case "false", "0", "no", "off", "disabled": false
            default: nil
            }
        }
    }

    mutating func choice(_ name: String, from choices: [String], default defaultValue: String) -> String {
        value(name, default: defaultValue, accepted: "one of " + choices.joined(separator: ", ")) { text in
            choices.contains(text.lowercased()) ? text.lowercased() : nil
        }
    }

    mutating func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) -> Int {
        value(name, default: defaultValue, accepted: "a whole number from \(range.lowerBound) to \(range.upperBound)") {
            text in
            Int(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    /// The settings of a KYC provider and the required variables that are unset (its credentials
    /// and workflow); its URLs default to the provider's own and must be https.
    mutating func kycSettings(_ provider: KYCProviderSettings.Provider) -> (KYCProviderSettings, missing: [String]) {
        var missing: [String] = []
        func required(_ name: String, in reader: inout EnvironmentReader) -> String {
            let value = reader.value(name, default: "", accepted: "a value") { $0.isEmpty ? nil : $0 }
            if value.isEmpty { missing.append(name) }
            return value
        }
        func url(_ name: String, default defaultValue: String, in reader: inout EnvironmentReader) -> String {
            reader.value(name, default: defaultValue, accepted: "an https URL such as \(defaultValue)") {
                guard let url = URLComponents(string: $0), url.scheme == "https", url.host?.isEmpty == false,
                    url.query == nil
                else { return nil }
                return $0.hasSuffix("/") ? String($0.dropLast()) : $0
            }
        }
        let token = required("KYC_PROVIDER_API_TOKEN", in: &self)
        let needed = KYCProviderSettings.requiredSecrets(provider)
        let secret = needed.contains("KYC_PROVIDER_API_SECRET") ? required("KYC_PROVIDER_API_SECRET", in: &self) : ""
        let webhookSecret =
            needed.contains("KYC_PROVIDER_WEBHOOK_SECRET") ? required("KYC_PROVIDER_WEBHOOK_SECRET", in: &self) : ""
        let workflow = required("KYC_PROVIDER_WORKFLOW", in: &self)
        let caFile = value("KYC_PROVIDER_CA_FILE", default: nil, accepted: "a readable PEM file") { path -> String? in
            FileManager.default.isReadableFile(atPath: path) ? path : nil
        }
        let settings = KYCProviderSettings(
            provider: provider,
            apiURL: url("KYC_PROVIDER_URL", default: KYCProviderSettings.defaultAPIURL(provider), in: &self),
            authURL: url("KYC_PROVIDER_AUTH_URL", default: "https://auth.amer-1.jumio.ai", in: &self),
            retrievalURL: url("KYC_PROVIDER_RETRIEVAL_URL", default: "https://retrieval.amer-1.jumio.ai", in: &self),
            apiToken: token, apiSecret: secret, webhookSecret: webhookSecret, workflow: workflow,
            trustedCertificatesFile: caFile)
        return (settings, missing)
    }

    /// The value as shown in an error: secrets are masked, and a database or mail relay URL's
    /// password.
    static func shown(_ name: String, _ value: String) -> String {
        if name.hasPrefix("SCRYPTEX_MASTER_KEY") && name != "SCRYPTEX_MASTER_KEY_FILE" { return "***" }
        if [
            "KYC_PROVIDER_API_TOKEN", "KYC_PROVIDER_API_SECRET", "KYC_PROVIDER_WEBHOOK_SECRET", "ALPHA_VANTAGE_API_KEY",
        ]
        .contains(name) {
            return "***"
        }
        if name == "TENANT_CLUSTERS" {
            return value.replacingOccurrences(
                of: #"(://[^:/@\s;]*:)[^@\s;]*@"#, with: "$1***@", options: .regularExpression)
        }
        guard name == "DATABASE_URL" || name == "SMTP_URL", let at = value.lastIndex(of: "@"),
            let scheme = value.range(of: "://"),
            let colon = value[scheme.upperBound..<at].firstIndex(of: ":")
        else { return value }
        return String(value[..<value.index(after: colon)]) + "***" + String(value[at...])
    }
}

extension Configuration {
    /// Where backtests read bars, from `BACKTESTING_DATA_SOURCE`.
    public var marketDataSource: any MarketDataSource {
        if backtestingDataSource == "alpha_vantage", let key = alphaVantageAPIKey {
            return AlphaVantageMarketData(
                apiKey: key, baseURL: alphaVantageURL, trustedCertificatesFile: alphaVantageCAFile)
        }
        return LocalMarketData()
    }
}

extension Configuration {
    /// How this host trains models: on the CPU (there is no GPU code path), saved under
    /// `ML_MODEL_STORAGE_PATH`; when `TRAINING_COMPUTE_TIER=gpu` fell back, each model says so.
    public var trainingRunner: TrainingRunner {
        TrainingRunner(
            store: ModelStore.at(mlModelStoragePath), trainedOn: "cpu",
            computeNotice: fallbacks.first { $0.hasPrefix("TRAINING_COMPUTE_TIER") })
    }
}

extension Configuration {
    /// The client report webhooks are sent with: this host's trust for `BI_WEBHOOK_CA_FILE`,
    /// public addresses only unless `BI_WEBHOOK_PRIVATE_ADDRESSES=allow`, 10 s per attempt.
    public var biWebhookClient: HTTPSClient {
        HTTPSClient(
            trustedCertificatesFile: biWebhookCAFile, timeout: .seconds(10), maximumBodyBytes: 64 * 1024,
            addresses: biWebhookPrivateAddresses ? .any : .publicOnly)
    }
}
