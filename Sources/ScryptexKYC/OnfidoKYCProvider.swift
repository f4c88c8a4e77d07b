import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional

/// Onfido (API v3.6, Studio workflows). A submission creates an applicant for the account's
/// legal entity and runs the configured workflow on it, the account's details in the run's
/// `custom_data`; the reference is the workflow run's id. Onfido signs each webhook with the
/// webhook's token: `X-SHA2-Signature` is the hexadecimal HMAC-SHA256 of the exact body.
/// `workflow_run.completed` carries the outcome: `approved`, `declined` (and `abandoned`) reject,
/// `review` and `error` go to the compliance officers.
public struct OnfidoKYCProvider: KYCProvider {
    let settings: KYCProviderSettings
    let api: ProviderAPI

    public init(settings: KYCProviderSettings) {
        self.settings = settings
        api = ProviderAPI(provider: "onfido", trustedCertificatesFile: settings.trustedCertificatesFile)
    }

    public var name: String { "onfido" }

    var headers: [(String, String)] {
        [("Authorization", "Token token=\(settings.apiToken)"), ("Content-Type", "application/json")]
    }

    public func submit(_ account: InstitutionalAccount, notificationURL: String) async throws -> KYCSubmission {
        struct Created: Decodable { var id: String }
        let applicant = try await api.send(
            .post, settings.apiURL + "/v3.6/applicants", headers: headers,
            body: ProviderAPI.json(["first_name": account.legalName, "last_name": "(legal entity)"]),
            answer: Created.self)
        let run = try await api.send(
            .post, settings.apiURL + "/v3.6/workflow_runs", headers: headers,
            body: ProviderAPI.json([
                "workflow_id": settings.workflow, "applicant_id": applicant.id,
                "custom_data": [
                    "legal_name": account.legalName, "jurisdiction": account.jurisdiction,
                    "account_type": account.accountType.rawValue,
                    "scryptex_account_id": account.id.uuidString.lowercased(),
                ],
            ]),
            answer: Created.self)
        return KYCSubmission(reference: run.id)
    }

    public func outcome(of notification: KYCNotification) async throws -> KYCOutcome? {
        try ProviderAPI.requireSignature(
            notification.header("X-SHA2-Signature"), header: "X-SHA2-Signature",
            expected: HMAC.code(for: notification.body, key: Array(settings.webhookSecret.utf8)), provider: name)
        struct Event: Decodable {
            struct Payload: Decodable {
                struct Object: Decodable {
                    var id: String
                    var status: String?
                }
                var resourceType: String
                var action: String
                var object: Object
                enum CodingKeys: String, CodingKey {
                    case resourceType = "resource_type"
                    case action, object
                }
            }
            var payload: Payload
        }
        guard let event = try? JSONDecoder().decode(Event.self, from: Data(notification.body)) else {
            throw ServiceError(
                .invalidInput, "the body is not an Onfido webhook event (payload.resource_type, action, object)")
        }
        guard event.payload.resourceType == "workflow_run", event.payload.action == "workflow_run.completed" else {
            return nil
        }
        let status = event.payload.object.status ?? ""
        let decision: KYCOutcome.Decision
        switch status {
        case "approved": decision = .approved
        case "declined", "abandoned": decision = .rejected
        case "review", "error": decision = .review
        default:
            throw ServiceError(
                .invalidInput,
                "field 'payload.object.status': '\(status)' is not a completed Onfido workflow run's status")
        }
        return KYCOutcome(reference: event.payload.object.id, decision: decision, detail: "workflow run \(status)")
    }
}
