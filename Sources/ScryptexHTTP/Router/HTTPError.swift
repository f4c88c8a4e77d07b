import ScryptexCore

/// An error that has an HTTP answer. Handlers throw these; the server turns them into RFC 9457
/// problem details (`application/problem+json`) with a stable `type`.
public protocol HTTPResponseError: Error {
    var status: HTTPStatus { get }
    /// The kind of problem, stable across releases, such as `.notFound` or `.invalidBody`.
    var problemType: ProblemType { get }
    /// A human-readable explanation of this occurrence; never SQL, stack traces or secrets.
    var detail: String { get }
    /// Extra response headers, such as `Allow` or `Retry-After`.
    var headers: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var headers: HTTPHeaders { HTTPHeaders() }
}

/// A problem with a status, a type and a detail.
public struct HTTPProblem: HTTPResponseError, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPStatus
    public var problemType: ProblemType
    public var detail: String
    public var extraHeaders: [String: String]

    public init(_ status: HTTPStatus, type: ProblemType, detail: String, headers: [String: String] = [:]) {
        self.status = status
        self.problemType = type
        self.detail = detail
        self.extraHeaders = headers
    }

    public var headers: HTTPHeaders { HTTPHeaders(extraHeaders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }

    public var description: String { "\(status.code) \(problemType): \(detail)" }

    public static func notFound(_ detail: String = "no resource at this address") -> HTTPProblem {
        HTTPProblem(.notFound, type: .notFound, detail: detail)
    }

    public static func badRequest(_ detail: String, type: ProblemType = .badRequest) -> HTTPProblem {
        HTTPProblem(.badRequest, type: type, detail: detail)
    }
}

/// Renders problem details.
public enum ProblemDetails {
    /// The base of every problem `type` URI.
    public static let typeBase = "https://scryptex.dev/problems/"

    public static func response(for error: any HTTPResponseError, requestID: String?) -> HTTPResponse {
        response(
            status: error.status, type: error.problemType, detail: error.detail, requestID: requestID,
            headers: error.headers)
    }

    public static func response(
        status: HTTPStatus,
        type: ProblemType,
        detail: String,
        requestID: String?,
        headers: HTTPHeaders = HTTPHeaders()
    ) -> HTTPResponse {
        var body =
            "{\"type\":" + JSONString.quoted(typeBase + type.name) + ",\"title\":" + JSONString.quoted(status.reason)
        body += ",\"status\":\(status.code),\"detail\":" + JSONString.quoted(detail)
        if let requestID { body += ",\"instance\":" + JSONString.quoted("urn:scryptex:request:" + requestID) }
        body += "}"
        var response = HTTPResponse(status: status, contentType: "application/problem+json", body: Array(body.utf8))
        for field in headers { response.headers.add(name: field.name, value: field.value) }
        return response
    }
}

/// A kind of problem: the last segment of an RFC 9457 `type` URI
/// (`https://scryptex.dev/problems/<name>`). Clients branch on it, so a name never changes once
/// released; every kind the host answers with is declared once, here, and listed in
/// docs/ARCHITECTURE.md ("Errors").
public struct ProblemType: Hashable, Sendable, CustomStringConvertible {
    /// The URI's last segment, such as `invalid-field`.
    public let name: String

    /// A kind of problem not among the constants below (declare new kinds as constants).
    public init(_ name: String) {
        self.name = name
    }

    public var description: String { name }

    // The request itself.
    /// The request could not be parsed as HTTP (the status says how: 400, 413, 431, 505).
    public static let malformedRequest = ProblemType("malformed-request")
    /// A bad request that fits no narrower kind.
    public static let badRequest = ProblemType("bad-request")
    /// The body is not the JSON document the route expects (empty, malformed, wrong shape).
    public static let invalidBody = ProblemType("invalid-body")
    /// A field, query or path parameter breaks its rule; the detail names it.
    public static let invalidField = ProblemType("invalid-field")
    /// The body is not `application/json` where a JSON document is expected.
    public static let unsupportedMediaType = ProblemType("unsupported-media-type")
    /// No `Host` header, or one that is not a host name.
    public static let missingHost = ProblemType("missing-host")
    /// The TLS server name and the `Host` header name different tenants (421).
    public static let misdirectedRequest = ProblemType("misdirected-request")

    // Routing and access.
    public static let notFound = ProblemType("not-found")
    public static let methodNotAllowed = ProblemType("method-not-allowed")
    /// No credential, or one that is not valid (401).
    public static let unauthenticated = ProblemType("unauthenticated")
    /// The caller may not do this (403).
    public static let forbidden = ProblemType("forbidden")
    /// A page's form came without its anti-forgery token, or with another session's (403).
    public static let invalidFormToken = ProblemType("invalid-form-token")
    /// The feature is switched off for this tenant or not in its plan (403).
    public static let featureDisabled = ProblemType("feature-disabled")
    /// Too many requests for the credential, the tenant or the client (429, with `Retry-After`).
    public static let rateLimited = ProblemType("rate-limited")
    /// The request clashes with what is stored (409).
    public static let conflict = ProblemType("conflict")

    // The host's state.
    /// The tenant is suspended or being moved (503).
    public static let tenantUnavailable = ProblemType("tenant-unavailable")
    /// The database cannot be reached or is overloaded (503, with `Retry-After`).
    public static let databaseUnavailable = ProblemType("database-unavailable")
    /// A service across the network the request relies on (a KYC provider) failed (502).
    public static let upstreamFailed = ProblemType("upstream-failed")
    /// Something the request needs is not ready yet: the host (503 on /readyz) or a report (409).
    public static let notReady = ProblemType("not-ready")
    /// An unexpected failure; the detail says nothing more (500).
    public static let internalError = ProblemType("internal-error")
}
