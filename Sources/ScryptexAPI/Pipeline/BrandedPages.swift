import Foundation
public import ScryptexHTTP
public import ScryptexPostgres
public import ScryptexTemplates
public import ScryptexTenancy

/// Answers browsers with pages instead of problem documents where a person is the reader: a
/// suspended partner's platform gets its own branded 503 page, an address that serves no
/// partner a plain 404 page that names none. API clients (no `text/html` in `Accept`) keep the
/// JSON problem.
public struct BrandedPageMiddleware: HTTPMiddleware {
    let templates: TemplateLibrary
    let pool: PostgresConnectionPool
    let platformDomain: String

    public init(templates: TemplateLibrary, pool: PostgresConnectionPool, platformDomain: String) {
        self.templates = templates
        self.pool = pool
        self.platformDomain = platformDomain
    }

    public func respond(
        to request: HTTPRequest, context: RequestContext, next: HTTPHandler
    ) async throws -> HTTPResponse {
        do {
            return try await next(request, context)
        } catch let problem as HTTPProblem {
            guard (request.headers.first("accept") ?? "").contains("text/html") else { throw problem }
            if let tenant = unavailableTenant(problem, context: context) {
                var response = HTTPResponse(
                    status: .serviceUnavailable, contentType: "text/html; charset=utf-8",
                    body: Array(try templates.render("suspended", try await branding(of: tenant)).utf8))
                response.headers.add(name: "Retry-After", value: "3600")
                response.headers.add(name: "Cache-Control", value: "no-store")
                return response
            }
            // The "no platform here" page, for a 404 on a name that is neither a tenant's nor the platform's.
            if problem.status == .notFound, context.tenant == nil, request.hostName != platformDomain {
                return HTTPResponse(
                    status: .notFound, contentType: "text/html; charset=utf-8",
                    body: Array(try templates.render("not-found", [:]).utf8))
            }
            throw problem
        }
    }

    /// The tenant whose platform is unavailable, when that is what the problem amounts to: its
    /// 503, or a 404 on its domain while it is suspended (a browser asking for any page of it).
    private func unavailableTenant(_ problem: HTTPProblem, context: RequestContext) -> Tenant? {
        guard let tenant = context.tenant else { return nil }
        if problem.status == .serviceUnavailable && problem.problemType == .tenantUnavailable { return tenant }
        if problem.status == .notFound && (tenant.status == .suspended || tenant.status == .provisioning) {
            return tenant
        }
        return nil
    }

    private func branding(of tenant: Tenant) async throws -> TemplateValue {
        TenantBranding.templateValue(
            try await TenantBranding.load(for: tenant.id, from: pool), displayName: tenant.displayName)
    }
}

extension TenantBranding {
    /// A tenant's branding as every branded page reads it (`brand.productName`, `brand.logoURL`,
    /// …); without branding, the tenant's display name and nothing else.
    public static func templateValue(_ branding: TenantBranding?, displayName: String) -> TemplateValue {
        func text(_ value: String?) -> TemplateValue { value.map { .string($0) } ?? .null }
        return .object([
            "productName": .string(branding?.productName ?? displayName),
            "logoURL": text(branding?.logoURL), "supportEmail": text(branding?.supportEmail),
            "supportURL": text(branding?.supportURL), "legalFooter": text(branding?.legalFooter),
            "colors": .object((branding?.colors ?? [:]).mapValues { .string($0) }),
        ])
    }
}
