import Synchronization

/// An HTTP request method (RFC 9110 §9): a token, compared case-sensitively.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH")
    public static let delete = HTTPMethod(rawValue: "DELETE")
    public static let options = HTTPMethod(rawValue: "OPTIONS")

    public var description: String { rawValue }
}

/// An HTTP response status code with its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    public let code: Int
    public let reason: String

    public init(code: Int, reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let `continue` = HTTPStatus(code: 100, reason: "Continue")
    public static let ok = HTTPStatus(code: 200, reason: "OK")
    public static let created = HTTPStatus(code: 201, reason: "Created")
    public static let accepted = HTTPStatus(code: 202, reason: "Accepted")
    public static let noContent = HTTPStatus(code: 204, reason: "No Content")
    public static let seeOther = HTTPStatus(code: 303, reason: "See Other")
    public static let permanentRedirect = HTTPStatus(code: 308, reason: "Permanent Redirect")
    public static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    public static let unauthorized = HTTPStatus(code: 401, reason: "Unauthorized")
    public static let forbidden = HTTPStatus(code: 403, reason: "Forbidden")
    public static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    public static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(code: 408, reason: "Request Timeout")
    public static let conflict = HTTPStatus(code: 409, reason: "Conflict")
    public static let gone = HTTPStatus(code: 410, reason: "Gone")
    public static let contentTooLarge = HTTPStatus(code: 413, reason: "Content Too Large")
    public static let uriTooLong = HTTPStatus(code: 414, reason: "URI Too Long")
    public static let unsupportedMediaType = HTTPStatus(code: 415, reason: "Unsupported Media Type")
    public static let expectationFailed = HTTPStatus(code: 417, reason: "Expectation Failed")
    public static let misdirectedRequest = HTTPStatus(code: 421, reason: "Misdirected Request")
    public static let unprocessableContent = HTTPStatus(code: 422, reason: "Unprocessable Content")
    public static let tooManyRequests = HTTPStatus(code: 429, reason: "Too Many Requests")
    public static let requestHeaderFieldsTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    public static let internalServerError = HTTPStatus(code: 500, reason: "Internal Server Error")
    public static let notImplemented = HTTPStatus(code: 501, reason: "Not Implemented")
    public static let badGateway = HTTPStatus(code: 502, reason: "Bad Gateway")
    public static let serviceUnavailable = HTTPStatus(code: 503, reason: "Service Unavailable")
    public static let httpVersionNotSupported = HTTPStatus(code: 505, reason: "HTTP Version Not Supported")

    public var description: String { "\(code) \(reason)" }
}

/// Header fields in the order received. Lookups ignore case, as field names do (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public mutating func add(name: String, value: String) {
        fields.append((name, value))
    }

    /// Replaces every field of that name with one field.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        fields.append((name, value))
    }

    public mutating func remove(name: String) {
        fields.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// Every value of the named field, in order.
    public subscript(name: String) -> [String] {
        var values: [String] = []
        for field in fields where field.name.equalsIgnoringASCIICase(name) { values.append(field.value) }
        return values
    }

    /// The first value of the named field.
    public func first(_ name: String) -> String? {
        for field in fields where field.name.equalsIgnoringASCIICase(name) { return field.value }
        return nil
    }

    public func contains(_ name: String) -> Bool { first(name) != nil }

    /// How many fields have this name (without collecting their values).
    public func count(of name: String) -> Int {
        var count = 0
        for field in fields where field.name.equalsIgnoringASCIICase(name) { count += 1 }
        return count
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

/// A complete request: head and body.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent (origin form: path and query).
    public var target: String {
        didSet { (path, query) = Self.split(target) }
    }
    /// The path part of the target, without the query.
    public private(set) var path: Substring
    /// The query part of the target, without the `?`.
    public private(set) var query: Substring?
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(
        method: HTTPMethod, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = []
    ) {
        self.method = method
        self.target = target
        (path, query) = Self.split(target)
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
    }

    private static func split(_ target: String) -> (Substring, Substring?) {
        guard let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (Substring(target), nil) }
        return (target[..<question], target[target.index(after: question)...])
    }

    /// Whether the client wants the connection kept open after this request.
    public var keepAlive: Bool {
        let connection = headers["connection"].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingSpaces.lowercasedASCII
        }
        if connection.contains("close") { return false }
        return versionMinor >= 1 || connection.contains("keep-alive")
    }

    /// The `Host` header without port or trailing dot, lowercased.
    public var hostName: String? {
        guard var host = headers.first("host")?.lowercasedASCII, !host.isEmpty else { return nil }
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = String(host[...close]) }
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}

