import Foundation
public import ScryptexCore
public import ScryptexCrypto
public import ScryptexHTTP

/// Obtains certificates from an ACME certificate authority (RFC 8555) — Let's Encrypt or any
/// other — proving control of each domain with HTTP-01 challenges.
///
/// ```swift
/// let client = ACMEClient(directoryURL: "https://acme-v02.api.letsencrypt.org/directory", accountKey: key)
/// let issued = try await client.issueCertificate(for: ["desk.acme.example"], publishing: ACMEWebroot(folder: webroot))
/// ```
///
/// Every request is a JWS signed with the account key (ES256); a `badNonce` refusal is retried
/// with the fresh nonce the server sent, as RFC 8555 §6.5 asks.
public struct ACMEClient: Sendable {
    public let directoryURL: String
    public let accountKey: P256SigningKey
    /// `mailto:` contacts for the account (expiry notices).
    public let contacts: [String]
    public let transport: HTTPSClient
    public let logger: Logger
    /// How long to wait for a challenge to be validated and the order to be finished.
    public var validationTimeout: Duration = .seconds(120)

    public init(
        directoryURL: String, accountKey: P256SigningKey, contacts: [String] = [],
        transport: HTTPSClient = HTTPSClient(),
        logger: Logger = Logger(label: "scryptex.acme")
    ) {
        self.directoryURL = directoryURL
        self.accountKey = accountKey
        self.contacts = contacts
        self.transport = transport
        self.logger = logger
    }

    /// A certificate the authority issued, with the private key made for it.
    public struct IssuedCertificate: Sendable {
        /// The leaf certificate first, then the intermediates, PEM.
        public var certificateChainPEM: String
        /// Secret: write it with mode 0600 and never log it.
        public var privateKeyPEM: String
    }

    /// Orders a certificate for `domains` (the first is the subject), answers each domain's
    /// HTTP-01 challenge through `challenges`, and returns the issued chain.
    public func issueCertificate(
        for domains: [String], publishing challenges: some ACMEChallengePublisher
    ) async throws -> IssuedCertificate {
        guard !domains.isEmpty else { throw ACMEError("no domain to order a certificate for") }
        var session = try await Session(client: self)
        let accountURL = try await session.account()
        let (orderURL, order) = try await session.newOrder(domains: domains, account: accountURL)
        logger.info("ACME order created", ["order": orderURL, "domains": domains.joined(separator: ",")])
        var published: [String] = []
        do {
            let issued = try await answerAndFinalize(
                order, for: domains, orderURL: orderURL, session: &session, account: accountURL,
                challenges: challenges, published: &published)
            for token in published { await challenges.remove(token: token) }
            return issued
        } catch {
            for token in published { await challenges.remove(token: token) }
            throw error
        }
    }

    private func answerAndFinalize(
        _ order: Order, for domains: [String], orderURL: String, session: inout Session, account accountURL: String,
        challenges: some ACMEChallengePublisher, published: inout [String]
    ) async throws -> IssuedCertificate {
        for authorizationURL in order.authorizations {
            let authorization: Authorization = try await session.fetch(authorizationURL, account: accountURL)
            if authorization.status == "valid" { continue }
            guard let challenge = authorization.challenges.first(where: { $0.type == "http-01" }),
                let token = challenge.token
            else {
                throw ACMEError("the authority offers no http-01 challenge for \(authorization.identifier.value)")
            }
            guard ACMEToken.isValid(token) else { throw ACMEError("the authority sent a malformed challenge token") }
            try await challenges.publish(token: token, keyAuthorization: token + "." + accountKey.thumbprint)
            published.append(token)
            let _: Challenge = try await session.post(challenge.url, payload: "{}", account: accountURL)
            try await session.waitForValid(authorizationURL, account: accountURL, timeout: validationTimeout)
            logger.info("ACME challenge validated", ["domain": authorization.identifier.value])
        }
        let certificateKey = try CertificateFactory.makePrivateKeyPEM(.ecdsaP256)
        let request = try CertificateFactory.makeSigningRequest(domains: domains, privateKeyPEM: certificateKey)
        let _: Order = try await session.post(
            order.finalize, payload: #"{"csr":"\#(Base64URL.encode(request))"}"#, account: accountURL)
        let certificateURL = try await session.waitForCertificate(
            orderURL, account: accountURL, timeout: validationTimeout)
        let chain = try await session.download(certificateURL, account: accountURL)
        guard chain.contains("-----BEGIN CERTIFICATE-----") else {
            throw ACMEError("the authority's certificate download is not a PEM certificate chain")
        }
        return IssuedCertificate(certificateChainPEM: chain, privateKeyPEM: certificateKey)
    }

}

/// HTTP-01 challenge tokens: base64url, at most 256 characters (RFC 8555 §8.3) — nothing that
/// could name another file when a token becomes a file name.
public enum ACMEToken {
    public static func isValid(_ token: some StringProtocol) -> Bool {
        (1...256).contains(token.utf8.count)
            && token.utf8.allSatisfy { byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
    }
}

/// Puts HTTP-01 key authorizations where the authority will fetch them:
/// `http://<domain>/.well-known/acme-challenge/<token>`.
public protocol ACMEChallengePublisher: Sendable {
    func publish(token: String, keyAuthorization: String) async throws
    func remove(token: String) async
}

/// Publishes challenges as files in a webroot (`<folder>/.well-known/acme-challenge/<token>`),
/// the layout the host's HTTP port serves.
public struct ACMEWebroot: ACMEChallengePublisher {
    public let folder: String

