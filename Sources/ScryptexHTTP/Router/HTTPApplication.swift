import ScryptexCore

/// The router behind its middleware chain, with errors turned into problem details.
///
/// A request whose route answers immediately (and 404 and 405 answers) goes through
/// `respondImmediately(to:context:)` on the I/O thread, with no task, when every middleware step
/// answers immediately too; the rest go through `respond(to:context:)` in a task.
public struct HTTPApplication: Sendable {
    private let router: Router
    private let middleware: [any HTTPMiddleware]
    private let chain: HTTPHandler

    /// - Parameters:
    ///   - router: The routes.
    ///   - middleware: Outermost first; each wraps the ones after it and the router.
    public init(router: Router, middleware: [any HTTPMiddleware] = []) {
        self.router = router
        self.middleware = middleware
        var chain: HTTPHandler = { request, context in
            var context = context
            // Found already when the request was first offered to `respondImmediately`, unless a
            // middleware step has since changed the method or the path.
            if let matched = context.matched, matched.method == request.method, matched.path == request.path {
                context.matched = nil
                context.parameters = matched.parameters
                return try await matched.route.handler(request, context)
            }
            let route = try Self.route(for: request, in: router, parameters: &context.parameters)
            return try await route.handler(request, context)
        }
        for layer in middleware.reversed() {
            let next = chain
            chain = { request, context in try await layer.respond(to: request, context: context, next: next) }
        }
        self.chain = chain
    }

    /// The request's route, with its path parameters; 404 or 405 problems when there is none.
    private static func route(
        for request: HTTPRequest, in router: Router, parameters: inout [String: String]
    ) throws -> Router.Route {
        switch router.match(request.method, path: request.path) {
        case .found(let route, let found):
            parameters = found
            return route
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            throw HTTPProblem(
                .methodNotAllowed, type: .methodNotAllowed,
                detail: "\(request.method) is not allowed here; allowed: \(allow)",
                headers: ["Allow": allow]
            )
        case .notFound:
            throw HTTPProblem.notFound()
        }
    }

    /// Answers a request; never throws: errors become problem details, unknown ones a 500 that
    /// reveals nothing but the request id.
    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        do {
            return try await chain(request, context)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    /// Answers a request without waiting, or returns `nil` when its route (or a middleware step)
    /// has to wait for something: then `respond(to:context:)` answers it. Never throws, like
    /// `respond(to:context:)`.
    public func respondImmediately(to request: HTTPRequest, context: RequestContext) -> HTTPResponse? {
        var context = context
        return respondImmediately(to: request, context: &context)
    }

    /// `respondImmediately(to:context:)`, keeping in `context` the route it found when it returns
    /// `nil`: `respond(to:context:)` then does not look for it again.
    func respondImmediately(to request: HTTPRequest, context: inout RequestContext) -> HTTPResponse? {
        do {
            // Decided before any middleware step runs: most requests that wait do not pay for
            // the steps twice.
            if case .found(let route, let parameters) = router.match(request.method, path: request.path),
                route.immediateHandler == nil
            {
                context.matched = MatchedRoute(
                    method: request.method, path: request.path, route: route, parameters: parameters)
                return nil
            }
            return try respondImmediately(to: request, context: context, step: 0)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    /// Runs middleware step `step` and, through its `next`, the steps after it and the route.
    private func respondImmediately(to request: HTTPRequest, context: RequestContext, step: Int) throws -> HTTPResponse?
    {
        guard step < middleware.count else {
            var context = context
            guard
                let handler = try Self.route(for: request, in: router, parameters: &context.parameters).immediateHandler
            else { return nil }
            return try handler(request, context)
        }
        return try middleware[step].respondImmediately(to: request, context: context) { request, context in
            try respondImmediately(to: request, context: context, step: step + 1)
        }
    }

    private static func response(for error: any Error, request: HTTPRequest, context: RequestContext) -> HTTPResponse {
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

/// Writes one access-log line per request: method, path (no query: it may carry secrets),
/// status, duration, request id.
public struct AccessLogMiddleware: HTTPMiddleware {
    public init() {}

    public func respond(
        to request: HTTPRequest, context: RequestContext, next: HTTPHandler
    ) async throws -> HTTPResponse {
        // Skip all the work (clock reads, the fields dictionary) when the line would be dropped.
        guard context.logger.isEnabled(.info) else { return try await next(request, context) }
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context: context, status: response.status.code, since: started)
            return response
        } catch {
            log(request, context: context, status: Self.status(for: error), since: started)
            throw error
        }
    }

    public func respondImmediately(
        to request: HTTPRequest, context: RequestContext, next: HTTPImmediateNext
    ) throws -> HTTPResponse? {
        guard context.logger.isEnabled(.info) else { return try next(request, context) }
        let started = ContinuousClock.now
        do {
            // Nothing is logged when a later step has to wait: the async path logs the request.
            guard let response = try next(request, context) else { return nil }
            log(request, context: context, status: response.status.code, since: started)
            return response
        } catch {
            log(request, context: context, status: Self.status(for: error), since: started)
            throw error
        }
    }

    private static func status(for error: any Error) -> Int {
        (error as? any HTTPResponseError)?.status.code ?? HTTPStatus.internalServerError.code
    }

    private func log(
        _ request: HTTPRequest, context: RequestContext, status: Int, since started: ContinuousClock.Instant
    ) {
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