/// A response to write.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Produces the body piece by piece instead of `body`: sent with chunked transfer coding,
    /// each write waiting while the client reads slower than the producer writes, so a large
    /// body (an export) never has to be held in memory.
    public var bodyProducer: HTTPBodyProducer?
    /// A streamed body with no natural end (Server-Sent Events): when the client's side of the
    /// connection ends, the producer is stopped and the connection closed at once, instead of
    /// letting the body run on to an end that never comes (a client that closed its socket is
    /// otherwise noticed only when a write fails).
    public var isOpenEnded = false

    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a body and its content type. An HTML page also gets a content security
    /// policy that runs no script, loads styles only inline and images only from HTTPS, may not
    /// be framed by another site (clickjacking), and is never sniffed as another type.
    public init(status: HTTPStatus, contentType: String, body: some Collection<UInt8>) {
        self.status = status
        if contentType.hasPrefix("text/html") {
            self.headers = HTTPHeaders([
                ("Content-Type", contentType), ("Content-Security-Policy", Self.pageSecurityPolicy),
                ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
            ])
        } else {
            self.headers = HTTPHeaders([("Content-Type", contentType)])
        }
        self.body = Array(body)
    }

    /// A response whose body `producer` writes as it goes; `openEnded` for a stream that runs
    /// until the client leaves (see `isOpenEnded`).
    public static func streaming(
        status: HTTPStatus = .ok, contentType: String, openEnded: Bool = false,
        producer: @escaping HTTPBodyProducer
    ) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: contentType, body: [])
        response.bodyProducer = producer
        response.isOpenEnded = openEnded
        return response
    }

    /// The whole body: `body`, or everything the producer writes (for tests and small bodies).
    public func collectedBody() async throws -> [UInt8] {
        guard let bodyProducer else { return body }
        let collector = CollectingBodyWriter()
        try await bodyProducer(collector)
        return collector.bytes.withLock { $0 }
    }

    /// The policy of server-rendered pages.
    public static let pageSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none';"
        + " base-uri 'none'; form-action 'self'"
}

extension String {
    /// Compares ASCII case-insensitively without allocating (header names are ASCII).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        // Most header names differ in length: decided without looking at a byte.
        guard utf8.count == other.utf8.count else { return false }
        var left = utf8.makeIterator()
        var right = other.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let a?, let b?):
                if a != b && (a | 0x20 != b | 0x20 || !((UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20))) {
                    return false
                }
            default: return false
            }
        }
    }
}

extension StringProtocol {
    /// ASCII-only lowercasing: header names and tokens are ASCII, and this skips Unicode tables.
    var lowercasedASCII: String {
        String(
            decoding: utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return view
    }
}

/// Writes the body of a streamed response.
public protocol HTTPBodyWriter: Sendable {
    /// Sends `bytes` as the next part of the body; returns once the connection can take more.
    /// - Throws: When the client has gone away.
    func write(_ bytes: [UInt8]) async throws
}

/// Writes a response body through a writer; a thrown error ends the connection, since the
/// status line has already been sent.
public typealias HTTPBodyProducer = @Sendable (any HTTPBodyWriter) async throws -> Void

/// Keeps what is written, in memory.
final class CollectingBodyWriter: HTTPBodyWriter {
    let bytes = Mutex<[UInt8]>([])

    func write(_ bytes: [UInt8]) async throws {
        self.bytes.withLock { $0.append(contentsOf: bytes) }
    }
}