    public init(folder: String) { self.folder = folder }

    private var challengeFolder: String { folder + "/.well-known/acme-challenge" }

    public func publish(token: String, keyAuthorization: String) throws {
        try FileManager.default.createDirectory(atPath: challengeFolder, withIntermediateDirectories: true)
        try Data(keyAuthorization.utf8).write(to: URL(fileURLWithPath: challengeFolder + "/" + token), options: .atomic)
    }

    public func remove(token: String) {
        try? FileManager.default.removeItem(atPath: challengeFolder + "/" + token)
    }
}

/// What went wrong talking to the authority; carries the authority's problem document when it
/// sent one (RFC 8555 §6.7).
public struct ACMEError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The problem type, e.g. `urn:ietf:params:acme:error:badNonce`.
    public var problemType: String?

    public init(_ message: String, problemType: String? = nil) {
        self.message = message
        self.problemType = problemType
    }

    public var description: String { message }
}

// MARK: The protocol's objects

struct Directory: Decodable {
    var newNonce: String
    var newAccount: String
    var newOrder: String
}

struct Identifier: Decodable {
    var type: String
    var value: String
}

struct Order: Decodable {
    var status: String
    var authorizations: [String]
    var finalize: String
    var certificate: String?
    var error: Problem?
}

struct Authorization: Decodable {
    var status: String
    var identifier: Identifier
    var challenges: [Challenge]
}

struct Challenge: Decodable {
    var type: String
    var url: String
    var status: String
    var token: String?
    var error: Problem?
}

struct Problem: Decodable {
    var type: String?
    var detail: String?
}

struct Account: Decodable {
    var status: String
}

/// One conversation with the authority: the directory and the latest nonce.
private struct Session {
    let client: ACMEClient
    let directory: Directory
    var nonce: String?

    init(client: ACMEClient) async throws {
        self.client = client
        let response = try await client.transport.send(.get, client.directoryURL)
        guard response.status == 200 else {
            throw ACMEError("the ACME directory \(client.directoryURL) answered \(response.status)")
        }
        do {
            directory = try JSONDecoder().decode(Directory.self, from: Data(response.body))
        } catch {
            throw ACMEError("the ACME directory \(client.directoryURL) is not an ACME directory")
        }
    }

    /// The account URL for the key, registering the account if it is new.
    mutating func account() async throws -> String {
        var payload = #"{"termsOfServiceAgreed":true"#
        if !client.contacts.isEmpty {
            payload += #","contact":["# + client.contacts.map { JSONString.quoted($0) }.joined(separator: ",") + "]"
        }
        payload += "}"
        let response = try await signedPost(directory.newAccount, payload: payload, account: nil)
        guard let location = response.headers.first("location") else {
            throw ACMEError("the authority created an account but did not say where it is")
        }
        let account: Account = try Self.decode(response)
        guard account.status == "valid" else { throw ACMEError("the ACME account is \(account.status)") }
        return location
    }

