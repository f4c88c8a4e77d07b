import Foundation
import ScryptexACME
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres

/// Routes every host name answers: liveness and readiness.
enum PlatformRoutes {
    static func add(to router: inout Router, pool: PostgresConnectionPool) {
        // Built once: each request gets a copy of the same bytes.
        let alive = HTTPResponse.json(#"{"status":"ok"}"#)
        router.get("/healthz", immediately: { _, _ in alive })
        router.get("/readyz") { _, context in
            do {
                // Answered within the probe's 2 s budget even when the database is stalled (the
                // statement itself is given up on 3 s after it was sent, its connection dropped).
                try await answer(within: .milliseconds(1800)) {
                    try await pool.query("SELECT 1", timeout: .milliseconds(1000))
                }
                return .json(#"{"status":"ready","database":"reachable"}"#)
            } catch {
                context.logger.warning("readiness check failed", ["error": String(describing: error)])
                throw HTTPProblem(.serviceUnavailable, type: .notReady, detail: Self.unreadiness(error))
            }
        }
    }
}

/// Answers every request on the plain HTTP port with `308 Permanent Redirect` to the same
/// address over HTTPS.
struct RedirectToHTTPSMiddleware: HTTPMiddleware {
    let httpsPort: Int

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse {
        try redirect(request)
    }

    func respondImmediately(
        to request: HTTPRequest, context: RequestContext, next: HTTPImmediateNext
    ) throws -> HTTPResponse? {
        try redirect(request)
    }

    private func redirect(_ request: HTTPRequest) throws -> HTTPResponse {
        guard let host = request.hostName,
            HostName(host) != nil || host.hasPrefix("[") || host.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw HTTPProblem.badRequest("the Host header is missing or is not a host name")
        }
        let authority = httpsPort == 443 ? host : "\(host):\(httpsPort)"
        var response = HTTPResponse(status: .permanentRedirect)
        response.headers.add(name: "Location", value: "https://\(authority)\(request.target)")
        return response
    }
}

/// ACME HTTP-01 challenges on the plain HTTP port (RFC 8555 §8.3): `GET
/// /.well-known/acme-challenge/<token>` answers the key authorization an ACME client wrote to
/// `<folder>/.well-known/acme-challenge/<token>` (certbot's `--webroot -w <folder>` layout), as
/// `application/octet-stream`; an unknown token is 404. Everything else is redirected to HTTPS
/// by the next middleware. The certificate the client then writes into the TLS folder is served
/// without a restart.
struct ACMEChallengeMiddleware: HTTPMiddleware {
    static let prefix = "/.well-known/acme-challenge/"
    let folder: String

    func respondImmediately(
        to request: HTTPRequest, context: RequestContext, next: HTTPImmediateNext
    ) throws -> HTTPResponse? {
        // A challenge is read from a file: the async way, where the read leaves the I/O thread.
        isChallenge(request) ? nil : try next(request, context)
    }

    private func isChallenge(_ request: HTTPRequest) -> Bool {
        request.path.hasPrefix(Self.prefix) && (request.method == .get || request.method == .head)
    }

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse {
        guard isChallenge(request) else { return try await next(request, context) }
        let path = String(request.path)
        let token = path.dropFirst(Self.prefix.count)
        // Tokens are base64url (RFC 8555 §8.3): nothing that could leave the folder.
        guard ACMEToken.isValid(token),
            let data = await Self.contents(of: folder + Self.prefix + token), data.count <= 4096
        else {
            throw HTTPProblem.notFound("no ACME challenge with this token")
        }
        return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: Array(data))
    }

    /// Reads on Swift's global executor, not on the I/O thread the request arrived on.
    @concurrent private static func contents(of path: String) async -> Data? {
        FileManager.default.contents(atPath: path)
    }
}

extension PlatformRoutes {
    /// Why the host is not ready, for an operator: what failed, never credentials.
    static func unreadiness(_ error: any Error) -> String {
        switch error {
        case is TimeLimitExceeded:
            return "the database did not answer within 1.8 s (stopped, overloaded or unreachable)"
        case let error as PostgresError where error.code == .poolTimeout:
            return "the database is not reachable: every pooled connection is busy (\(error.message))"
        case let error as PostgresError:
            return "the database is not reachable: \(error.code): \(error.message)"
        default:
            return "the database is not reachable"
        }
    }
}
