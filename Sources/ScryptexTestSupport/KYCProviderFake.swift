import Foundation
import ScryptexCore
public import ScryptexCrypto
public import ScryptexHTTP
public import Synchronization

/// A local stand-in for the APIs of Onfido, Sumsub and Jumio, for tests of the KYC adapters:
/// it checks each request's credentials the way the provider does (Onfido's token, Sumsub's
/// request signature and clock, Jumio's OAuth client credentials and bearer token), answers in
/// the provider's documented shapes, records what it was sent and signs notifications as the
/// provider would.
public final class KYCProviderFake: Sendable {
    public let onfidoToken = "onfido-api-token-" + SecureRandom.hexToken(byteCount: 8)
    public let sumsubAppToken = "sbx:" + SecureRandom.hexToken(byteCount: 12)
    public let sumsubSecretKey = SecureRandom.hexToken(byteCount: 16)
    public let jumioClientID = "jumio-client-" + SecureRandom.hexToken(byteCount: 6)
    public let jumioClientSecret = SecureRandom.hexToken(byteCount: 16)
    public let webhookSecret = SecureRandom.hexToken(byteCount: 16)

    /// What a Jumio workflow execution is at, as its retrieval API reports it.
    public struct JumioExecution: Sendable {
        public var account: String
        public var execution: String
        public var callbackURL: String?
        public var userReference: String?
        public var status = "INITIATED"
        public var decision: String?
    }

    public struct Recorded: Sendable {
        /// Bodies of created Onfido workflow runs and Sumsub applicants, by the id answered.
        public var onfidoRuns: [String: String] = [:]
        public var sumsubApplicants: [String: String] = [:]
        public var jumioExecutions: [String: JumioExecution] = [:]
        var onfidoApplicants: Set<String> = []
        var jumioTokens: Set<String> = []
        /// Answer 500 to the next this many API calls (an outage).
        public var failures = 0
        /// Requests refused for their credentials.
        public var refused = 0
    }

    public let recorded = Mutex(Recorded())

    public init() {}

    /// Sets what Jumio reports for an execution.
    public func setJumio(execution: String, status: String, decision: String?) {
        recorded.withLock {
            $0.jumioExecutions[execution]?.status = status
            $0.jumioExecutions[execution]?.decision = decision
        }
    }

    // MARK: - Notifications as the providers sign them

    public func onfidoSignature(_ body: String) -> String {
        Hex.encode(HMAC.code(for: Array(body.utf8), key: Array(webhookSecret.utf8)))
    }

    public func sumsubDigest(_ body: String, _ algorithm: DigestAlgorithm = .sha256) -> String {
        Hex.encode(HMAC.code(for: Array(body.utf8), key: Array(webhookSecret.utf8), using: algorithm))
    }

    // MARK: - The APIs

