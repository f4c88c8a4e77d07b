public import Foundation
public import ScryptexCore
public import ScryptexPostgres
import ScryptexTenancy

/// Applies `AUDIT_RETENTION_DAYS` to every trail (the control plane's and each live tenant's):
/// records older than the retention period are deleted behind a signed checkpoint. The host runs
/// it at start and then daily; `scryptex audit purge` runs it on demand.
public struct AuditRetention: Sendable {
    let retentionDays: Int
    let keyring: Keyring
    let logger: Logger

    public init(retentionDays: Int, keyring: Keyring, logger: Logger) {
        self.retentionDays = retentionDays
        self.keyring = keyring
        self.logger = logger
    }

    /// - Returns: How many records were purged, and from how many trails.
    @discardableResult
    public func purgeAll(
        on pool: PostgresConnectionPool, now: Date = Date()
    ) async throws -> (records: Int, trails: Int) {
        let cutoff = now.addingTimeInterval(-Double(retentionDays) * 86_400)
        let schemas = try await Self.trails(on: pool)
        var total = 0
        for (schema, database) in schemas {
            let purged = try await database.withTransaction { transaction in
                try await AuditTrail(schema: schema).purge(
                    olderThan: cutoff, checkpointKey: keyring.auditCheckpointKey, in: transaction)
            }
            if purged > 0 {
                logger.notice(
                    "audit records past retention purged behind a checkpoint",
                    ["trail": schema.name, "records": String(purged), "retention_days": String(retentionDays)])
            }
            total += purged
        }
        return (total, schemas.count)
    }

    /// The schemas whose trails the host keeps — the control plane's and each live tenant's —
    /// each with the pool of the database it is on.
    public static func trails(
        on pool: PostgresConnectionPool
    ) async throws -> [(schema: SQLIdentifier, pool: PostgresConnectionPool)] {
        let tenants = try await TenantRegistry().tenants(statuses: [.active, .suspended], from: pool)
        return [(PlatformSchema.name, pool)] + (try tenants.map { ($0.schema, try pool.pool(for: $0.slug.value)) })
    }

    /// Purges now and then every `interval` until cancelled; failures are logged, not fatal.
    public func runPeriodically(on pool: PostgresConnectionPool, every interval: Duration = .seconds(86_400)) async {
        while !Task.isCancelled {
            do {
                try await purgeAll(on: pool)
            } catch {
                logger.error("audit retention purge failed", ["error": String(describing: error)])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
