import Foundation
import ScryptexCore
public import ScryptexInstitutional
import Synchronization

/// Jumio (KYX platform). The host signs in with OAuth 2 client credentials; a submission creates
/// an account running the configured workflow, with this tenant's notification URL as its
/// `callbackUrl` and the account's id as `userReference`; the reference is the workflow
/// execution's id. Jumio does not sign its callbacks, so a callback is only a prompt: the host
/// asks Jumio's retrieval API, with its own credentials, for that execution and uses only what
/// Jumio answers there (a forged callback can at most make the host ask). A `PROCESSED`
/// execution's decision `PASSED` approves, `REJECTED` or `NOT_EXECUTED` rejects, `WARNING` goes
/// to the compliance officers; an expired session rejects (the account can be submitted again).
public struct JumioKYCProvider: KYCProvider {
    let settings: KYCProviderSettings
    let api: ProviderAPI
    let tokens = AccessTokens()

    public init(settings: KYCProviderSettings) {
        self.settings = settings
        api = ProviderAPI(provider: "jumio", trustedCertificatesFile: settings.trustedCertificatesFile)
    }

    public var name: String { "jumio" }

    /// The access token, fetched again a minute before it expires.
    final class AccessTokens: Sendable {
        let current = Mutex<(token: String, expires: Date)?>(nil)
    }

    func accessToken() async throws -> String {
        if let cached = tokens.current.withLock({ $0 }), cached.expires > Date() { return cached.token }
        struct Token: Decodable {
            var accessToken: String
            var expiresIn: Int?
            enum CodingKeys: String, CodingKey {
                case accessToken = "access_token"
                case expiresIn = "expires_in"
            }
        }
        let credentials = Data("\(settings.apiToken):\(settings.apiSecret)".utf8).base64EncodedString()
        let token = try await api.send(
            .post, settings.authURL + "/oauth2/token",
            headers: [
                ("Authorization", "Basic \(credentials)"), ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            body: Array("grant_type=client_credentials".utf8), answer: Token.self)
        let lifetime = max(0, (token.expiresIn ?? 3600) - 60)
        tokens.current.withLock { $0 = (token.accessToken, Date().addingTimeInterval(TimeInterval(lifetime))) }
        return token.accessToken
    }

    func headers() async throws -> [(String, String)] {
        [
            ("Authorization", "Bearer \(try await accessToken())"), ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ]
    }

    public func submit(_ account: InstitutionalAccount, notificationURL: String) async throws -> KYCSubmission {
        let key: Any = Int(settings.workflow) ?? settings.workflow
        var body: [String: Any] = [
            "customerInternalReference": "scryptex", "userReference": account.id.uuidString.lowercased(),
            "workflowDefinition": ["key": key],
        ]
        if !notificationURL.isEmpty { body["callbackUrl"] = notificationURL }
        struct Created: Decodable {
            struct Identified: Decodable { var id: String }
            var account: Identified
            var workflowExecution: Identified
        }
        let created = try await api.send(
            .post, settings.apiURL + "/api/v1/accounts", headers: try await headers(), body: ProviderAPI.json(body),
            answer: Created.self)
        return KYCSubmission(reference: created.workflowExecution.id)
    }

    public func outcome(of notification: KYCNotification) async throws -> KYCOutcome? {
        struct Callback: Decodable {
            struct Identified: Decodable { var id: String }
            var account: Identified
            var workflowExecution: Identified
        }
        guard let callback = try? JSONDecoder().decode(Callback.self, from: Data(notification.body)) else {
            throw ServiceError(.invalidInput, "the body is not a Jumio callback (account.id, workflowExecution.id)")
        }
        let accountID = try ProviderAPI.pathSegment(callback.account.id, field: "account.id", provider: name)
        let executionID = try ProviderAPI.pathSegment(
            callback.workflowExecution.id, field: "workflowExecution.id", provider: name)
        struct Details: Decodable {
            struct Workflow: Decodable {
                var id: String
                var status: String
            }
            struct Decision: Decodable {
                struct Details: Decodable { var label: String? }
                var type: String
                var details: Details?
            }
            var workflow: Workflow
            var decision: Decision?
        }
        let details = try await api.send(
            .get, settings.retrievalURL + "/api/v1/accounts/\(accountID)/workflow-executions/\(executionID)",
            headers: try await headers(), answer: Details.self)
        guard details.workflow.id == executionID else {
            throw ServiceError(
                .upstreamFailed, "jumio answered for workflow execution \(details.workflow.id), not \(executionID)")
        }
        switch details.workflow.status {
        case "PROCESSED":
            let type = details.decision?.type ?? ""
            let detail = "decision \(type)" + (details.decision?.details?.label.map { " (\($0))" } ?? "")
            switch type {
            case "PASSED": return KYCOutcome(reference: executionID, decision: .approved, detail: detail)
            case "REJECTED", "NOT_EXECUTED":
                return KYCOutcome(reference: executionID, decision: .rejected, detail: detail)
            case "WARNING": return KYCOutcome(reference: executionID, decision: .review, detail: detail)
            default:
                throw ServiceError(
                    .upstreamFailed, "jumio's decision '\(type)' is not PASSED, REJECTED, WARNING or NOT_EXECUTED")
            }
        case "SESSION_EXPIRED", "TOKEN_EXPIRED":
            return KYCOutcome(
                reference: executionID, decision: .rejected,
                detail: details.workflow.status.lowercased().replacingOccurrences(of: "_", with: " "))
        default:
            return nil
        }
    }
}
