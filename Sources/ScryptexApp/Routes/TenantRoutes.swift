import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy

/// The tenant a request is for, set by `TenantResolutionMiddleware`.
enum TenantKey: RequestContextKey {
    typealias Value = Tenant
}

/// Finds the tenant for the request's Host (one in-memory lookup). A TLS request whose Host
/// differs from the name it asked for in SNI gets 421, so a connection opened for one partner's
/// domain is never used for another's.
struct TenantResolutionMiddleware: HTTPMiddleware {
    let directory: TenantDirectory

    func respond(to request: HTTPRequest, context: RequestContext, next: HTTPHandler) async throws -> HTTPResponse {
        try await next(request, try resolve(request, context: context))
    }

    func respondImmediately(
        to request: HTTPRequest, context: RequestContext, next: HTTPImmediateNext
    ) throws -> HTTPResponse? {
        try next(request, try resolve(request, context: context))
    }

    /// The context with the request's tenant (none for the platform's own or unknown names).
    private func resolve(_ request: HTTPRequest, context: RequestContext) throws -> RequestContext {
        guard let host = request.headers.first("host"), let name = HostName.normalized(host) else {
            throw HTTPProblem.badRequest("the Host header is missing or is not a host name", type: .missingHost)
        }
        if let serverName = context.serverName, serverName != name {
            throw HTTPProblem(
                .misdirectedRequest, type: .misdirectedRequest,
                detail: "this connection was opened for another host name; open a new connection for \(name)"
            )
        }
        var context = context
        context[TenantKey.self] = directory.tenant(forHost: name)
        return context
    }
}

/// Routes answered per tenant.
enum TenantRoutes {
    static func add(to routes: inout SecuredRouter) {
        let pool = routes.services.pool
        routes.add(.get, "/api/enterprise/branding", .publicTenant) { _, context in
            let tenant = try requireTenant(context)
            guard let stored = try await TenantBranding.load(for: tenant.id, from: pool) else {
                throw HTTPProblem.notFound("this tenant has no branding yet")
            }
            let branding = Branding(displayName: tenant.displayName, branding: stored)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return .json(String(decoding: try encoder.encode(branding), as: UTF8.self))
        }
    }

    /// The request's tenant; 404 (naming no tenant) for unknown hosts, 503 while suspended.
    static func requireTenant(_ context: RequestContext) throws -> Tenant {
        guard let tenant = context[TenantKey.self], tenant.status != .deleted, tenant.status != .deleting else {
            throw HTTPProblem.notFound("no partner platform is served at this address")
        }
        guard tenant.status == .active else {
            throw HTTPProblem(
                .serviceUnavailable, type: .tenantUnavailable, detail: "this platform is temporarily unavailable")
        }
        return tenant
    }

    /// The tenant's branding with its display name, as one JSON object.
    struct Branding: Encodable {
        var displayName: String
        var branding: TenantBranding

        enum CodingKeys: String, CodingKey { case displayName }

        func encode(to encoder: any Encoder) throws {
            try branding.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(displayName, forKey: .displayName)
        }
    }
}
