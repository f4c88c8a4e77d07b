public import ScryptexCore

/// What a handler knows about the request beyond the request itself.
///
/// A context is passed by value through every middleware and handler, several copies per
/// request: what the connection knows (logger, TLS name, peer) sits in one shared, immutable
/// object made once per connection, so a copy retains one reference instead of several and a
/// request allocates nothing for it.
public struct RequestContext: Sendable {
    /// What every request on one connection shares.
    final class Connection: Sendable {
        let logger: Logger
        let serverName: String?
        let isSecure: Bool
        let remoteAddress: String

        init(logger: Logger, serverName: String?, isSecure: Bool, remoteAddress: String) {
            self.logger = logger
            self.serverName = serverName
            self.isSecure = isSecure
            self.remoteAddress = remoteAddress
        }
    }

    private let connection: Connection
    /// A unique id for this request, echoed in `X-Request-Id` and problem details.
    public let requestID: String
    /// Path parameters by name (`:id` in `/accounts/:id`), percent-decoded.
    public var parameters: [String: String] = [:]
    // Inlinable (with its storage) so that the typed subscript is specialized where a key is
    // used, instead of looking up generic metadata at run time on every request.
    @usableFromInline var values: [ObjectIdentifier: any Sendable] = [:]

    public init(requestID: String, logger: Logger, serverName: String? = nil, isSecure: Bool, remoteAddress: String) {
        self.init(
            requestID: requestID,
            connection: Connection(
                logger: logger, serverName: serverName, isSecure: isSecure, remoteAddress: remoteAddress))
    }

    init(requestID: String, connection: Connection) {
        self.requestID = requestID
        self.connection = connection
    }

    public var logger: Logger { connection.logger }
    /// The TLS server name the client asked for (SNI), if the connection is TLS.
    public var serverName: String? { connection.serverName }
    public var isSecure: Bool { connection.isSecure }
    public var remoteAddress: String { connection.remoteAddress }

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

/// Answers a request from what is in memory, without waiting for anything (health, a page from
/// a loaded template): it runs on the connection's I/O thread, with no task, so it must not
/// block. Errors thrown become problem details.
public typealias HTTPImmediateHandler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse

/// Routes by method and path. Paths are literal segments and `:name` parameters:
///
/// ```swift
/// var router = Router()
/// router.get("/healthz") { _, _ in .ok }
/// router.post("/api/enterprise/accounts/:id/members", use: members.add)
/// ```
///
/// A handler that does not `await` is an immediate handler (``HTTPImmediateHandler``): the
/// request is answered on the I/O thread right after the filters, without a task and without
/// middleware. A handler that awaits runs in a task, inside the middleware.
///
/// A path with no route gets 404; a path whose routes take other methods gets 405 with `Allow`.
/// `HEAD` is answered by the `GET` route (the server sends no body).
public struct Router: Sendable {
    /// What a route answers with.
    public struct Route: Sendable {
        /// Answers in a task; for an immediate route, runs the immediate handler.
        public let handler: HTTPHandler
        /// Answers without a task, for a route that needs nothing it has to wait for.
        public let immediateHandler: HTTPImmediateHandler?

        init(handler: @escaping HTTPHandler) {
            self.handler = handler
            immediateHandler = nil
        }

        init(immediateHandler: @escaping HTTPImmediateHandler) {
            handler = { request, context in try immediateHandler(request, context) }
            self.immediateHandler = immediateHandler
        }
    }

    private struct Node: Sendable {
        var literals: [String: Node] = [:]
        /// Zero or one parameter child (an array gives the recursive struct its indirection).
        var parameter: [Node] = []
        var parameterName: String?
        var routes: [HTTPMethod: Route] = [:]
    }

    private var root = Node()
    /// Routes without parameters, by exact path: one hash lookup on the hot path.
    private var staticRoutes: [String: [HTTPMethod: Route]] = [:]

    public init() {}