    mutating func newOrder(domains: [String], account: String) async throws -> (String, Order) {
        let identifiers = domains.map { #"{"type":"dns","value":\#(JSONString.quoted($0))}"# }.joined(separator: ",")
        let response = try await signedPost(
            directory.newOrder, payload: #"{"identifiers":[\#(identifiers)]}"#, account: account)
        guard let location = response.headers.first("location") else {
            throw ACMEError("the authority created an order but did not say where it is")
        }
        return (location, try Self.decode(response))
    }

    /// POST-as-GET (RFC 8555 §6.3).
    mutating func fetch<Object: Decodable>(_ url: String, account: String) async throws -> Object {
        try Self.decode(try await signedPost(url, payload: "", account: account))
    }

    mutating func post<Object: Decodable>(_ url: String, payload: String, account: String) async throws -> Object {
        try Self.decode(try await signedPost(url, payload: payload, account: account))
    }

    mutating func waitForValid(_ authorizationURL: String, account: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let authorization: Authorization = try await fetch(authorizationURL, account: account)
            switch authorization.status {
            case "valid":
                return
            case "pending", "processing":
                guard ContinuousClock.now < deadline else {
                    throw ACMEError("the authority did not validate \(authorization.identifier.value) in time")
                }
                try await Task.sleep(for: .milliseconds(500))
            default:
                let reason = authorization.challenges.compactMap { $0.error?.detail }.first ?? authorization.status
                throw ACMEError(
                    "the authority refused the challenge for \(authorization.identifier.value): \(reason)",
                    problemType: authorization.challenges.compactMap { $0.error?.type }.first)
            }
        }
    }

    mutating func waitForCertificate(_ orderURL: String, account: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let order: Order = try await fetch(orderURL, account: account)
            switch order.status {
            case "valid":
                guard let certificate = order.certificate else {
                    throw ACMEError("the order is valid but names no certificate")
                }
                return certificate
            case "pending", "ready", "processing":
                guard ContinuousClock.now < deadline else { throw ACMEError("the order was not finished in time") }
                try await Task.sleep(for: .milliseconds(500))
            default:
                throw ACMEError(
                    "the order is \(order.status): \(order.error?.detail ?? "no reason given")",
                    problemType: order.error?.type)
            }
        }
    }

    mutating func download(_ url: String, account: String) async throws -> String {
        let response = try await signedPost(
            url, payload: "", account: account, accept: "application/pem-certificate-chain")
        return String(decoding: response.body, as: UTF8.self)
    }

    /// A JWS-signed POST; retries a `badNonce` refusal up to three times.
    private mutating func signedPost(
        _ url: String, payload: String, account: String?, accept: String? = nil
    ) async throws -> HTTPSClient.Response {
        var attempt = 0
        while true {
            attempt += 1
            let nonce = try await takeNonce()
            let body = try JWS.sign(payload: payload, url: url, nonce: nonce, account: account, key: client.accountKey)
            var headers = [("Content-Type", "application/jose+json")]
            if let accept { headers.append(("Accept", accept)) }
            let response = try await client.transport.send(.post, url, headers: headers, body: Array(body.utf8))
            self.nonce = response.headers.first("replay-nonce")
            if (200..<300).contains(response.status) { return response }
            let problem = try? JSONDecoder().decode(Problem.self, from: Data(response.body))
            if problem?.type == "urn:ietf:params:acme:error:badNonce" && attempt < 4 { continue }
            throw ACMEError(
                "the authority answered \(response.status) to \(url): \(problem?.detail ?? "no detail")",
                problemType: problem?.type)
        }
    }

    private mutating func takeNonce() async throws -> String {
        if let nonce {
            self.nonce = nil
            return nonce
        }
        let response = try await client.transport.send(.head, directory.newNonce)
        guard let nonce = response.headers.first("replay-nonce") else {
            throw ACMEError("the authority sent no Replay-Nonce")
        }
        return nonce
    }

    private static func decode<Object: Decodable>(_ response: HTTPSClient.Response) throws -> Object {
        do {
            return try JSONDecoder().decode(Object.self, from: Data(response.body))
        } catch {
            throw ACMEError("the authority's answer is not the expected \(Object.self) object")
        }
    }
}

/// JSON Web Signatures in the flattened JSON form ACME uses (RFC 7515 §7.2.2, RFC 8555 §6.2).
enum JWS {
    /// - Parameter account: The account URL (`kid`); nil sends the public key itself (`jwk`),
    ///   as a new-account request must.
    static func sign(
        payload: String, url: String, nonce: String, account: String?, key: P256SigningKey
    ) throws -> String {
        let keyMember = account.map { #""kid":\#(JSONString.quoted($0))"# } ?? #""jwk":\#(key.jsonWebKey)"#
        let protected =
            #"{"alg":"ES256",\#(keyMember),"nonce":\#(JSONString.quoted(nonce)),"url":\#(JSONString.quoted(url))}"#
        let protected64 = Base64URL.encode(Array(protected.utf8))
        let payload64 = Base64URL.encode(Array(payload.utf8))
        let signature = try key.sign(Array((protected64 + "." + payload64).utf8))
        return
            #"{"protected":"\#(protected64)","payload":"\#(payload64)","signature":"\#(Base64URL.encode(signature))"}"#
    }
}
