public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// The control plane's tenant rows — tenants, their domains and their feature flags — read and
/// written for the other modules and the app, which never name these tables themselves
/// (branding is `TenantBranding`'s).
public struct TenantRegistry: Sendable {
    public init() {}

    // MARK: Tenants

    /// The tenant with `slug`, when its status is one of `statuses` (any status when nil).
    public func tenant(
        _ slug: TenantSlug, statuses: Set<Tenant.Status>? = nil, from database: some PostgresQuerying
    ) async throws -> Tenant? {
        let rows = try await database.query(
            "SELECT id, slug, display_name, status FROM platform.tenants WHERE slug = \(slug.value)", timeout: nil)
        return try rows.first.map { try Tenant(row: $0) }.flatMap { tenant in
            statuses.map { $0.contains(tenant.status) } ?? true ? tenant : nil
        }
    }

    /// The tenant with `id`, whatever its status.
    public func tenant(id: UUID, from database: some PostgresQuerying) async throws -> Tenant? {
        let rows = try await database.query(
            "SELECT id, slug, display_name, status FROM platform.tenants WHERE id = \(id)", timeout: nil)
        return try rows.first.map { try Tenant(row: $0) }
    }

    /// Every tenant whose status is one of `statuses` (all when nil), by slug.
    public func tenants(
        statuses: Set<Tenant.Status>? = nil, from database: some PostgresQuerying
    ) async throws
        -> [Tenant]
    {
        let rows = try await database.query(
            "SELECT id, slug, display_name, status FROM platform.tenants ORDER BY slug", timeout: nil)
        return try rows.map { try Tenant(row: $0) }.filter { tenant in
            statuses.map { $0.contains(tenant.status) } ?? true
        }
    }

    /// The live tenants (provisioning, active or suspended) and those of them whose schema is at
    /// a generation below `generation`, by slug: one query, so a migration run with nothing to do
    /// costs one round trip.
    public func schemasBehind(
        generation: Int, from database: some PostgresQuerying
    ) async throws
        -> (live: Int, behind: [TenantSlug])
    {
        let rows = try await database.query(
            """
            SELECT slug, schema_version < \(generation) AS behind FROM platform.tenants
            WHERE status IN ('active', 'suspended', 'provisioning') ORDER BY slug
            """,
            timeout: nil)
        let behind = try rows.filter { try $0.decode("behind", as: Bool.self) }.map {
            try TenantSlug(try $0.decode("slug", as: String.self))
        }
        return (rows.count, behind)
    }

    /// A tenant with everything the control plane holds of it but its branding, or nil.
    public func summary(of slug: TenantSlug, from database: some PostgresQuerying) async throws -> TenantSummary? {
        try await summaries(where: slug, from: database).first
    }

    /// Every tenant's summary, by slug.
    public func summaries(from database: some PostgresQuerying) async throws -> [TenantSummary] {
        try await summaries(where: nil, from: database)
    }

    private func summaries(
        where slug: TenantSlug?, from database: some PostgresQuerying
    ) async throws
        -> [TenantSummary]
    {
        let rows = try await database.query(
            """
            SELECT t.id, t.slug, t.display_name, t.legal_name, t.status, t.plan, t.placement, t.schema_version,
                   t.created_at,
                   coalesce((SELECT array_agg(hostname ORDER BY hostname) FROM platform.tenant_domains d
                             WHERE d.tenant_id = t.id), '{}') AS domains,
                   coalesce((SELECT jsonb_object_agg(feature, enabled) FROM platform.tenant_features f
                             WHERE f.tenant_id = t.id), '{}') AS features
            FROM platform.tenants t WHERE \(slug?.value)::text IS NULL OR t.slug = \(slug?.value) ORDER BY t.slug
            """,
            timeout: nil)
        return try rows.map { row in
            TenantSummary(
                id: try row.decode("id", as: UUID.self), slug: try row.decode("slug", as: String.self),
                displayName: try row.decode("display_name", as: String.self),
                legalName: try row.decode("legal_name", as: String?.self),
                status: try row.decode("status", as: String.self), plan: try row.decode("plan", as: String.self),
                placement: try row.decode("placement", as: String.self),
                schemaVersion: try row.decode("schema_version", as: Int.self),
                domains: try row.decode("domains", as: [String].self),
                features: try row.decode("features", as: PostgresJSON.self).decode([String: Bool].self),
                createdAt: try row.decode("created_at", as: Date.self))
        }
    }

