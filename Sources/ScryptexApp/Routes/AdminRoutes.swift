import Foundation
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// The platform admin API, on the platform domain only, with platform-admin keys only.
enum AdminRoutes {
    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        AdminTenantRoutes.add(to: &routes)
        // Temporary, audited, read-only access to one tenant's data for a stated reason.
        routes.add(.post, "/admin/api/break-glass", .platformAdmin) { request, context in
            guard let principal = context[PrincipalKey.self] else { throw HTTPProblem.notFound() }
            struct Body: Decodable {
                var tenant: String
                var reason: String
                var minutes: Int
            }
            let body = try request.decodeJSON(Body.self)
            // Checked before any arithmetic: the grant's length is bounded by the service anyway.
            guard (1...480).contains(body.minutes) else {
                throw HTTPProblem.badRequest("field 'minutes': a grant lasts 1 to 480 minutes", type: .invalidField)
            }
            let slug: TenantSlug
            do { slug = try TenantSlug(body.tenant) } catch { throw HTTPProblem.badRequest("field 'tenant': \(error)") }
            guard
                var tenant = try await TenantRegistry().tenant(
                    slug, statuses: [.active, .suspended], from: services.pool)
            else { throw HTTPProblem.notFound("no tenant '\(slug)'") }
            // Break-glass reaches a suspended tenant's data too.
            tenant.status = .active
            let grant = try await services.identity.grantBreakGlass(
                adminPrefix: String(principal.actor.dropFirst("platform-admin:".count)), tenant: tenant,
                reason: body.reason, duration: .seconds(body.minutes * 60), requestID: context.requestID)
            return try JSONResponse.encode(["grant": grant.uuidString.lowercased()], status: .created)
        }
        routes.add(.get, "/admin/api/audit-trail/verify", .platformAdmin) { _, _ in
            let verification = try await services.pool.withTransaction { transaction in
                try await services.sealing.verify(
                    PlatformSchema.name, checkpointKey: services.identity.keyring.auditCheckpointKey,
                    in: transaction)
            }
            return try JSONResponse.encode(verification)
        }
    }
}
