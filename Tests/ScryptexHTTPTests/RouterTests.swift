import ScryptexCore
import Synchronization
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
        router.get("/api/enterprise/accounts/summary", use: { _, _ in .json("{\"summary\":true}") })
        router.get("/fail") { _, _ in
            throw HTTPProblem.badRequest("the field 'quantity' must be positive", type: .invalidField)
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

    static let context = RequestContext(
        requestID: "r-2", logger: Logger(label: "test", minimumLevel: .critical), isSecure: false,
        remoteAddress: "127.0.0.1")

    @Test func routesThatDoNotAwaitAreAnsweredImmediately() async throws {
        let application = Self.application()
        let answered = try #require(
            application.respondImmediately(
                to: HTTPRequest(method: .get, target: "/api/enterprise/accounts/7"), context: Self.context))
        #expect(Self.text(answered) == #"{"id":"7"}"#)
        // 404, 405 and problems need no task either.
        let missing = try #require(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/x"), context: Self.context))
        #expect(missing.status == .notFound)
        let wrong = try #require(
            application.respondImmediately(
                to: HTTPRequest(method: .put, target: "/api/enterprise/accounts/7"), context: Self.context))
        #expect(wrong.status == .methodNotAllowed)
        let failed = try #require(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/fail"), context: Self.context))
        #expect(failed.status == .badRequest)
        let crashed = try #require(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/crash"), context: Self.context))
        #expect(crashed.status == .internalServerError)
        // A route registered with `use:` goes the async way.
        #expect(
            application.respondImmediately(
                to: HTTPRequest(method: .get, target: "/api/enterprise/accounts/summary"), context: Self.context) == nil
        )
        #expect(
            Self.text(
                await application.respond(
                    to: HTTPRequest(method: .get, target: "/api/enterprise/accounts/summary"), context: Self.context))
                == #"{"summary":true}"#)
    }

    /// Counts the calls of a handler and of middleware steps, across tasks.
    final class Calls: Sendable {
        private let counts = Mutex<[String: Int]>([:])
        func record(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
        subscript(name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
    }

    struct Tagging: HTTPMiddleware {
        let name: String
        let calls: Calls

        func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse {
            calls.record(name)
            do {
                var response = try await next(request, context)
                response.headers.add(name: "Step", value: name)
                return response
            } catch let problem as HTTPProblem {
                // Presents errors its own way, as the branded pages do.
                return HTTPResponse(status: problem.status, contentType: "text/plain", body: Array(name.utf8))
            }
        }
    }

    enum MarkKey: RequestContextKey {
        typealias Value = String
    }

    /// Answers `/stop` itself and marks the context for every other request.
    struct Marking: HTTPRequestFilter {
        let calls: Calls

        func filter(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
            calls.record("filter")
            if request.path == "/refuse" { throw HTTPProblem.badRequest("refused by the filter") }
            if request.path == "/stop" { return HTTPResponse(status: .accepted) }
            context[MarkKey.self] = "yes"
            return nil
        }
    }

    @Test func filtersRunOnceBeforeRoutingAndMiddlewareWrapsOnlyWhatRunsInATask() async throws {
        let calls = Calls()
        var router = Router()
        router.get(
            "/now",
            immediately: { _, context in
                calls.record("immediate")
                return .json(JSONString.quoted(context[MarkKey.self] ?? "no"))
            })
        router.get("/later") { _, context in
            await Task.yield()
            calls.record("handler")
            return .json(JSONString.quoted(context[MarkKey.self] ?? "no"))
        }
        let application = HTTPApplication(
            router: router, filters: [Marking(calls: calls)],
            middleware: [Tagging(name: "outer", calls: calls), Tagging(name: "inner", calls: calls)])

        // An immediate route: the filter, then the handler, on the caller's thread; no middleware.
        let now = try #require(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/now"), context: Self.context))
        #expect(Self.text(now) == #""yes""# && now.headers["step"].isEmpty)
        #expect(calls["filter"] == 1 && calls["immediate"] == 1 && calls["outer"] == 0)

        // A route that waits: the filter once on dispatch, then the middleware and the handler in
        // the task, with the context the filter left.
        guard
            case .pending(let pending) = application.dispatch(
                HTTPRequest(method: .get, target: "/later"), context: Self.context)
        else { Issue.record("a route that awaits must be pending"); return }
        #expect(calls["filter"] == 2 && calls["handler"] == 0)
        let later = await pending.respond()
        #expect(Self.text(later) == #""yes""#)
        #expect(later.headers["step"] == ["inner", "outer"])
        #expect(calls["filter"] == 2 && calls["handler"] == 1 && calls["outer"] == 1 && calls["inner"] == 1)

        // A filter's answer and a filter's error end the request before routing and middleware.
        #expect(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/stop"), context: Self.context)?
                .status == .accepted)
        let refused = try #require(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/refuse"), context: Self.context))
        #expect(refused.status == .badRequest && refused.headers.first("content-type") == "application/problem+json")
        #expect(calls["outer"] == 1)

        // A request no route takes is presented by the middleware (in a task) when there is some…
        let missing = await application.respond(
            to: HTTPRequest(method: .get, target: "/nowhere"), context: Self.context)
        #expect(missing.status == .notFound && Self.text(missing) == "inner")
        #expect(
            application.respondImmediately(to: HTTPRequest(method: .get, target: "/nowhere"), context: Self.context)
                == nil)
        // …and answered at once, as a problem, when there is none.
        let bare = HTTPApplication(router: router)
        let unrouted = try #require(
            bare.respondImmediately(to: HTTPRequest(method: .delete, target: "/later"), context: Self.context))
        #expect(unrouted.status == .methodNotAllowed && unrouted.headers.first("allow") == "GET, HEAD")
    }

    @Test func requestIDsAreThePrefixAndTheCounterInHex() {
        for number: UInt64 in [0, 1, 9, 10, 15, 16, 255, 256, 0xFF_FFFF, 0x100_0000, 0xDEAD_BEEF, UInt64.max] {
            #expect(
                HTTPServerCore.requestID(prefix: "3fa9c1d2", number: number) == "3fa9c1d2-" + String(number, radix: 16))
        }
    }

    @Test func dateHeaderFormat() {
        #expect(HTTPDate.format(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
