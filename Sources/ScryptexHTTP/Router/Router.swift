public import ScryptexCore

/// What a handler knows about the request beyond the request itself.
///
/// A context is passed by value through every middleware and handler, several copies per
/// request: what the server sets once (request id, logger, TLS name, peer) sits in one shared,
/// immutable object, so a copy retains one reference instead of eight.
public struct RequestContext: Sendable {
    private final class Origin: Sendable {
        let requestID: String
        let logger: Logger
        let serverName: String?
        let isSecure: Bool
        let remoteAddress: String

        init(requestID: String, logger: Logger, serverName: String?, isSecure: Bool, remoteAddress: String) {
            self.requestID = requestID
            self.logger = logger
            self.serverName = serverName
            self.isSecure = isSecure
            self.remoteAddress = remoteAddress
        }
    }

    private let origin: Origin
    /// Path parameters by name (`:id` in `/accounts/:id`), percent-decoded.
    public var parameters: [String: String] = [:]
    // Inlinable (with its storage) so that the typed subscript is specialized where a key is
    // used, instead of looking up generic metadata at run time on every request.
    @usableFromInline var values: [ObjectIdentifier: any Sendable] = [:]

    public init(requestID: String, logger: Logger, serverName: String? = nil, isSecure: Bool, remoteAddress: String) {
        origin = Origin(
            requestID: requestID, logger: logger, serverName: serverName, isSecure: isSecure,
            remoteAddress: remoteAddress)
    }

    /// A unique id for this request, echoed in `X-Request-Id` and problem details.
    public var requestID: String { origin.requestID }
    public var logger: Logger { origin.logger }
    /// The TLS server name the client asked for (SNI), if the connection is TLS.
    public var serverName: String? { origin.serverName }
    public var isSecure: Bool { origin.isSecure }
    public var remoteAddress: String { origin.remoteAddress }

    /// Values that middleware attaches for later stages (the resolved tenant, the principal).
    @inlinable
    public subscript<Key: RequestContextKey>(key: Key.Type) -> Key.Value? {
        get { values[ObjectIdentifier(key)] as? Key.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }

    /// The path parameter `name`; throws a 400 problem if the route has none by that name.
    public func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else {
            throw HTTPProblem.badRequest("the path parameter '\(name)' is missing")
        }
        return value
    }
}

/// A typed key for values stored in a `RequestContext`.
public protocol RequestContextKey {
    associatedtype Value: Sendable
}

/// Answers a request. Errors thrown become problem details.
public typealias HTTPHandler = @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse

/// A step around every request: request ids, logging, tenant resolution, authentication, rate limits.
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse
}

/// Routes by method and path. Paths are literal segments and `:name` parameters:
///
/// ```swift
/// var router = Router()
/// router.get("/healthz") { _, _ in .ok }
/// router.post("/api/enterprise/accounts/:id/members", use: members.add)
/// ```
///
/// A path with no route gets 404; a path whose routes take other methods gets 405 with `Allow`.
/// `HEAD` is answered by the `GET` route (the server sends no body).
public struct Router: Sendable {
    private struct Node: Sendable {
        var literals: [String: Node] = [:]
        /// Zero or one parameter child (an array gives the recursive struct its indirection).
        var parameter: [Node] = []
        var parameterName: String?
        var handlers: [HTTPMethod: HTTPHandler] = [:]
    }

    private var root = Node()
    /// Routes without parameters, by exact path: one hash lookup on the hot path.
    private var staticRoutes: [String: [HTTPMethod: HTTPHandler]] = [:]

    public init() {}

    public enum Match: Sendable {
        case found(HTTPHandler, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    public mutating func add(_ method: HTTPMethod, _ path: String, use handler: @escaping HTTPHandler) {
        let segments = Self.segments(of: Substring(path))
        Self.insert(handler, method: method, segments: segments[...], into: &root, path: path)
        if !segments.contains(where: { $0.hasPrefix(":") }) {
            staticRoutes["/" + segments.joined(separator: "/"), default: [:]][method] = handler
        }
    }

    public mutating func get(_ path: String, use handler: @escaping HTTPHandler) { add(.get, path, use: handler) }
    public mutating func post(_ path: String, use handler: @escaping HTTPHandler) { add(.post, path, use: handler) }
    public mutating func put(_ path: String, use handler: @escaping HTTPHandler) { add(.put, path, use: handler) }
    public mutating func patch(_ path: String, use handler: @escaping HTTPHandler) { add(.patch, path, use: handler) }
    public mutating func delete(_ path: String, use handler: @escaping HTTPHandler) { add(.delete, path, use: handler) }

    private static func insert(
        _ handler: @escaping HTTPHandler,
        method: HTTPMethod,
        segments: ArraySlice<Substring>,
        into node: inout Node,
        path: String
    ) {
        guard let segment = segments.first else {
            precondition(node.handlers[method] == nil, "route \(method) \(path) is defined twice")
            node.handlers[method] = handler
            return
        }
        if segment.hasPrefix(":") {
            let name = String(segment.dropFirst())
            precondition(!name.isEmpty, "route \(path) has a parameter without a name")
            precondition(node.parameterName == nil || node.parameterName == name, "route \(path) renames a parameter")
            node.parameterName = name
            if node.parameter.isEmpty { node.parameter.append(Node()) }
            insert(handler, method: method, segments: segments.dropFirst(), into: &node.parameter[0], path: path)
        } else {
            insert(
                handler, method: method, segments: segments.dropFirst(),
                into: &node.literals[String(segment), default: Node()], path: path)
        }
    }

    /// Finds the handler for a method and a path (without query).
    public func match(_ method: HTTPMethod, path: Substring) -> Match {
        if let handlers = staticRoutes[String(path)],
            let handler = handlers[method] ?? (method == .head ? handlers[.get] : nil)
        {
            return .found(handler, parameters: [:])
        }
        var parameters: [String: String] = [:]
        guard let node = Self.find(Self.segments(of: path)[...], in: root, parameters: &parameters) else {
            return .notFound
        }
        if let handler = node.handlers[method] ?? (method == .head ? node.handlers[.get] : nil) {
            return .found(handler, parameters: parameters)
        }
        if node.handlers.isEmpty { return .notFound }
        var allowed = Set(node.handlers.keys)
        if allowed.contains(.get) { allowed.insert(.head) }
        return .methodNotAllowed(allowed: allowed.sorted { $0.rawValue < $1.rawValue })
    }

    private static func find(
        _ segments: ArraySlice<Substring>, in node: Node, parameters: inout [String: String]
    ) -> Node? {
        guard let segment = segments.first else { return node }
        if let literal = node.literals[String(segment)],
            let found = find(segments.dropFirst(), in: literal, parameters: &parameters)
        {
            return found
        }
        if let name = node.parameterName, let child = node.parameter.first, let value = PercentEncoding.decode(segment)
        {
            var attempt = parameters
            attempt[name] = value
            if let found = find(segments.dropFirst(), in: child, parameters: &attempt) {
                parameters = attempt
                return found
            }
        }
        return nil
    }

    private static func segments(of path: Substring) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}

extension HTTPResponse {
    /// `200 OK` with no body.
    public static var ok: HTTPResponse { HTTPResponse(status: .ok) }

    /// A JSON response from already-encoded JSON text.
    public static func json(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: Array(text.utf8))
    }
}
