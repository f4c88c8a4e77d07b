import ScryptexAPI
import ScryptexCore
public import ScryptexHTTP
public import ScryptexPostgres
public import ScryptexTemplates
import ScryptexTenancy

/// Turns the problems a portal page meets into what a person in a browser expects: not signed
/// in (or the session ended) sends them to sign in; anything else is a page in the tenant's
/// branding that says what went wrong (a 403 names the permission the role lacks). API routes
/// are left alone.
public struct PortalPageMiddleware: HTTPMiddleware {
    let templates: TemplateLibrary
    let branding: BrandingCache
    let platformDomain: String

    public init(templates: TemplateLibrary, pool: PostgresConnectionPool, platformDomain: String) {
        self.templates = templates
        self.branding = BrandingCache(pool: pool)
        self.platformDomain = platformDomain
    }

    public func respond(
        to request: HTTPRequest, context: RequestContext, next: HTTPHandler
    ) async throws -> HTTPResponse {
        let path = request.path
        if context.tenant == nil, request.hostName == platformDomain,
            path == ConsoleRoutes.root || path.hasPrefix(ConsoleRoutes.root + "/")
        {
            return try await console(request, context: context, next: next)
        }
        guard path == "/" || path == PortalRoutes.root || path.hasPrefix(PortalRoutes.root + "/") else {
            return try await next(request, context)
        }
        do {
            return try await next(request, context)
        } catch let problem as HTTPProblem {
            guard let tenant = context.tenant, tenant.status == .active else { throw problem }
            if problem.status == .unauthorized {
                let hadSession = request.cookie(named: SessionCookie.name) != nil
                return .redirect(to: PortalRoutes.root + "/sign-in" + (hadSession ? "?expired=1" : ""))
            }
            return try page("portal-error", for: problem, brand: try await branding.value(for: tenant))
        }
    }

    /// The console's pages on the platform domain: to sign in without a session, else a page.
    private func console(
        _ request: HTTPRequest, context: RequestContext, next: HTTPHandler
    ) async throws -> HTTPResponse {
        do {
            return try await next(request, context)
        } catch let problem as HTTPProblem {
            if problem.status == .unauthorized {
                return .redirect(to: ConsoleRoutes.root + "/sign-in")
            }
            return try page("console-error", for: problem, brand: .null)
        }
    }

    /// `problem` as the page `template`, with its status and headers (`Retry-After`).
    private func page(_ template: String, for problem: HTTPProblem, brand: TemplateValue) throws -> HTTPResponse {
        let value: TemplateValue = [
            "title": .string(problem.status.reason), "brand": brand, "status": .number(String(problem.status.code)),
            "detail": .string(problem.detail),
        ]
        var response = PortalRoutes.html(try templates.render(template, value), status: problem.status)
        for (name, value) in problem.extraHeaders { response.headers.add(name: name, value: value) }
        return response
    }
}
