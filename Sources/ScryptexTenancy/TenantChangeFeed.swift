public import Foundation
public import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// Tells every host that the control plane changed, through PostgreSQL `NOTIFY` on one channel.
/// Notifications sent inside a transaction are delivered when it commits, so hosts never reload
/// a change that was rolled back.
public enum TenantChangeFeed {
    public static let channel = "scryptex_tenants"

    /// Announces a change to `slug` (delivered at commit).
    public static func announce(_ slug: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("SELECT pg_notify(\(channel), \(slug))")
    }
}

extension TenantDirectory {
    /// Keeps the directory current: reloads on every change notification, and in full whenever the
    /// listening connection comes back after a loss (changes made meanwhile were not heard).
    /// Runs until its task is cancelled.
    public func follow(
        configuration: PostgresConfiguration,
        pool: PostgresConnectionPool,
        clusters: TenantClusters? = nil,
        logger: Logger
    ) async throws {
        let listener = try PostgresNotificationListener(
            configuration: configuration, channels: [TenantChangeFeed.channel], logger: logger
        )
        let directory = self
        await withDiscardingTaskGroup { group in
            group.addTask { await listener.run() }
            for await event in listener.events {
                switch event {
                case .notification, .reconnected, .listening:
                    do {
                        // Placements first: a moved tenant's requests go to its new cluster.
                        try await clusters?.reload(from: pool)
                        try await directory.reload(from: pool)
                        logger.debug("tenant directory reloaded", ["hosts": String(directory.count)])
                    } catch {
                        logger.warning("tenant directory reload failed", ["error": String(describing: error)])
                    }
                case .disconnected:
                    break
                }
            }
        }
    }
}

/// Suspends and resumes tenants. A suspended tenant's domains answer 503; its data is untouched.
public struct TenantLifecycle: Sendable {
    private let record: TenantEventRecorder?

    /// - Parameter record: Writes each change to the audit trails, in the same transaction.
    public init(record: TenantEventRecorder? = nil) {
        self.record = record
    }

    /// - Throws: `ServiceError` `.notFound` for an unknown slug, `.invalidInput` for a tenant being deleted.
    public func setStatus(_ status: Tenant.Status, of slug: String, on pool: PostgresConnectionPool) async throws {
        let slug = try TenantSlug(slug)
        precondition(status == .active || status == .suspended, "only suspend and resume change status here")
        try await TenantScope.withControlPlaneTransaction(for: slug, on: pool) { transaction, tenantTransaction in
            let current = try await transaction.query(
                "SELECT id, status FROM platform.tenants WHERE slug = \(slug.value) FOR UPDATE")
            guard let value = try current.first?.decode("status", as: String.self),
                let id = try current.first?.decode("id", as: UUID.self)
            else {
                throw ServiceError(.notFound, "no tenant has the slug '\(slug)'")
            }
            guard value == "active" || value == "suspended" else {
                throw ServiceError(
                    .invalidInput,
                    "tenant '\(slug)' is \(value) and cannot be \(status == .active ? "resumed" : "suspended")")
            }
            try await transaction.execute(
                "UPDATE platform.tenants SET status = \(status.rawValue), updated_at = now() WHERE slug = \(slug.value)"
            )
            if value != status.rawValue {
                try await record?(
                    TenantEvent(
                        slug: slug, tenantID: id, action: status == .active ? "tenant.resumed" : "tenant.suspended",
                        tenantTransaction: tenantTransaction),
                    transaction)
            }
            try await TenantChangeFeed.announce(slug.value, in: transaction)
        }
    }
}

/// A change in a tenant's life, for the audit trails.
public struct TenantEvent: Sendable {
    public var slug: TenantSlug
    public var tenantID: UUID
    /// `tenant.suspended`, `tenant.resumed`, `tenant.deleted`.
    public var action: String
    /// Whether the tenant's own schema still exists (false once it is being deleted).
    public var tenantSchemaExists: Bool = true
    /// Where the tenant's own schema is reached when it lives on another cluster than the control
    /// plane: a transaction there, committed right after the control plane's. Nil: the same
    /// transaction as the control plane's.
    public var tenantTransaction: PostgresTransaction? = nil
}

/// Records tenant events inside the transaction that makes the change (the audit trail lives in
/// another module; tenancy only says what happened).
public typealias TenantEventRecorder = @Sendable (TenantEvent, PostgresTransaction) async throws -> Void
