import ScryptexCore

/// An error that has an HTTP answer. Handlers throw these; the server turns them into RFC 9457
/// problem details (`application/problem+json`) with a stable `type`.
public protocol HTTPResponseError: Error {
    var status: HTTPStatus { get }
    /// A stable identifier of the problem kind, such as `not-found` or `invalid-body`.
    var problemType: String { get }
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
    public var problemType: String
    public var detail: String
    public var extraHeaders: [String: String]

    public init(_ status: HTTPStatus, type: String, detail: String, headers: [String: String] = [:]) {
        self.status = status
        self.problemType = type
        self.detail = detail
        self.extraHeaders = headers
    }

    public var headers: HTTPHeaders { HTTPHeaders(extraHeaders.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) }

    public var description: String { "\(status.code) \(problemType): \(detail)" }

    public static func notFound(_ detail: String = "no resource at this address") -> HTTPProblem {
        HTTPProblem(.notFound, type: "not-found", detail: detail)
    }

    public static func badRequest(_ detail: String, type: String = "bad-request") -> HTTPProblem {
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
        type: String,
        detail: String,
        requestID: String?,
        headers: HTTPHeaders = HTTPHeaders()
    ) -> HTTPResponse {
        var body = "{\"type\":" + JSONString.quoted(typeBase + type) + ",\"title\":" + JSONString.quoted(status.reason)
        body += ",\"status\":\(status.code),\"detail\":" + JSONString.quoted(detail)
        if let requestID { body += ",\"instance\":" + JSONString.quoted("urn:scryptex:request:" + requestID) }
        body += "}"
        var response = HTTPResponse(status: status, contentType: "application/problem+json", body: Array(body.utf8))
        for field in headers { response.headers.add(name: field.name, value: field.value) }
        return response
    }
}
