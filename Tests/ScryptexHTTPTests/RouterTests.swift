import ScryptexCore
import Testing

@testable import ScryptexHTTP

@Suite("Router and application")
struct RouterTests {
    static func application() -> HTTPApplication {
        var router = Router()
        router.get("/api/enterprise/accounts/:id") { _, context in
            .json("{\"id\":\(JSONString.quoted(try context.parameter("id")))}")
        }
        router.post("/api/enterprise/accounts/:id/members") { _, context in
            .json("{\"account\":\(JSONString.quoted(try context.parameter("id")))}", status: .created)
        }
        router.get("/api/enterprise/accounts/summary") { _, _ in .json("{\"summary\":true}") }
        router.get("/fail") { _, _ in
            throw HTTPProblem.badRequest("the field 'quantity' must be positive", type: "invalid-field")
        }
        router.get("/crash") { _, _ in
            struct Secret: Error { var sql = "SELECT password FROM users" }
            throw Secret()
        }
        return HTTPApplication(router: router)
    }

    static func respond(_ method: HTTPMethod, _ target: String) async -> HTTPResponse {
        let context = RequestContext(
            requestID: "r-1", logger: Logger(label: "test", minimumLevel: .critical), isSecure: false,
            remoteAddress: "127.0.0.1")
        return await application().respond(to: HTTPRequest(method: method, target: target), context: context)
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func parametersAndLiteralsWin() async {
        #expect(Self.text(await Self.respond(.get, "/api/enterprise/accounts/a%20b")) == #"{"id":"a b"}"#)
        #expect(Self.text(await Self.respond(.get, "/api/enterprise/accounts/summary")) == #"{"summary":true}"#)
        let created = await Self.respond(.post, "/api/enterprise/accounts/42/members")
        #expect(created.status == .created)
        #expect(created.headers.first("x-request-id") == "r-1")
    }

    @Test func notFoundAndMethodNotAllowed() async {
        let missing = await Self.respond(.get, "/nowhere")
        #expect(missing.status == .notFound)
        #expect(missing.headers.first("content-type") == "application/problem+json")
        #expect(Self.text(missing).contains(#""type":"https://scryptex.dev/problems/not-found""#))
        let wrongMethod = await Self.respond(.delete, "/api/enterprise/accounts/42")
        #expect(wrongMethod.status == .methodNotAllowed)
        #expect(wrongMethod.headers.first("allow") == "GET, HEAD")
        #expect(await Self.respond(.head, "/api/enterprise/accounts/42").status == .ok)
    }

    @Test func problemDetailsNameTheFieldAndHideInternals() async {
        let failed = await Self.respond(.get, "/fail")
        #expect(failed.status == .badRequest)
        #expect(Self.text(failed).contains("the field 'quantity' must be positive"))
        #expect(Self.text(failed).contains(#""status":400"#))
        let crashed = await Self.respond(.get, "/crash")
        #expect(crashed.status == .internalServerError)
        #expect(!Self.text(crashed).contains("SELECT"))
        #expect(Self.text(crashed).contains("r-1"))
    }

    @Test func dateHeaderFormat() {
        #expect(HTTPDate.format(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