    public enum Match: Sendable {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    public mutating func add(_ method: HTTPMethod, _ path: String, use handler: @escaping HTTPHandler) {
        add(Route(handler: handler), method: method, path: path)
    }

    public mutating func add(_ method: HTTPMethod, _ path: String, immediately handler: @escaping HTTPImmediateHandler)
    {
        add(Route(immediateHandler: handler), method: method, path: path)
    }

    public mutating func get(_ path: String, use handler: @escaping HTTPHandler) { add(.get, path, use: handler) }
    public mutating func post(_ path: String, use handler: @escaping HTTPHandler) { add(.post, path, use: handler) }
    public mutating func put(_ path: String, use handler: @escaping HTTPHandler) { add(.put, path, use: handler) }
    public mutating func patch(_ path: String, use handler: @escaping HTTPHandler) { add(.patch, path, use: handler) }
    public mutating func delete(_ path: String, use handler: @escaping HTTPHandler) { add(.delete, path, use: handler) }

    public mutating func get(_ path: String, immediately handler: @escaping HTTPImmediateHandler) {
        add(.get, path, immediately: handler)
    }
    public mutating func post(_ path: String, immediately handler: @escaping HTTPImmediateHandler) {
        add(.post, path, immediately: handler)
    }
    public mutating func put(_ path: String, immediately handler: @escaping HTTPImmediateHandler) {
        add(.put, path, immediately: handler)
    }
    public mutating func patch(_ path: String, immediately handler: @escaping HTTPImmediateHandler) {
        add(.patch, path, immediately: handler)
    }
    public mutating func delete(_ path: String, immediately handler: @escaping HTTPImmediateHandler) {
        add(.delete, path, immediately: handler)
    }

    private mutating func add(_ route: Route, method: HTTPMethod, path: String) {
        let segments = Self.segments(of: Substring(path))
        Self.insert(route, method: method, segments: segments[...], into: &root, path: path)
        if !segments.contains(where: { $0.hasPrefix(":") }) {
            staticRoutes["/" + segments.joined(separator: "/"), default: [:]][method] = route
        }
    }

    private static func insert(
        _ route: Route,
        method: HTTPMethod,
        segments: ArraySlice<Substring>,
        into node: inout Node,
        path: String
    ) {
        guard let segment = segments.first else {
            precondition(node.routes[method] == nil, "route \(method) \(path) is defined twice")
            node.routes[method] = route
            return
        }
        if segment.hasPrefix(":") {
            let name = String(segment.dropFirst())
            precondition(!name.isEmpty, "route \(path) has a parameter without a name")
            precondition(node.parameterName == nil || node.parameterName == name, "route \(path) renames a parameter")
            node.parameterName = name
            if node.parameter.isEmpty { node.parameter.append(Node()) }
            insert(route, method: method, segments: segments.dropFirst(), into: &node.parameter[0], path: path)
        } else {
            insert(
                route, method: method, segments: segments.dropFirst(),
                into: &node.literals[String(segment), default: Node()], path: path)
        }
    }

    /// Finds the handler for a method and a path (without query).
    public func match(_ method: HTTPMethod, path: Substring) -> Match {
        if let routes = staticRoutes[String(path)], let route = routes[method] ?? (method == .head ? routes[.get] : nil)
        {
            return .found(route, parameters: [:])
        }
        var parameters: [String: String] = [:]
        guard let node = Self.find(Self.segments(of: path)[...], in: root, parameters: &parameters) else {
            return .notFound
        }
        if let route = node.routes[method] ?? (method == .head ? node.routes[.get] : nil) {
            return .found(route, parameters: parameters)
        }
        if node.routes.isEmpty { return .notFound }
        var allowed = Set(node.routes.keys)
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
            // Set, and taken back if the rest does not match (no copy of the dictionary).
            let previous = parameters.updateValue(value, forKey: name)
            if let found = find(segments.dropFirst(), in: child, parameters: &parameters) { return found }
            parameters[name] = previous
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
