public import ScryptexInstitutional

/// Which KYC provider the host sends accounts to and how it reaches it
/// (`INSTITUTIONAL_KYC_PROVIDER` and the `KYC_PROVIDER_*` variables). One provider account serves
/// the platform; each tenant receives the provider's notifications on its own domain at
/// `POST /api/webhooks/kyc`.
public struct KYCProviderSettings: Sendable, Equatable {
    public enum Provider: String, Sendable, CaseIterable {
        case jumio, onfido, sumsub
    }

    public var provider: Provider
    /// The provider's API (`KYC_PROVIDER_URL`): Onfido's regional API, Sumsub's API, or Jumio's
    /// account API.
    public var apiURL: String
    /// Jumio only: its OAuth 2 token service (`KYC_PROVIDER_AUTH_URL`).
    public var authURL: String
    /// Jumio only: its retrieval API, which gives a verification's decision
    /// (`KYC_PROVIDER_RETRIEVAL_URL`).
    public var retrievalURL: String
    /// Onfido's API token, Sumsub's app token, or Jumio's OAuth client id
    /// (`KYC_PROVIDER_API_TOKEN`).
    public var apiToken: String
    /// Sumsub's secret key (which signs each request) or Jumio's OAuth client secret
    /// (`KYC_PROVIDER_API_SECRET`).
    public var apiSecret: String
    /// The secret the provider signs notifications with (`KYC_PROVIDER_WEBHOOK_SECRET`): Onfido's
    /// webhook token, Sumsub's webhook secret. Jumio does not sign; its notifications are checked
    /// by asking its API.
    public var webhookSecret: String
    /// What the provider runs (`KYC_PROVIDER_WORKFLOW`): Onfido's workflow id, Sumsub's
    /// verification level name, Jumio's workflow definition key.
    public var workflow: String
    /// Certificate authorities for the provider's HTTPS (`KYC_PROVIDER_CA_FILE`); nil: the
    /// system's.
    public var trustedCertificatesFile: String?

    public init(
        provider: Provider, apiURL: String? = nil, authURL: String? = nil, retrievalURL: String? = nil,
        apiToken: String, apiSecret: String = "", webhookSecret: String = "", workflow: String,
        trustedCertificatesFile: String? = nil
    ) {
        self.provider = provider
        self.apiURL = apiURL ?? Self.defaultAPIURL(provider)
        self.authURL = authURL ?? "https://auth.amer-1.jumio.ai"
        self.retrievalURL = retrievalURL ?? "https://retrieval.amer-1.jumio.ai"
        self.apiToken = apiToken
        self.apiSecret = apiSecret
        self.webhookSecret = webhookSecret
        self.workflow = workflow
        self.trustedCertificatesFile = trustedCertificatesFile
    }

    public static func defaultAPIURL(_ provider: Provider) -> String {
        switch provider {
        case .onfido: "https://api.eu.onfido.com"
        case .sumsub: "https://api.sumsub.com"
        case .jumio: "https://account.amer-1.jumio.ai"
        }
    }

    /// The variables a provider cannot work without, besides `KYC_PROVIDER_API_TOKEN` and
    /// `KYC_PROVIDER_WORKFLOW`.
    public static func requiredSecrets(_ provider: Provider) -> [String] {
        switch provider {
        case .onfido: ["KYC_PROVIDER_WEBHOOK_SECRET"]
        case .sumsub: ["KYC_PROVIDER_API_SECRET", "KYC_PROVIDER_WEBHOOK_SECRET"]
        case .jumio: ["KYC_PROVIDER_API_SECRET"]
        }
    }

    /// The adapter these settings describe.
    public func makeProvider() -> any KYCProvider {
        switch provider {
        case .onfido: OnfidoKYCProvider(settings: self)
        case .sumsub: SumsubKYCProvider(settings: self)
        case .jumio: JumioKYCProvider(settings: self)
        }
    }
}
