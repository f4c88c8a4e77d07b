import ScryptexCore

/// A step that runs on the connection's I/O thread before the request is routed, with no task:
/// it answers on its own (a redirect, an ACME challenge, a misdirected request) or adds to the
/// context what every later stage needs (the request's tenant). It must not block or wait.
public protocol HTTPRequestFilter: Sendable {
    /// A response that ends the request here, or `nil` to go on (with `context` as changed).
    /// An error thrown becomes its problem document.
    func filter(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse?
}

/// A step around every handler that runs in a task (authentication, pages for errors): it may
/// wait for the database. Immediate routes do not pass through middleware.
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse
}

/// Told of every request when its response is ready: its status and how long it took from
/// dispatch (per-tenant metrics). Called on the request's thread: it must be quick.
public protocol HTTPRequestObserver: Sendable {
    func requestFinished(_ request: HTTPRequest, context: RequestContext, status: Int, duration: Duration)
}

/// The router behind its filters and middleware, with errors turned into problem details.
///
/// A request goes through four stages, each run once:
/// 1. the filters, in order, on the I/O thread;
/// 2. the route, found once by method and path;
/// 3. an immediate route answers right there, on the I/O thread (``HTTPDispatch/answered(_:)``);
///    any other route — and a request no route takes, so its error is presented like the
///    rest — becomes ``HTTPDispatch/pending(_:)``: its middleware and handler run in a task;
/// 4. with an access log, one line when the response is ready.
public struct HTTPApplication: Sendable {
    private let router: Router
    private let filters: [any HTTPRequestFilter]
    private let middleware: [any HTTPMiddleware]
    private let accessLog: AccessLog?
    private let observers: [any HTTPRequestObserver]

    /// - Parameters:
    ///   - router: The routes.
    ///   - filters: Synchronous steps before routing, in order.
    ///   - middleware: Outermost first; each wraps the ones after it and the handler.
    ///   - accessLog: Writes one line per request when given.
    ///   - observers: Told of every response (its status and duration).
    public init(
        router: Router, filters: [any HTTPRequestFilter] = [], middleware: [any HTTPMiddleware] = [],
        accessLog: AccessLog? = nil, observers: [any HTTPRequestObserver] = []
    ) {
        self.router = router
        self.filters = filters
        self.middleware = middleware
        self.accessLog = accessLog
        self.observers = observers
    }

    /// Runs the stages that need no task: the response, or what is left to run in one.
    public func dispatch(_ request: HTTPRequest, context: RequestContext) -> HTTPDispatch {
        let started = observers.isEmpty ? accessLog?.start(context) : ContinuousClock.now
        var context = context
        let handler: HTTPHandler
        do {
            for filter in filters {
                if let response = try filter.filter(request, context: &context) {
                    return .answered(finish(response, request, context, started))
                }
            }
            switch router.match(request.method, path: request.path) {
            case .found(let route, let parameters):
                context.parameters = parameters
                if let immediate = route.immediateHandler {
                    return .answered(finish(try immediate(request, context), request, context, started))
                }
                handler = route.handler
            case .methodNotAllowed(let allowed):
                throw Unrouted(problem: Self.methodNotAllowed(request.method, allowed: allowed))
            case .notFound:
                throw Unrouted(problem: HTTPProblem.notFound())
            }
        } catch let unrouted as Unrouted where !middleware.isEmpty {
            // A request no route takes goes through the middleware like the rest, which may
            // present its error differently (a page for a browser).
            handler = { _, _ in throw unrouted.problem }
        } catch {
            // Answered here: filters stand before the middleware, immediate routes do not pass
            // through it, and with no middleware an unrouted request needs no task.
            let problem: any Error = (error as? Unrouted)?.problem ?? error
            let response = Self.response(for: problem, request: request, context: context)
            return .answered(finish(response, request, context, started))
        }
        return .pending(
            PendingResponse(
                request: request, context: context, chain: chain(ending: handler), accessLog: accessLog,
                observers: observers, started: started))
    }

