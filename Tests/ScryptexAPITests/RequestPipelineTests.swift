import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexAPI

/// The pipeline's own decisions: what the route table declares and what the guard refuses
/// before it needs the database (the pool here points at a port nothing listens on, so any
/// request that reached the database would fail with 503, not the answers expected).
@Suite("Request pipeline")
struct RequestPipelineTests {
    /// A service with one group of each kind of caller.
    struct Sample: RouteCollection {
        func add(to routes: inout SecuredRoutes) {
            routes.group("/api/enterprise/things", as: TenantCall.self, permission: .accountsRead, feature: .compliance)
            {
                things in
                things.get(use: answer)
                things.post(":id", .accountsWrite, use: answer)
            }
            routes.group("/api/enterprise/open", as: PublicTenantCall.self) { open in
                open.get(use: { _, _ in .ok })
            }
            routes.group("/admin/api/things", as: AdminCall.self, enabledBy: HostSwitch(isOn: false, detail: "off")) {
                admin in
                admin.delete(":id", use: { _, _ in .ok })
            }
            routes.group("/api/enterprise/shared", as: PartnerCall.self, permission: .revenueRead) { shared in
                shared.get(use: { _, _ in .ok })
            }
        }

        @Sendable func answer(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse { .ok }
    }

    static func services() throws -> APIServices {
        let pool = PostgresConnectionPool(
            configuration: try PostgresConfiguration(url: "postgres://nobody@127.0.0.1:1/none"),
            logger: TestDatabase.logger)
        let identity = IdentityService(
            pool: pool, keyring: Keyring(master: try MasterKey(bytes: SecureRandom.bytes(count: 32))))
        let limit = RateLimiter.Limit(ratePerSecond: 1000, burst: 1000)
        return APIServices(
            identity: identity,
            options: APIOptions(
                platformDomain: "platform.test", tenantRateLimit: limit, userRateLimit: limit, apiKeyRateLimit: limit,
                loginRateLimit: limit),
            logger: TestDatabase.logger)
    }

    @Test func theTableListsEachRouteWithItsGroupsAccessAndFeature() throws {
        var routes = SecuredRoutes(services: try Self.services())
        routes.add(Sample())
        let table = routes.entries.map { "\($0.method) \($0.path) \($0.access) \($0.feature?.rawValue ?? "-")" }
        #expect(
            table == [
                "GET /api/enterprise/things accounts.read compliance",
                "POST /api/enterprise/things/:id accounts.write compliance",
                "GET /api/enterprise/open public -",
                "DELETE /admin/api/things/:id platform-admin -",
                "GET /api/enterprise/shared revenue.read or platform-admin -",
            ])
    }

    static func send(
        _ application: HTTPApplication, _ method: HTTPMethod, _ target: String, host: String?,
        serverName: String? = nil
    ) async -> HTTPResponse {
        let request = HTTPRequest(
            method: method, target: target, headers: HTTPHeaders(host.map { [("Host", $0)] } ?? []))
        let context = RequestContext(
            requestID: "t", logger: TestDatabase.logger, serverName: serverName, isSecure: serverName != nil,
            remoteAddress: "127.0.0.1")
        return await application.respond(to: request, context: context)
    }

