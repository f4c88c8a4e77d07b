import ScryptexCore

/// The router behind its middleware chain, with errors turned into problem details.
public struct HTTPApplication: Sendable {
    private let chain: HTTPHandler

    /// - Parameters:
    ///   - router: The routes.
    ///   - middleware: Outermost first; each wraps the ones after it and the router.
    public init(router: Router, middleware: [any HTTPMiddleware] = []) {
        var chain: HTTPHandler = { request, context in
            switch router.match(request.method, path: request.path) {
            case .found(let handler, let parameters):
                var context = context
                context.parameters = parameters
                return try await handler(request, context)
            case .methodNotAllowed(let allowed):
                let allow = allowed.map(\.rawValue).joined(separator: ", ")
                throw HTTPProblem(
                    .methodNotAllowed, type: "method-not-allowed",
                    detail: "\(request.method) is not allowed here; allowed: \(allow)",
                    headers: ["Allow": allow]
                )
            case .notFound:
                throw HTTPProblem.notFound()
            }
        }
        for layer in middleware.reversed() {
            let next = chain
            chain = { request, context in try await layer.respond(to: request, context: context, next: next) }
        }
        self.chain = chain
    }

    /// Answers a request; never throws: errors become problem details, unknown ones a 500 that
    /// reveals nothing but the request id.
    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        var response: HTTPResponse
        do {
            response = try await chain(request, context)
        } catch let error as any HTTPResponseError {
            response = ProblemDetails.response(for: error, requestID: context.requestID)
        } catch {
            context.logger.error(
                "request failed",
                ["request_id": context.requestID, "error": String(describing: error), "path": String(request.path)]
            )
            response = ProblemDetails.response(
                status: .internalServerError, type: "internal-error",
                detail: "the request could not be completed; quote request id \(context.requestID) to support",
                requestID: context.requestID
            )
        }
        if !response.headers.contains("X-Request-Id") {
            response.headers.add(name: "X-Request-Id", value: context.requestID)
        }
        return response
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
        var status = 500
        defer {
            let microseconds = (ContinuousClock.now - started).wholeMicroseconds
            context.logger.info(
                "request",
                [
                    "method": request.method.rawValue, "path": String(request.path), "status": String(status),
                    "duration_us": String(microseconds), "request_id": context.requestID,
                    "remote": context.remoteAddress,
                ]
            )
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}
