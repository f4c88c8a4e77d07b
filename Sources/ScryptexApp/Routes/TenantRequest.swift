import Foundation
import ScryptexHTTP
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy

/// Appends to one tenant's trail as the request's principal.
struct TenantAuditSink: AuditSink {
    let schema: SQLIdentifier
    let actor: String
    let requestID: String?

    func record(
        _ action: String, objectType: String, objectID: String?, accountID: UUID?, details: [String: String],
        in transaction: PostgresTransaction
    ) async throws {
        try await AuditTrail(schema: schema).append(
            AuditEvent(
                actor: actor, action: action, objectType: objectType, objectID: objectID, accountID: accountID,
                requestID: requestID, details: details),
            in: transaction)
    }
}

/// What an institutional route needs for one request: the tenant, its scope, the principal's
/// audit sink and the tenant's keys on demand.
struct TenantRequest {
    let tenant: Tenant
    let principal: Principal
    let scope: TenantScope
    let audit: TenantAuditSink
    let services: RouteServices

    init(_ context: RequestContext, services: RouteServices) throws {
        tenant = try TenantRoutes.requireTenant(context)
        principal = try IdentityRoutes.principalOf(context)
        scope = TenantScope(tenant: tenant, pool: services.pool)
        audit = TenantAuditSink(schema: tenant.schema, actor: principal.actor, requestID: context.requestID)
        self.services = services
    }

    func keys() async throws -> Keyring.TenantKeys {
        try await services.identity.keyring.keys(for: tenant.id, on: services.pool)
    }
}