    @Test func theGuardRefusesTheWrongDomainBeforeAnyQuery() async throws {
        var routes = SecuredRoutes(services: try Self.services())
        routes.add(Sample())
        let application = HTTPApplication(
            router: routes.router, filters: [TenantResolutionFilter(directory: TenantDirectory())])
        func detail(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

        // Tenant routes on a name that serves no tenant (the platform's own included): 404 that
        // names no tenant.
        for host in ["platform.test", "unknown.example"] {
            let response = await Self.send(application, .get, "/api/enterprise/things", host: host)
            #expect(response.status == .notFound)
            #expect(detail(response).contains("no partner platform is served at this address"))
            #expect(await Self.send(application, .get, "/api/enterprise/open", host: host).status == .notFound)
        }
        // Platform-admin routes exist only on the platform domain.
        #expect(await Self.send(application, .delete, "/admin/api/things/1", host: "acme.example").status == .notFound)
        // No Host, or a Host other than the name the TLS connection was opened for.
        let missing = await Self.send(application, .get, "/api/enterprise/things", host: nil)
        #expect(missing.status == .badRequest && detail(missing).contains("missing-host"))
        let misdirected = await Self.send(
            application, .get, "/api/enterprise/things", host: "b.example", serverName: "a.example")
        #expect(misdirected.status == .misdirectedRequest)
        // An admin route without credentials on the platform domain is 401, whatever the switch.
        let anonymous = await Self.send(application, .delete, "/admin/api/things/1", host: "platform.test")
        #expect(anonymous.status == .unauthorized && anonymous.headers.first("www-authenticate") == "Bearer")
    }

    /// Issue 18: `ENABLE_ENTERPRISE_FEATURES=false` was read and ignored.
    @Test func theEnterpriseSwitchClosesEveryEnterpriseRouteNamingTheVariable() async throws {
        var routes = SecuredRoutes(services: try Self.services())
        routes.add(Sample())
        let application = HTTPApplication(
            router: routes.router,
            filters: [EnterpriseSwitchFilter(), TenantResolutionFilter(directory: TenantDirectory())])
        for (method, target) in [
            (HTTPMethod.get, "/api/enterprise/things"), (.get, "/api/enterprise/open"), (.post, "/api/enterprise"),
            (.get, "/api/enterprise/anything/at/all?x=1"),
        ] {
            let response = await Self.send(application, method, target, host: "acme.example")
            #expect(response.status == .forbidden, "\(target)")
            #expect(String(decoding: response.body, as: UTF8.self).contains("ENABLE_ENTERPRISE_FEATURES=false"))
        }
        // Other paths go on (here: to tenant resolution, which knows no tenant).
        #expect(await Self.send(application, .get, "/api/enterprisey", host: "acme.example").status == .notFound)
    }

    @Test func serviceAndDatabaseErrorsBecomeProblemsACallerCanActOn() throws {
        for code in [PostgresError.Code.connectionFailed, .connectionClosed, .poolTimeout, .statementTimeout] {
            let answer = try #require(HTTPProblem(PostgresError(code: code, message: "stalled")))
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.headers.first("Retry-After") == "5")
        }
        var outOfRange = PostgresError(code: .server, message: "numeric field overflow")
        outOfRange.sqlState = .numericValueOutOfRange
        #expect(HTTPProblem(outOfRange)?.status == .badRequest)
        #expect(HTTPProblem(PostgresError(code: .decoding, message: "x")) == nil)

        #expect(HTTPProblem(ServiceError(.invalidInput, "field 'x': bad")).detail == "field 'x': bad")
        // A failed authentication never says which part of the credential was wrong.
        let unauthenticated = HTTPProblem(ServiceError(.unauthenticated, "the key's secret did not match"))
        #expect(unauthenticated.status == .unauthorized)
        #expect(unauthenticated.detail == "the credentials are missing or not valid")
        #expect(HTTPProblem(ServiceError(.corrupt, "row 7 of keys")).detail == "stored data could not be read")
    }

    @Test func queryParametersAreDecodedAndCheckedByName() throws {
        let query = QueryParameters(
            HTTPRequest(method: .get, target: "/x?limit=20&actor=a%20b&actor=second&empty=&from=2026-01-31T12:00:00Z"))
        #expect(query["actor"] == "a b")
        #expect(query["empty"] == nil)
        #expect(try query.integer("limit", in: 1...500) == 20)
        #expect(try query.date("from") == Date(timeIntervalSince1970: 1_769_860_800))
        #expect(throws: HTTPProblem.self) { try query.integer("limit", in: 1...10) }
        #expect(throws: HTTPProblem.self) { try query.date("actor") }
    }
}
