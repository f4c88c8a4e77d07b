import ScryptexCore
public import ScryptexHTTP
public import ScryptexTenancy

/// The tenant a request is for, set by `TenantResolutionFilter`.
private enum TenantKey: RequestContextKey {
    typealias Value = Tenant
}

extension RequestContext {
    /// The tenant whose domain the request came to; nil on the platform's own domain and on
    /// names that serve no tenant.
    public internal(set) var tenant: Tenant? {
        get { self[TenantKey.self] }
        set { self[TenantKey.self] = newValue }
    }

    /// The request's tenant, which must be serving: 404 (naming no tenant) for unknown hosts and
    /// deleted tenants, 503 while suspended or provisioning.
    public func servingTenant() throws -> Tenant {
        guard let tenant, tenant.status != .deleted, tenant.status != .deleting else {
            throw HTTPProblem.notFound("no partner platform is served at this address")
        }
        guard tenant.status == .active else {
            throw HTTPProblem(
                .serviceUnavailable, type: .tenantUnavailable, detail: "this platform is temporarily unavailable")
        }
        return tenant
    }
}

/// Finds the tenant for the request's Host (one in-memory lookup), on the I/O thread. A TLS
/// request whose Host differs from the name it asked for in SNI gets 421, so a connection
/// opened for one partner's domain is never used for another's.
public struct TenantResolutionFilter: HTTPRequestFilter {
    let directory: TenantDirectory

    public init(directory: TenantDirectory) {
        self.directory = directory
    }

    public func filter(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
        guard let host = request.headers.first("host"), let name = HostName.normalized(host) else {
            throw HTTPProblem.badRequest("the Host header is missing or is not a host name", type: .missingHost)
        }
        if let serverName = context.serverName, serverName != name {
            throw HTTPProblem(
                .misdirectedRequest, type: .misdirectedRequest,
                detail: "this connection was opened for another host name; open a new connection for \(name)"
            )
        }
        context.tenant = directory.tenant(forHost: name)
        return nil
    }
}

/// `ENABLE_ENTERPRISE_FEATURES=false`: every `/api/enterprise` route answers 403, naming the
/// variable, before anything else runs.
public struct EnterpriseSwitchFilter: HTTPRequestFilter {
    public static let prefix = "/api/enterprise"

    public init() {}

    public func filter(_ request: HTTPRequest, context: inout RequestContext) throws -> HTTPResponse? {
        let path = request.path
        guard path == Self.prefix || path.hasPrefix(Self.prefix + "/") else { return nil }
        throw HTTPProblem(
            .forbidden, type: .featureDisabled,
            detail: "the enterprise API is switched off on this host (ENABLE_ENTERPRISE_FEATURES=false)")
    }
}
