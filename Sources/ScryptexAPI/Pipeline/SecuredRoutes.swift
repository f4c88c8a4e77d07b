import ScryptexCore
public import ScryptexHTTP
public import ScryptexIdentity
import ScryptexPostgres
public import ScryptexTenancy

/// A service's HTTP face: its routes, grouped by prefix, each group declaring once who may call
/// it, the tenant feature it belongs to and the host switch that turns it off.
///
/// ```swift
/// struct AccountRoutes: RouteCollection {
///     func add(to routes: inout SecuredRoutes) {
///         routes.group("/api/enterprise/accounts", as: TenantCall.self, feature: .institutional) { accounts in
///             accounts.get(":id", .accountsRead, use: account)
///         }
///     }
///     @Sendable func account(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse { … }
/// }
/// ```
public protocol RouteCollection: Sendable {
    func add(to routes: inout SecuredRoutes)
}

/// A setting of the host that turns a whole group of routes off (403 with the variable's name),
/// such as `WHITE_LABEL_ENABLED`.
public struct HostSwitch: Sendable {
    public var isOn: Bool
    /// What callers are told when it is off.
    public var detail: String

    public init(isOn: Bool, detail: String) {
        self.isOn = isOn
        self.detail = detail
    }
}

/// The routes of one prefix and one kind of caller, collected by ``SecuredRoutes/group(_:as:permission:feature:enabledBy:_:)``.
public struct RouteGroup<Call: RouteCall> {
    public typealias Handler = @Sendable (HTTPRequest, Call) async throws -> HTTPResponse

    struct Member {
        var method: HTTPMethod
        var path: String
        var permission: Permission?
        var handler: Handler
    }

    let prefix: String
    let permission: Permission?
    var members: [Member] = []

    /// Adds a route at `path` below the group's prefix (`""` for the prefix itself), needing
    /// `permission` instead of the group's when given.
    public mutating func add(
        _ method: HTTPMethod, _ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler
    ) {
        let full = path.isEmpty ? prefix : prefix + "/" + path
        members.append(Member(method: method, path: full, permission: permission ?? self.permission, handler: handler))
    }

    public mutating func get(_ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler) {
        add(.get, path, permission, use: handler)
    }
    public mutating func post(_ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler) {
        add(.post, path, permission, use: handler)
    }
    public mutating func put(_ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler) {
        add(.put, path, permission, use: handler)
    }
    public mutating func patch(_ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler) {
        add(.patch, path, permission, use: handler)
    }
    public mutating func delete(_ path: String = "", _ permission: Permission? = nil, use handler: @escaping Handler) {
        add(.delete, path, permission, use: handler)
    }

    // At the group's prefix itself, needing `permission`.
    public mutating func get(_ permission: Permission, use handler: @escaping Handler) {
        add(.get, "", permission, use: handler)
    }
    public mutating func post(_ permission: Permission, use handler: @escaping Handler) {
        add(.post, "", permission, use: handler)
    }
}

/// The host's routes, each behind its guard, with the table of who may call what (which the
/// role-matrix test walks).
public struct SecuredRoutes: Sendable {
    /// One route as the table lists it.
    public struct Entry: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var access: RouteAccess
        /// The tenant feature flag the route belongs to; with the flag off the route is 404.
        public var feature: Feature?
    }

    public private(set) var router: Router
    public private(set) var entries: [Entry] = []
    let services: APIServices

    /// - Parameter router: Routes every host name answers already (health, readiness).
    public init(router: Router = Router(), services: APIServices) {
        self.router = router
        self.services = services
    }

    /// Adds a service's routes.
    public mutating func add(_ collection: some RouteCollection) {
        collection.add(to: &self)
    }

    /// Adds the routes `build` declares below `prefix`, each answered with a `Call`: for a tenant
    /// with `feature` off the group is 404, with `enabledBy` off it is 403, and `permission` is
    /// what its routes need unless they name their own.
    public mutating func group<Call: RouteCall>(
        _ prefix: String, as call: Call.Type, permission: Permission? = nil, feature: Feature? = nil,
        enabledBy hostSwitch: HostSwitch? = nil, _ build: (inout RouteGroup<Call>) -> Void
    ) {
        var group = RouteGroup<Call>(prefix: prefix, permission: permission)
        build(&group)
        for member in group.members {
            let access = Call.access(member.permission)
            entries.append(Entry(method: member.method, path: member.path, access: access, feature: feature))
            let guarded = GuardedRoute(
                access: access, feature: feature, hostSwitch: hostSwitch, handler: member.handler,
                guard: RouteGuard(services: services))
            router.add(member.method, member.path, use: guarded.respond)
        }
    }
}

/// One route behind its guard: feature flag, authentication and authorisation, host switch,
/// then the handler with the call the guard built; service and database errors become problems.
struct GuardedRoute<Call: RouteCall>: Sendable {
    let access: RouteAccess
    let feature: Feature?
    let hostSwitch: HostSwitch?
    let handler: RouteGroup<Call>.Handler
    let `guard`: RouteGuard

    @Sendable func respond(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        do {
            if let feature, let tenant = context.tenant,
                !(try await `guard`.services.features.isEnabled(feature, for: tenant.id))
            {
                throw HTTPProblem.notFound()
            }
            let admission = try await `guard`.admit(request, context: context, access: access)
            if let hostSwitch, !hostSwitch.isOn {
                throw HTTPProblem(.forbidden, type: .featureDisabled, detail: hostSwitch.detail)
            }
            return try await handler(request, try Call(admission, context: context, services: `guard`.services))
        } catch let error as ServiceError {
            throw HTTPProblem(error)
        } catch let error as PostgresError {
            throw HTTPProblem(error) ?? error
        }
    }
}
