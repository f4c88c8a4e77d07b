import ScryptexApp
import ScryptexCore
import ScryptexKYC
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsMatchTheSpecification() throws {
        let configuration = try Configuration(environment: [:])
        #expect(configuration.auditRetentionDays == 2555)
        #expect(configuration.partnerRevenueShareDefault == ExactDecimal(20))
        #expect(configuration.executiveDashboardRefreshSeconds == 300)
        #expect(configuration.reportGenerationTimeoutSeconds == 3600)
        #expect(configuration.dataDirectory == ".scryptex")
        #expect(configuration.httpsListen == ListenAddress(host: "0.0.0.0", port: 8443))
        #expect(configuration.httpListen == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(configuration.platformDomain == "localhost")
        #expect(configuration.database == nil)
        #expect(configuration.logLevel == .info)
        #expect(configuration.complianceMonitoringEnabled)
        #expect(configuration.fallbacks.isEmpty)
    }

    static let specificationExample = [
        "ENABLE_ENTERPRISE_FEATURES": "true", "INSTITUTIONAL_KYC_PROVIDER": "jumio",
        "COMPLIANCE_MONITORING": "enabled",
        "ML_TRAINING_ENABLED": "true", "MARKET_MAKING_ENABLED": "true", "DEFAULT_JURISDICTION": "US",
        "REGULATORY_REPORTING_ENABLED": "true", "AUDIT_RETENTION_DAYS": "2555",
        "ML_MODEL_STORAGE_PATH": "/data/models",
        "BACKTESTING_DATA_SOURCE": "alpha_vantage", "TRAINING_COMPUTE_TIER": "gpu", "WHITE_LABEL_ENABLED": "true",
        "CUSTOM_DOMAIN_SUPPORT": "true", "PARTNER_REVENUE_SHARE_DEFAULT": "20", "BI_REPORTS_ENABLED": "true",
        "EXECUTIVE_DASHBOARD_REFRESH": "300", "REPORT_GENERATION_TIMEOUT": "3600",
    ]

    @Test func readsTheSpecificationsExampleEnvironment() throws {
        let jumio = [
            "KYC_PROVIDER_API_TOKEN": "client-id", "KYC_PROVIDER_API_SECRET": "client-secret",
            "KYC_PROVIDER_WORKFLOW": "10013",
        ]
        let configuration = try Configuration(
            environment: Self.specificationExample.merging(jumio) { $1 })
        #expect(configuration.mlModelStoragePath == "/data/models")
        #expect(configuration.kycProvider == "jumio")
        #expect(
            configuration.kyc
                == KYCProviderSettings(
                    provider: .jumio, apiToken: "client-id", apiSecret: "client-secret", workflow: "10013"))
        #expect(configuration.kyc?.apiURL == "https://account.amer-1.jumio.ai")
        // Network and GPU choices fall back to local ones, each with a stated reason.
        #expect(configuration.backtestingDataSource == "local")
        #expect(configuration.trainingComputeTier == "cpu")
        #expect(configuration.fallbacks.count == 2)
        #expect(configuration.fallbacks.contains { $0.contains("TRAINING_COMPUTE_TIER=gpu") })
        let withGPU = try Configuration(environment: ["TRAINING_COMPUTE_TIER": "gpu"], hasGPU: true)
        #expect(withGPU.trainingComputeTier == "gpu")
        // Secrets never show in `scryptex config`.
        let shown = configuration.effectiveSettings.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
        #expect(!shown.contains("client-secret") && !shown.contains("client-id"))
        #expect(shown.contains("KYC_PROVIDER_API_SECRET=(set)"))
    }

    /// Issue 18: a provider without its credentials (the specification's example) degrades to
    /// manual review with a notice naming each missing variable, and says manual is in force; a
    /// bad URL is an error.
    @Test func aKYCProviderWithoutItsCredentialsFallsBackToManualNamingEachVariable() throws {
        let example = try Configuration(environment: Self.specificationExample)
        #expect(example.kycProvider == "manual" && example.kyc == nil)
        let notice = try #require(example.fallbacks.first { $0.contains("INSTITUTIONAL_KYC_PROVIDER=jumio") })
        #expect(
            notice.contains("KYC_PROVIDER_API_TOKEN, KYC_PROVIDER_API_SECRET, KYC_PROVIDER_WORKFLOW")
                && notice.contains("manual"), "\(notice)")
        let sumsub = try Configuration(environment: [
            "INSTITUTIONAL_KYC_PROVIDER": "sumsub", "KYC_PROVIDER_API_TOKEN": "t", "KYC_PROVIDER_WORKFLOW": "level",
            "KYC_PROVIDER_API_SECRET": "a-secret-value",
        ])
        #expect(sumsub.kycProvider == "manual")
        #expect(sumsub.fallbacks.contains { $0.contains("needs KYC_PROVIDER_WEBHOOK_SECRET, which is unset") })
        #expect(!sumsub.fallbacks.joined().contains("a-secret-value"))
        let badURL = #expect(throws: ConfigurationError.self) {
            try Configuration(environment: [
                "INSTITUTIONAL_KYC_PROVIDER": "onfido", "KYC_PROVIDER_URL": "http://api.onfido.com",
            ])
        }
        #expect(badURL?.problems.map(\.variable) == ["KYC_PROVIDER_URL"])
    }

    /// Issue 19: with its key the provider is in force; without, local data with a notice.
    @Test func theBacktestingDataSourceIsWhatItSays() throws {
        let keyed = try Configuration(environment: [
            "BACKTESTING_DATA_SOURCE": "alpha_vantage", "ALPHA_VANTAGE_API_KEY": "secret-key",
        ])
        #expect(keyed.backtestingDataSource == "alpha_vantage" && keyed.marketDataSource.name == "alpha_vantage")
        #expect(keyed.fallbacks.isEmpty)
        #expect(!keyed.effectiveSettings.map(\.value).contains("secret-key"))
        let keyless = try Configuration(environment: ["BACKTESTING_DATA_SOURCE": "alpha_vantage"])
        #expect(keyless.backtestingDataSource == "local" && keyless.marketDataSource.name == "local")
        #expect(keyless.fallbacks.contains { $0.contains("needs ALPHA_VANTAGE_API_KEY") })
    }

    @Test(arguments: [
        ("AUDIT_RETENTION_DAYS", "forever", "a whole number from 1 to 36500"),
        ("AUDIT_RETENTION_DAYS", "0", "a whole number from 1 to 36500"),
        ("PARTNER_REVENUE_SHARE_DEFAULT", "120", "a percentage from 0 to 100"),
        ("PARTNER_REVENUE_SHARE_DEFAULT", "-1", "a percentage from 0 to 100"),
        ("COMPLIANCE_MONITORING", "sometimes", "one of enabled, disabled"),
        ("ML_TRAINING_ENABLED", "maybe", "true or false"),
        ("DEFAULT_JURISDICTION", "usa", "ISO 3166-1 alpha-2"),
        ("INSTITUTIONAL_KYC_PROVIDER", "acme", "one of manual, jumio, onfido, sumsub"),
        ("HTTPS_LISTEN", "8443", "HOST:PORT"),
        ("HTTP_LISTEN", "0.0.0.0:70000", "HOST:PORT"),
        ("PLATFORM_DOMAIN", "bad_domain!", "a DNS host name"),
        ("LOG_LEVEL", "chatty", "trace, debug, info"),
        ("EXECUTIVE_DASHBOARD_REFRESH", "0", "a whole number from 1 to 86400"),
        ("SCRYPTEX_POSTGRES_PORT", "80", "a port from 1024 to 65535"),
        ("DATABASE_URL", "mysql://db/x", "postgres://"),
        ("ACME_DIRECTORY_URL", "http://acme.example/directory", "an https URL"),
        ("ACME_EMAIL", "ops at example.com", "an email address"),
        ("ACME_CA_FILE", "/nonexistent/ca.pem", "a readable PEM file"),
        ("ACME_RENEW_DAYS", "90", "a whole number from 1 to 89"),
        ("ACME_CHECK_SECONDS", "0", "a whole number from 1 to 86400"),
        ("SMTP_URL", "http://mail.example.com", "smtps://USER:PASSWORD@HOST:465"),
        ("SMTP_URL", "smtp+insecure://mail.example.com:25", "smtp+insecure://localhost:25"),
        ("MAIL_FROM", "no reply", "an email address"),
        ("SMTP_CA_FILE", "/nonexistent/ca.pem", "a readable PEM file"),
        ("SHUTDOWN_DRAIN_SECONDS", "600", "a whole number from 0 to 300"),
        ("PROXY_PROTOCOL_FROM", "10.0.0.0/8,haproxy.local", "addresses or ranges"),
        ("RATE_LIMIT_SHARE_MS", "20000", "a whole number from 0 to 10000"),
    ])
    func badValuesNameVariableValueAndAcceptedValues(variable: String, value: String, accepted: String) {
        let error = #expect(throws: ConfigurationError.self) { try Configuration(environment: [variable: value]) }
        #expect(error?.problems.count == 1)
        let problem = error?.problems.first
        #expect(problem?.variable == variable)
        #expect(problem?.value == value)
        #expect(problem?.accepted.contains(accepted) == true)
        #expect(error?.description.contains("\(variable)='\(value)'") == true)
    }

    @Test func everyProblemIsReportedAtOnce() {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration(environment: ["LOG_LEVEL": "x", "AUDIT_RETENTION_DAYS": "y", "BI_REPORTS_ENABLED": "z"])
        }
        #expect(
            Set(error?.problems.map(\.variable) ?? []) == ["LOG_LEVEL", "AUDIT_RETENTION_DAYS", "BI_REPORTS_ENABLED"])
    }

    @Test func mailRelayPasswordsAreMasked() throws {
        let bad = #expect(throws: ConfigurationError.self) {
            try Configuration(environment: ["SMTP_URL": "smtp+insecure://mailer:hunter2@localhost:25"])
        }
        #expect(bad?.description.contains("hunter2") == false)
        #expect(bad?.description.contains("mailer:***@localhost") == true)
        let good = try Configuration(environment: ["SMTP_URL": "smtps://mailer:hunter2@relay.example:465"])
        #expect(good.effectiveSettings.first { $0.name == "SMTP_URL" }?.value == "smtps://mailer:***@relay.example:465")
    }

    @Test func databasePasswordsAreMasked() throws {
        let bad = #expect(throws: ConfigurationError.self) {
            try Configuration(environment: ["DATABASE_URL": "postgres://app:hunter2@db:notaport/x"])
        }
        #expect(bad?.description.contains("hunter2") == false)
        let good = try Configuration(environment: ["DATABASE_URL": "postgres://app:hunter2@db:5432/x"])
        let shown = good.effectiveSettings.first { $0.name == "DATABASE_URL" }
        #expect(shown?.value == "postgresql://app:***@db:5432/x")
        #expect(shown?.source == .environment)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(parsing: "[::]:8443") == ListenAddress(host: "::", port: 8443))
        #expect(ListenAddress(parsing: "127.0.0.1:0") == nil)
        #expect(ListenAddress(parsing: "::1:80") == nil)
        #expect(ListenAddress(host: "::1", port: 80).description == "[::1]:80")
    }
}
