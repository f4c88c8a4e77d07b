import Foundation
import ScryptexAPI
import ScryptexPostgres
import ScryptexTemplates
import ScryptexTenancy
import ScryptexWhiteLabel
import Synchronization

/// Each tenant's branding as pages use it, read from the control plane and kept for at most
/// a second (a change made on any host shows within a second), so a page from cache costs no
/// query for it.
final class BrandingCache: Sendable {
    struct Entry {
        var branding: TenantBranding?
        var value: TemplateValue
        /// Whether the tenant is a white-label instance (a partner with a revenue share).
        var isWhiteLabelInstance: Bool
        var loaded: ContinuousClock.Instant
    }

    private let pool: PostgresConnectionPool
    private let entries = Mutex<[UUID: Entry]>([:])

    init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    func entry(for tenant: Tenant) async throws -> Entry {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[tenant.id] }), now - entry.loaded < .seconds(1) { return entry }
        let branding = try await TenantBranding.load(for: tenant.id, from: pool)
        let instance = try await WhiteLabelStore().find(tenant.slug.value, from: pool)
        let entry = Entry(
            branding: branding, value: TenantBranding.templateValue(branding, displayName: tenant.displayName),
            isWhiteLabelInstance: instance?.tenant == tenant.id, loaded: now)
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[tenant.id] = entry
        }
        return entry
    }

    func value(for tenant: Tenant) async throws -> TemplateValue { try await entry(for: tenant).value }
}
