import Foundation
public import ScryptexCore
public import ScryptexPostgres
public import ScryptexTenancy

/// The identity side of a tenant's life: its data key and the first records of its trail.
public enum TenantIdentitySetUp {
    /// A provisioner whose tenants get a data key and a `tenant.provisioned` record in their own
    /// trail and in the control plane's, all inside the provisioning transaction.
    public static func provisioner(
        platformDomain: String, tenantSchema: TenantSchemaPlan, keyring: Keyring, logger: Logger
    ) -> TenantProvisioner {
        TenantProvisioner(platformDomain: platformDomain, tenantSchema: tenantSchema, logger: logger) {
            tenant, transaction in
            try await setUp(tenant, keyring: keyring, actor: "system", requestID: nil, in: transaction)
        }
    }

    /// The data key and the `tenant.provisioned` records, inside the provisioning transaction.
    public static func setUp(
        _ tenant: Tenant, keyring: Keyring, actor: String, requestID: String?, in transaction: PostgresTransaction
    ) async throws {
        try await keyring.createFirstKey(for: tenant.id, in: transaction)
        let event = AuditEvent(
            actor: actor, action: "tenant.provisioned", objectType: "tenant", objectID: tenant.slug.value,
            requestID: requestID, details: ["displayName": tenant.displayName])
        try await AuditTrail(schema: tenant.schema).append(event, in: transaction)
        try await AuditTrail(schema: PlatformSchema.name).append(event, in: transaction)
    }

    /// Writes tenant lifecycle events to the control plane's trail and, while it exists, the
    /// tenant's own, naming `actor` (`operator` for the CLI, the admin key for the API).
    public static func lifecycleRecorder(actor: String, requestID: String? = nil) -> TenantEventRecorder {
        { event, transaction in
            let record = AuditEvent(
                actor: actor, action: event.action, objectType: "tenant", objectID: event.slug.value,
                requestID: requestID)
            try await AuditTrail(schema: PlatformSchema.name).append(record, in: transaction)
            if event.tenantSchemaExists {
                try await AuditTrail(schema: event.slug.schema).append(
                    record, in: event.tenantTransaction ?? transaction)
            }
        }
    }

    /// Gives a data key to every live tenant that has none (tenants created before keys existed).
    public static func ensureDataKeys(keyring: Keyring, on pool: PostgresConnectionPool) async throws {
        try await pool.withTransaction { transaction in
            let live = try await TenantRegistry().tenants(
                statuses: [.provisioning, .active, .suspended], from: transaction)
            try await keyring.createMissingKeys(for: live.map(\.id), in: transaction)
        }
    }
}