    public var router: Router {
        var router = Router()
        router.post("/v3.6/applicants") { [self] request, _ in
            guard onfidoAuthorised(request) else { return refuse("onfido") }
            if let failure = failure() { return failure }
            guard let body = Self.object(request.body), body["first_name"] is String, body["last_name"] is String
            else { return .json(#"{"error":{"type":"validation_error"}}"#, status: .unprocessableContent) }
            let id = UUID().uuidString.lowercased()
            recorded.withLock { _ = $0.onfidoApplicants.insert(id) }
            return .json(#"{"id":"\#(id)"}"#, status: .created)
        }
        router.post("/v3.6/workflow_runs") { [self] request, _ in
            guard onfidoAuthorised(request) else { return refuse("onfido") }
            if let failure = failure() { return failure }
            guard let body = Self.object(request.body), body["workflow_id"] is String,
                let applicant = body["applicant_id"] as? String,
                recorded.withLock({ $0.onfidoApplicants.contains(applicant) })
            else { return .json(#"{"error":{"type":"validation_error"}}"#, status: .unprocessableContent) }
            let id = UUID().uuidString.lowercased()
            recorded.withLock { $0.onfidoRuns[id] = String(decoding: request.body, as: UTF8.self) }
            return .json(#"{"id":"\#(id)","status":"awaiting_input"}"#, status: .created)
        }
        router.post("/resources/applicants") { [self] request, _ in
            guard sumsubAuthorised(request) else { return refuse("sumsub") }
            if let failure = failure() { return failure }
            guard request.query?.hasPrefix("levelName=") == true, let body = Self.object(request.body),
                body["externalUserId"] is String
            else { return .json(#"{"description":"bad request","code":400}"#, status: .badRequest) }
            let id = SecureRandom.hexToken(byteCount: 12)
            recorded.withLock { $0.sumsubApplicants[id] = String(decoding: request.body, as: UTF8.self) }
            return .json(#"{"id":"\#(id)","type":"company"}"#, status: .created)
        }
        router.post("/oauth2/token") { [self] request, _ in
            let expected = "Basic " + Data("\(jumioClientID):\(jumioClientSecret)".utf8).base64EncodedString()
            guard request.headers.first("Authorization") == expected,
                String(decoding: request.body, as: UTF8.self) == "grant_type=client_credentials"
            else { return refuse("jumio") }
            let token = SecureRandom.hexToken(byteCount: 16)
            recorded.withLock { _ = $0.jumioTokens.insert(token) }
            return .json(#"{"access_token":"\#(token)","expires_in":3600,"token_type":"Bearer"}"#)
        }
        router.post("/api/v1/accounts") { [self] request, _ in
            guard jumioAuthorised(request) else { return refuse("jumio") }
            if let failure = failure() { return failure }
            guard let body = Self.object(request.body), body["workflowDefinition"] is [String: Any] else {
                return .json(#"{"message":"workflowDefinition is required"}"#, status: .badRequest)
            }
            let account = UUID().uuidString.lowercased()
            let execution = UUID().uuidString.lowercased()
            recorded.withLock {
                $0.jumioExecutions[execution] = JumioExecution(
                    account: account, execution: execution, callbackURL: body["callbackUrl"] as? String,
                    userReference: body["userReference"] as? String)
            }
            return .json(
                #"{"account":{"id":"\#(account)"},"workflowExecution":{"id":"\#(execution)"},"web":{"href":"https://jumio.example/web"}}"#,
                status: .ok)
        }
        router.get("/api/v1/accounts/:account/workflow-executions/:execution") { [self] request, context in
            guard jumioAuthorised(request) else { return refuse("jumio") }
            let account = try context.parameter("account")
            let execution = try context.parameter("execution")
            guard
                let found = recorded.withLock({ $0.jumioExecutions[execution] }),
                found.account == account
            else { return .json(#"{"message":"not found"}"#, status: .notFound) }
            let decision = found.decision.map { #","decision":{"type":"\#($0)","details":{"label":"\#($0)"}}"# } ?? ""
            return .json(
                #"{"workflow":{"id":"\#(found.execution)","status":"\#(found.status)"},"account":{"id":"\#(account)"}\#(decision)}"#
            )
        }
        return router
    }

    func onfidoAuthorised(_ request: HTTPRequest) -> Bool {
        request.headers.first("Authorization") == "Token token=\(onfidoToken)"
    }

    /// Sumsub's rule: the app token, a timestamp within a minute, and the HMAC of timestamp,
    /// method, path with query and body.
    func sumsubAuthorised(_ request: HTTPRequest) -> Bool {
        guard request.headers.first("X-App-Token") == sumsubAppToken,
            let stamp = request.headers.first("X-App-Access-Ts"), let seconds = Int(stamp),
            abs(Double(seconds) - Date().timeIntervalSince1970) < 60,
            let signature = request.headers.first("X-App-Access-Sig")
        else { return false }
        let signed = Array((stamp + request.method.rawValue + request.target).utf8) + request.body
        return signature == Hex.encode(HMAC.code(for: signed, key: Array(sumsubSecretKey.utf8)))
    }

    func jumioAuthorised(_ request: HTTPRequest) -> Bool {
        guard let header = request.headers.first("Authorization"), header.hasPrefix("Bearer ") else { return false }
        let token = String(header.dropFirst(7))
        return recorded.withLock { $0.jumioTokens.contains(token) }
    }

    func refuse(_ provider: String) -> HTTPResponse {
        recorded.withLock { $0.refused += 1 }
        return .json(#"{"error":"\#(provider) refused the credentials"}"#, status: .unauthorized)
    }

    func failure() -> HTTPResponse? {
        recorded.withLock { state in
            guard state.failures > 0 else { return nil }
            state.failures -= 1
            return .json(#"{"error":"internal error"}"#, status: .internalServerError)
        }
    }

    static func object(_ body: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}
