import Foundation
import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// Host name → tenant, in memory: one hash lookup per request. Loaded from the control plane
/// (custom domains and `<slug>.<platformDomain>` subdomains, both stored as domain rows).
public final class TenantDirectory: Sendable {
    private let byHost = Mutex<[String: Tenant]>([:])

    public init() {}

    /// Replaces the index with what the control plane holds now.
    public func reload(from pool: PostgresConnectionPool) async throws {
        let rows = try await pool.query(
            """
            SELECT d.hostname, t.id, t.slug, t.display_name, t.status
            FROM platform.tenant_domains d JOIN platform.tenants t ON t.id = d.tenant_id
            WHERE t.status <> 'deleted' AND d.verification_state = 'verified'
            """
        )
        var index: [String: Tenant] = [:]
        for row in rows {
            index[try row.decode("hostname", as: String.self)] = try Tenant(row: row)
        }
        byHost.withLock { $0 = index }
    }

    /// The tenant serving `host` (any case, with or without port or trailing dot).
    public func tenant(forHost host: String) -> Tenant? {
        // Keys are normalized names, so an exact hit needs no normalizing (the common case once a
        // caller has normalized the Host); anything else is normalized and looked up again.
        if let tenant = byHost.withLock({ $0[host] }) { return tenant }
        guard let name = HostName.normalized(host), name != host else { return nil }
        return byHost.withLock { $0[name] }
    }

    public var count: Int { byHost.withLock { $0.count } }

    /// Every host name served, with its tenant.
    public var hosts: [(name: String, tenant: Tenant)] {
        byHost.withLock { $0.map { ($0.key, $0.value) } }.sorted { $0.name < $1.name }
    }
}
