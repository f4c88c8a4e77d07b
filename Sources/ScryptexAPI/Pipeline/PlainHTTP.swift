import Foundation
import ScryptexACME
import ScryptexCore
public import ScryptexHTTP

/// The plain HTTP port: ACME HTTP-01 challenges, and `308 Permanent Redirect` to the same
/// address over HTTPS for everything else.
public enum PlainHTTP {
    /// The application of the plain HTTP port.
    ///
    /// - Parameters:
    ///   - httpsPort: Where redirects point.
    ///   - challengeFolder: Where an ACME client writes challenge files (certbot's
    ///     `--webroot -w <folder>` layout); nil to answer no challenges.
    ///   - publishedChallenge: The key authorization another host published for a token (the
    ///     database), asked when the folder has none.
    public static func application(
        httpsPort: Int?, challengeFolder: String?,
        publishedChallenge: (@Sendable (String) async -> String?)? = nil
    ) -> HTTPApplication {
        var router = Router()
        if let challengeFolder {
            ACMEChallenge(folder: challengeFolder, published: publishedChallenge).add(to: &router)
        }
        return HTTPApplication(
            router: router,
            filters: httpsPort.map { [RedirectToHTTPSFilter(httpsPort: $0, except: ACMEChallenge.prefix)] } ?? [])
    }
}

/// Answers every request with `308 Permanent Redirect` to the same address over HTTPS, except
/// paths below `except` (ACME challenges, which must be answered over plain HTTP).
struct RedirectToHTTPSFilter: HTTPRequestFilter {
    let httpsPort: Int
    let except: String

    func filter(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
        if request.path.hasPrefix(except) { return nil }
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

/// ACME HTTP-01 challenges (RFC 8555 §8.3): `GET /.well-known/acme-challenge/<token>` answers
/// the key authorization an ACME client wrote to `<folder>/.well-known/acme-challenge/<token>`,
/// as `application/octet-stream`; an unknown token is 404. The certificate the client then
/// writes into the TLS folder is served without a restart.
struct ACMEChallenge {
    static let prefix = "/.well-known/acme-challenge/"
    let folder: String
    let published: (@Sendable (String) async -> String?)?

    func add(to router: inout Router) {
        let (folder, published) = (folder, published)
        router.get(Self.prefix + ":token") { _, context in
            let token = try context.parameter("token")
            // Tokens are base64url (RFC 8555 §8.3): nothing that could leave the folder.
            guard ACMEToken.isValid(Substring(token)) else {
                throw HTTPProblem.notFound("no ACME challenge with this token")
            }
            if let data = await Self.contents(of: folder + Self.prefix + token), data.count <= 4096 {
                return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: Array(data))
            }
            if let answer = await published?(token), answer.utf8.count <= 4096 {
                return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: Array(answer.utf8))
            }
            throw HTTPProblem.notFound("no ACME challenge with this token")
        }
    }

    /// Reads on Swift's global executor, not on the I/O thread the request arrived on.
    @concurrent private static func contents(of path: String) async -> Data? {
        FileManager.default.contents(atPath: path)
    }
}