    /// Answers a request through every stage; never throws: errors become problem details,
    /// unknown ones a 500 that reveals nothing but the request id.
    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        switch dispatch(request, context: context) {
        case .answered(let response): response
        case .pending(let pending): await pending.respond()
        }
    }

    /// The response when it needs no task, or `nil` when it does.
    public func respondImmediately(to request: HTTPRequest, context: RequestContext) -> HTTPResponse? {
        if case .answered(let response) = dispatch(request, context: context) { return response }
        return nil
    }

    private func chain(ending handler: @escaping HTTPHandler) -> HTTPHandler {
        var chain = handler
        for layer in middleware.reversed() {
            let next = chain
            chain = { request, context in try await layer.respond(to: request, context: context, next: next) }
        }
        return chain
    }

    private func finish(
        _ response: HTTPResponse, _ request: HTTPRequest, _ context: RequestContext, _ started: ContinuousClock.Instant?
    ) -> HTTPResponse {
        if let started {
            Self.record(
                request, context: context, status: response.status.code, since: started, accessLog: accessLog,
                observers: observers)
        }
        return response
    }

    static func record(
        _ request: HTTPRequest, context: RequestContext, status: Int, since started: ContinuousClock.Instant,
        accessLog: AccessLog?, observers: [any HTTPRequestObserver]
    ) {
        accessLog?.record(request, context: context, status: status, since: started)
        guard !observers.isEmpty else { return }
        let duration = ContinuousClock.now - started
        for observer in observers {
            observer.requestFinished(request, context: context, status: status, duration: duration)
        }
    }

    private static func methodNotAllowed(_ method: HTTPMethod, allowed: [HTTPMethod]) -> HTTPProblem {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        return HTTPProblem(
            .methodNotAllowed, type: .methodNotAllowed, detail: "\(method) is not allowed here; allowed: \(allow)",
            headers: ["Allow": allow])
    }

    static func response(for error: any Error, request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        if let error = error as? any HTTPResponseError {
            return ProblemDetails.response(for: error, requestID: context.requestID)
        }
        context.logger.error(
            "request failed",
            ["request_id": context.requestID, "error": String(describing: error), "path": String(request.path)]
        )
        return ProblemDetails.response(
            status: .internalServerError, type: .internalError,
            detail: "the request could not be completed; quote request id \(context.requestID) to support",
            requestID: context.requestID
        )
    }
}

/// A request no route takes: 404, or 405 with the methods its path allows.
private struct Unrouted: Error {
    let problem: HTTPProblem
}

/// What `HTTPApplication.dispatch(_:context:)` decided on the I/O thread.
public enum HTTPDispatch: Sendable {
    /// Answered without a task.
    case answered(HTTPResponse)
    /// Middleware and a handler that wait: run `respond()` in a task.
    case pending(PendingResponse)
}

/// A routed request whose middleware and handler are still to run.
public struct PendingResponse: Sendable {
    let request: HTTPRequest
    /// The context after the filters, with the route's parameters.
    public let context: RequestContext
    let chain: HTTPHandler
    let accessLog: AccessLog?
    let observers: [any HTTPRequestObserver]
    let started: ContinuousClock.Instant?

    /// Runs the middleware and the handler; never throws (errors become problem details).
    public func respond() async -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await chain(request, context)
        } catch {
            response = HTTPApplication.response(for: error, request: request, context: context)
        }
        if let started {
            HTTPApplication.record(
                request, context: context, status: response.status.code, since: started, accessLog: accessLog,
                observers: observers)
        }
        return response
    }
}

/// One access-log line per request: method, path (no query: it may carry secrets), status,
/// duration, request id.
public struct AccessLog: Sendable {
    public init() {}

    /// The start time, or nil when the line would be dropped (no clock read, no fields).
    func start(_ context: RequestContext) -> ContinuousClock.Instant? {
        context.logger.isEnabled(.info) ? ContinuousClock.now : nil
    }

    func record(_ request: HTTPRequest, context: RequestContext, status: Int, since started: ContinuousClock.Instant) {
        guard context.logger.isEnabled(.info) else { return }
        let microseconds = (ContinuousClock.now - started).wholeMicroseconds
        // In key order: the line is written without a dictionary or a sort.
        context.logger.log(
            .info, "request",
            orderedFields: [
                "duration_us": String(microseconds), "method": request.method.rawValue, "path": String(request.path),
                "remote": context.remoteAddress, "request_id": context.requestID, "status": String(status),
            ])
    }
}