    /// Changes a tenant's display name, commercial plan or database placement (nil leaves one as it is).
    public func update(
        _ tenant: UUID, displayName: String? = nil, plan: String? = nil, placement: String? = nil,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE platform.tenants SET display_name = coalesce(\(displayName), display_name),
                plan = coalesce(\(plan), plan), placement = coalesce(\(placement), placement), updated_at = now()
            WHERE id = \(tenant)
            """
        )
    }

    /// Sets a tenant's display and legal names (a legal name of nil clears it).
    public func rename(
        _ tenant: UUID, displayName: String, legalName: String?, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE platform.tenants SET display_name = \(displayName), legal_name = \(legalName), updated_at = now()
            WHERE id = \(tenant)
            """
        )
    }

    // MARK: Feature flags

    /// A tenant's feature flags by name.
    public func featureFlags(of tenant: UUID, from database: some PostgresQuerying) async throws -> [String: Bool] {
        var flags: [String: Bool] = [:]
        for row in try await database.query(
            "SELECT feature, enabled FROM platform.tenant_features WHERE tenant_id = \(tenant)", timeout: nil)
        {
            flags[try row.decode("feature", as: String.self)] = try row.decode("enabled", as: Bool.self)
        }
        return flags
    }

    /// Sets each of `flags` (others stay as they are).
    public func setFeatureFlags(
        _ flags: [String: Bool], of tenant: UUID, in transaction: PostgresTransaction
    )
        async throws
    {
        for (feature, enabled) in flags.sorted(by: { $0.key < $1.key }) {
            try await transaction.execute(
                """
                INSERT INTO platform.tenant_features (tenant_id, feature, enabled) VALUES (\(tenant), \(feature), \(enabled))
                ON CONFLICT (tenant_id, feature) DO UPDATE SET enabled = excluded.enabled, updated_at = now()
                WHERE tenant_features.enabled IS DISTINCT FROM excluded.enabled
                """)
        }
    }

    // MARK: Domains

    /// Every host name a tenant answers on, with its tenant's slug, by name.
    public func hostNames(from database: some PostgresQuerying) async throws -> [(hostName: String, slug: String)] {
        let rows = try await database.query(
            """
            SELECT d.hostname, t.slug FROM platform.tenant_domains d JOIN platform.tenants t ON t.id = d.tenant_id
            ORDER BY d.hostname
            """,
            timeout: nil)
        return try rows.map { (try $0.decode("hostname", as: String.self), try $0.decode("slug", as: String.self)) }
    }

    /// The tenant `hostName` belongs to, if any.
    public func owner(of hostName: String, from database: some PostgresQuerying) async throws -> UUID? {
        try await database.query(
            "SELECT tenant_id FROM platform.tenant_domains WHERE hostname = \(hostName)", timeout: nil
        ).first?.decode("tenant_id", as: UUID.self)
    }

    /// Adds a custom domain (already normalized and checked against the platform's names); it is
    /// served once verified (`DomainVerification`).
    /// - Throws: `ServiceError.conflict` when another tenant, or this one, has it already.
    public func addCustomDomain(_ hostName: String, to tenant: UUID, in transaction: PostgresTransaction) async throws {
        do {
            try await transaction.execute(
                """
                INSERT INTO platform.tenant_domains (hostname, tenant_id, kind, verification_token, verification_state)
                VALUES (\(hostName), \(tenant), 'custom', \(SecureRandom.hexToken(byteCount: 16)),
                        \(DomainVerification.initialState(of: hostName, kind: "custom").rawValue))
                """)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ServiceError(.conflict, "the domain '\(hostName)' already belongs to a tenant")
        }
    }

    /// Removes a custom domain; false when the tenant has no such custom domain.
    public func removeCustomDomain(
        _ hostName: String, from tenant: UUID, in transaction: PostgresTransaction
    )
        async throws -> Bool
    {
        try await transaction.execute(
            """
            DELETE FROM platform.tenant_domains WHERE hostname = \(hostName) AND tenant_id = \(tenant) AND kind = 'custom'
            """) == 1
    }
}

/// A tenant as platform admins see it: its row, its domains and its feature flags.
public struct TenantSummary: Sendable, Equatable, Encodable {
    public var id: UUID
    public var slug: String
    public var displayName: String
    public var legalName: String?
    public var status: String
    public var plan: String
    public var placement: String
    public var schemaVersion: Int
    public var domains: [String]
    public var features: [String: Bool]
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, slug, displayName, legalName, status, plan, schemaVersion, domains, features, createdAt
    }
}
