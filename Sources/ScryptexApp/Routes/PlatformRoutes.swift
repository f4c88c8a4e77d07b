import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres

/// Routes every host name answers: liveness and readiness.
enum PlatformRoutes {
    static func add(to router: inout Router, pool: PostgresConnectionPool) {
        router.get("/healthz") { _, _ in .json(#"{"status":"ok"}"#) }
        router.get("/readyz") { _, context in
            do {
                try await pool.query("SELECT 1", timeout: .seconds(2))
                return .json(#"{"status":"ready","database":"reachable"}"#)
            } catch {
                context.logger.warning("readiness check failed", ["error": String(describing: error)])
                throw HTTPProblem(.serviceUnavailable, type: "not-ready", detail: "the database is not reachable")
            }
        }
    }
}

/// Answers every request on the plain HTTP port with `308 Permanent Redirect` to the same
/// address over HTTPS.
struct RedirectToHTTPSMiddleware: HTTPMiddleware {
    let httpsPort: Int

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse {
        guard let host = request.hostName,
            Hostname.isValid(host) || host.hasPrefix("[") || host.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw HTTPProblem.badRequest("the Host header is missing or is not a host name")
        }
        let authority = httpsPort == 443 ? host : "\(host):\(httpsPort)"
        var response = HTTPResponse(status: .permanentRedirect)
        response.headers.add(name: "Location", value: "https://\(authority)\(request.target)")
        return response
    }
}
