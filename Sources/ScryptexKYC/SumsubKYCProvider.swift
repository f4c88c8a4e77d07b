public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional

/// Sumsub. A submission creates a company applicant at the configured verification level, the
/// account's id as `externalUserId`; the reference is the applicant's id. Every API request is
/// signed: `X-App-Access-Sig` is the hexadecimal HMAC-SHA256, under the secret key, of the
/// timestamp, the method, the path with its query and the body. Sumsub signs each webhook with
/// the webhook's secret: `X-Payload-Digest` is the hexadecimal HMAC of the exact body, its digest
/// named by `X-Payload-Digest-Alg` (`HMAC_SHA1_HEX`, `HMAC_SHA256_HEX`, `HMAC_SHA512_HEX`).
/// `applicantReviewed` carries the outcome (`GREEN` approves, `RED` rejects, with its labels);
/// `applicantOnHold` goes to the compliance officers.
public struct SumsubKYCProvider: KYCProvider {
    let settings: KYCProviderSettings
    let api: ProviderAPI
    /// The clock of request signatures (Sumsub refuses one more than a minute or so off).
    let now: @Sendable () -> Date

    public init(settings: KYCProviderSettings, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.now = now
        api = ProviderAPI(provider: "sumsub", trustedCertificatesFile: settings.trustedCertificatesFile)
    }

    public var name: String { "sumsub" }

    /// The headers that authenticate a request: the app token, the time and the signature.
    public static func signedHeaders(
        method: String, pathAndQuery: String, body: [UInt8], appToken: String, secretKey: String, time: Date
    ) -> [(String, String)] {
        let timestamp = String(Int(time.timeIntervalSince1970))
        let signed = Array((timestamp + method + pathAndQuery).utf8) + body
        return [
            ("X-App-Token", appToken), ("X-App-Access-Ts", timestamp),
            ("X-App-Access-Sig", Hex.encode(HMAC.code(for: signed, key: Array(secretKey.utf8)))),
        ]
    }

    public func submit(_ account: InstitutionalAccount, notificationURL: String) async throws -> KYCSubmission {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        let level = settings.workflow.addingPercentEncoding(withAllowedCharacters: allowed) ?? settings.workflow
        let pathAndQuery = "/resources/applicants?levelName=\(level)"
        let body = ProviderAPI.json([
            "externalUserId": account.id.uuidString.lowercased(), "type": "company",
            "info": ["companyInfo": ["companyName": account.legalName]],
        ])
        let headers =
            Self.signedHeaders(
                method: "POST", pathAndQuery: pathAndQuery, body: body, appToken: settings.apiToken,
                secretKey: settings.apiSecret, time: now())
            + [("Content-Type", "application/json"), ("Accept", "application/json")]
        struct Created: Decodable { var id: String }
        let applicant = try await api.send(
            .post, settings.apiURL + pathAndQuery, headers: headers, body: body, answer: Created.self)
        return KYCSubmission(reference: applicant.id)
    }

    public func outcome(of notification: KYCNotification) async throws -> KYCOutcome? {
        let algorithm: DigestAlgorithm
        switch notification.header("X-Payload-Digest-Alg") ?? "HMAC_SHA256_HEX" {
        case "HMAC_SHA1_HEX": algorithm = .sha1
        case "HMAC_SHA256_HEX": algorithm = .sha256
        case "HMAC_SHA512_HEX": algorithm = .sha512
        case let other:
            throw ServiceError(
                .unauthenticated,
                "X-Payload-Digest-Alg '\(other.prefix(40))' is not one of HMAC_SHA1_HEX, HMAC_SHA256_HEX, HMAC_SHA512_HEX"
            )
        }
        try ProviderAPI.requireSignature(
            notification.header("X-Payload-Digest"), header: "X-Payload-Digest",
            expected: HMAC.code(for: notification.body, key: Array(settings.webhookSecret.utf8), using: algorithm),
            provider: name)
        struct Event: Decodable {
            struct Review: Decodable {
                var reviewAnswer: String?
                var reviewRejectType: String?
                var rejectLabels: [String]?
            }
            var applicantId: String
            var type: String
            var reviewResult: Review?
        }
        guard let event = try? JSONDecoder().decode(Event.self, from: Data(notification.body)) else {
            throw ServiceError(.invalidInput, "the body is not a Sumsub webhook (applicantId, type)")
        }
        switch event.type {
        case "applicantReviewed":
            let review = event.reviewResult
            switch review?.reviewAnswer {
            case "GREEN":
                return KYCOutcome(reference: event.applicantId, decision: .approved, detail: "review GREEN")
            case "RED":
                var detail = "review RED"
                if let kind = review?.reviewRejectType { detail += " (\(kind))" }
                if let labels = review?.rejectLabels, !labels.isEmpty {
                    detail += ": " + labels.joined(separator: ", ")
                }
                return KYCOutcome(reference: event.applicantId, decision: .rejected, detail: detail)
            case let other:
                throw ServiceError(
                    .invalidInput, "field 'reviewResult.reviewAnswer': '\(other ?? "")' is not GREEN or RED")
            }
        case "applicantOnHold":
            return KYCOutcome(reference: event.applicantId, decision: .review, detail: "on hold")
        default:
            return nil
        }
    }
}
