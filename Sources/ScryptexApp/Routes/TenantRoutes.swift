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
            let rows = try await pool.query(
                """
                SELECT b.product_name, b.logo_url, b.colors, b.css_variables, b.support_email, b.support_url, b.legal_footer
                FROM platform.tenant_branding b WHERE b.tenant_id = \(tenant.id)
                """
            )
            guard let row = rows.first else { throw HTTPProblem.notFound("this tenant has no branding yet") }
            let branding = Branding(
                displayName: tenant.displayName,
                productName: try row.decode("product_name", as: String.self),
                logoURL: try row.decode("logo_url", as: String?.self),
                colors: try row.decode("colors", as: PostgresJSON.self).decode([String: String].self),
                cssVariables: try row.decode("css_variables", as: PostgresJSON.self).decode([String: String].self),
                supportEmail: try row.decode("support_email", as: String?.self),
                supportURL: try row.decode("support_url", as: String?.self),
                legalFooter: try row.decode("legal_footer", as: String?.self)
            )
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

    struct Branding: Encodable {
        var displayName: String
        var productName: String
        var logoURL: String?
        var colors: [String: String]
        var cssVariables: [String: String]
        var supportEmail: String?
        var supportURL: String?
        var legalFooter: String?
    }
}
