import Foundation
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
import ScryptexWhiteLabel
import Synchronization

/// An instance's own request limit, in place of `RATE_LIMIT_TENANT` for its tenant.
struct InstanceLimits: Codable, Equatable, Sendable {
    var requestsPerSecond: Int
    var burst: Int?

    func validate() throws(ServiceError) {
        guard (1...1_000_000).contains(requestsPerSecond) else {
            throw ServiceError(.invalidInput, "field 'limits.requestsPerSecond': 1 to 1,000,000")
        }
        if let burst, !(1...10_000_000).contains(burst) {
            throw ServiceError(.invalidInput, "field 'limits.burst': 1 to 10,000,000")
        }
    }

    var rateLimit: RateLimiter.Limit {
        RateLimiter.Limit(ratePerSecond: Double(requestsPerSecond), burst: Double(burst ?? requestsPerSecond * 2))
    }
}

/// A white-label instance: a tenant plus its commercial terms.
struct WhiteLabelInstanceView: Encodable {
    var id: String
    var tenant: TenantSummary
    var plan: String
    var includedFeatures: [String]
    var branding: TenantBranding?
    var revenueShare: RevenueShareVersion?
    var placement: String
    var limits: InstanceLimits?
    var createdAt: Date
    var updatedAt: Date

    struct RevenueShareVersion: Codable {
        var effectiveFrom: String
        var plan: RevenuePlan
    }
}

/// Creates, reads and changes white-label instances for platform admins, through the tenancy
/// service (atomic, audited) and the revenue plan store.
struct WhiteLabelInstances {
    let services: RouteServices

    struct CreateRequest: Decodable {
        var slug: String
        var displayName: String
        var legalName: String?
        var plan: String?
        var features: [String: Bool]?
        var domains: [String]?
        var branding: TenantBranding?
        var revenueShare: RevenuePlan?
        var placement: String?
        var limits: InstanceLimits?
        var ownerKeyName: String?
    }

    struct UpdateRequest: Decodable {
        var displayName: String?
        var plan: String?
        var features: [String: Bool]?
        var branding: TenantBranding?
        var revenueShare: WhiteLabelInstanceView.RevenueShareVersion?
        var placement: String?
        var limits: InstanceLimits?
    }

    static func validatePlacement(_ placement: String?) throws(ServiceError) {
        if let placement, placement.range(of: "^[a-z][a-z0-9-]{0,39}$", options: .regularExpression) == nil {
            throw ServiceError(.invalidInput, "field 'placement': a database node name such as primary or eu-west-1")
        }
    }

    /// Provisions the tenant and its terms in one transaction; returns the view and the first
    /// owner key (shown once).
    func create(
        _ request: CreateRequest, admin: Principal, requestID: String
    ) async throws -> (
        WhiteLabelInstanceView, String
    ) {
        let plan = try CommercialPlan.named(request.plan ?? CommercialPlan.professional.rawValue)
        let flags = try plan.flags(requested: request.features ?? [:])
        try request.branding?.validate()
        try Self.validatePlacement(request.placement)
        try request.limits?.validate()
        let isolation = try PostgresJSON(encoding: request.limits.map { ["limits": $0] } ?? [:])
        let share =
            try request.revenueShare
            ?? RevenuePlan(
                model: .flat, currency: try Currency("USD"), percent: services.configuration.partnerRevenueShareDefault)
        do throws(ServiceError) {
            try share.validate()
        } catch {
            throw error.nested(under: "revenueShare")
        }
        let month = RevenueMonth.of(Date())
        let ownerKey = Mutex<String?>(nil)
        let keyring = services.identity.keyring
        let identity = services.identity
        let provisioner = TenantProvisioner(
            platformDomain: services.configuration.platformDomain, tenantSchema: SchemaPlans.tenant,
            logger: services.logger
        ) { tenant, transaction in
            try await TenantIdentitySetUp.setUp(
                tenant, keyring: keyring, actor: admin.actor, requestID: requestID, in: transaction)
            try await transaction.execute(
                """
                UPDATE platform.tenants SET plan = \(plan.rawValue), placement = \(request.placement ?? "primary")
                WHERE id = \(tenant.id)
                """)
            try await transaction.execute(
                """
                INSERT INTO platform.white_label_instances (tenant_id, plan, isolation)
                VALUES (\(tenant.id), \(plan.rawValue), \(isolation)::jsonb)
                """)
            try await request.branding?.save(for: tenant.id, in: transaction)
            try await RevenuePlanStore().add(
                share, effectiveMonth: month, partner: tenant.id, createdBy: admin.actor, in: transaction)
            try await AuditTrail(schema: PlatformSchema.name).append(
                AuditEvent(
                    actor: admin.actor, action: "white_label.instance.created", objectType: "tenant",
                    objectID: tenant.slug.value, requestID: requestID, details: ["plan": plan.rawValue]),
                in: transaction)
            try await TenantScope.run(as: tenant, in: transaction) {
                let (token, _) = try await identity.createAPIKey(
                    name: request.ownerKeyName ?? "first owner", roles: ["owner"], expiresAt: nil,
                    grantedBy: .host(actor: admin.actor), requestID: requestID, tenant: tenant, in: transaction)
                ownerKey.withLock { $0 = token.text }
            }
        }
        let tenant = try await provisioner.create(
            .init(
                slug: request.slug, displayName: request.displayName, legalName: request.legalName,
                domains: request.domains ?? [], features: flags),
            on: services.pool)
        return (try await view(tenant.slug.value), ownerKey.withLock { $0 } ?? "")
    }

    /// Changes an instance's terms in one transaction; every host sees it within a second.
    func update(
        _ reference: String, _ request: UpdateRequest, admin: Principal, requestID: String
    ) async throws -> WhiteLabelInstanceView {
        let instance = try await find(reference)
        try request.branding?.validate()
        try Self.validatePlacement(request.placement)
        try request.limits?.validate()
        if let displayName = request.displayName, !(1...200).contains(displayName.count) {
            throw ServiceError(.invalidInput, "field 'displayName': 1 to 200 characters")
        }
        try await services.pool.withTransaction { transaction in
            let row = try await transaction.query(
                """
                SELECT w.plan, coalesce((SELECT jsonb_object_agg(feature, enabled) FROM platform.tenant_features f
                                         WHERE f.tenant_id = w.tenant_id), '{}') AS features
                FROM platform.white_label_instances w WHERE w.id = \(instance.id) FOR UPDATE
                """
            ).firstRow
            let current = try CommercialPlan.named(try row.decode("plan", as: String.self))
            let plan = try request.plan.map { try CommercialPlan.named($0) } ?? current
            let flags = try plan.flags(
                requested: request.features ?? [:],
                current: try row.decode("features", as: PostgresJSON.self).decode([String: Bool].self))
            var changed: [String: String] = [:]
            if plan != current { changed["plan"] = plan.rawValue }
            if let limits = request.limits {
                try await transaction.execute(
                    """
                    UPDATE platform.white_label_instances
                    SET isolation = isolation || jsonb_build_object('limits', \(try PostgresJSON(encoding: limits))::jsonb)
                    WHERE id = \(instance.id)
                    """)
                changed["requestsPerSecond"] = String(limits.requestsPerSecond)
            }
            try await transaction.execute(
                """
                UPDATE platform.white_label_instances SET plan = \(plan.rawValue), updated_at = now() WHERE id = \(instance.id)
                """)
            try await transaction.execute(
                """
                UPDATE platform.tenants SET plan = \(plan.rawValue), placement = coalesce(\(request.placement), placement),
                    display_name = coalesce(\(request.displayName), display_name), updated_at = now()
                WHERE id = \(instance.tenant)
                """)
            for (feature, enabled) in flags.sorted(by: { $0.key < $1.key }) {
                try await transaction.execute(
                    """
                    INSERT INTO platform.tenant_features (tenant_id, feature, enabled) VALUES (\(instance.tenant), \(feature), \(enabled))
                    ON CONFLICT (tenant_id, feature) DO UPDATE SET enabled = excluded.enabled, updated_at = now()
                    WHERE tenant_features.enabled IS DISTINCT FROM excluded.enabled
                    """)
            }
            changed["features"] = flags.filter(\.value).keys.sorted().joined(separator: ",")
            if let branding = request.branding {
                try await branding.save(for: instance.tenant, in: transaction)
                changed["branding"] = "replaced"
            }
            if let version = request.revenueShare {
                do throws(ServiceError) {
                    try version.plan.validate()
                } catch {
                    throw error.nested(under: "revenueShare.plan")
                }
                try await RevenuePlanStore().add(
                    version.plan, effectiveMonth: version.effectiveFrom, partner: instance.tenant,
                    createdBy: admin.actor, in: transaction)
                changed["revenueShareFrom"] = version.effectiveFrom
            }
            try await AuditTrail(schema: PlatformSchema.name).append(
                AuditEvent(
                    actor: admin.actor, action: "white_label.instance.updated", objectType: "tenant",
                    objectID: instance.slug, requestID: requestID, details: changed),
                in: transaction)
            try await TenantChangeFeed.announce(instance.slug, in: transaction)
        }
        return try await view(instance.slug)
    }

    struct Reference {
        var id: UUID
        var tenant: UUID
        var slug: String
    }

    /// An instance by its id or its tenant's slug; 404 otherwise.
    func find(_ reference: String) async throws -> Reference {
        let id = UUID(uuidString: reference)
        let rows = try await services.pool.query(
            """
            SELECT w.id, w.tenant_id, t.slug FROM platform.white_label_instances w
            JOIN platform.tenants t ON t.id = w.tenant_id
            WHERE (w.id = \(id) OR t.slug = \(reference)) AND t.status <> 'deleted'
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no white-label instance '\(reference)'")
        }
        return Reference(
            id: try row.decode("id", as: UUID.self), tenant: try row.decode("tenant_id", as: UUID.self),
            slug: try row.decode("slug", as: String.self))
    }

    func view(_ slug: String) async throws -> WhiteLabelInstanceView {
        let tenant = try await AdminTenantRoutes.summary(try TenantSlug(slug), pool: services.pool)
        let rows = try await services.pool.query(
            """
            SELECT w.id, w.tenant_id, w.plan, w.created_at, w.updated_at, t.placement, w.isolation -> 'limits' AS limits,
                (SELECT jsonb_build_object('effectiveFrom', r.effective_month, 'plan', r.plan)
                 FROM platform.revenue_plans r WHERE r.tenant_id = t.id AND r.effective_month <= \(RevenueMonth.of(Date()))
                 ORDER BY r.effective_month DESC LIMIT 1) AS revenue_share
            FROM platform.white_label_instances w JOIN platform.tenants t ON t.id = w.tenant_id
            WHERE t.slug = \(slug)
            """
        )
        guard let row = rows.first else { throw ServiceError(.notFound, "no white-label instance '\(slug)'") }
        let plan = try CommercialPlan.named(try row.decode("plan", as: String.self))
        let branding = try await TenantBranding.load(
            for: try row.decode("tenant_id", as: UUID.self), from: services.pool)
        return WhiteLabelInstanceView(
            id: try row.decode("id", as: UUID.self).uuidString.lowercased(), tenant: tenant, plan: plan.rawValue,
            includedFeatures: plan.features.sorted().map(\.rawValue), branding: branding,
            revenueShare: try row.decode("revenue_share", as: PostgresJSON?.self)?.decode(
                WhiteLabelInstanceView.RevenueShareVersion.self),
            placement: try row.decode("placement", as: String.self),
            limits: try row.decode("limits", as: PostgresJSON?.self)?.decode(InstanceLimits.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }

    func list() async throws -> [WhiteLabelInstanceView] {
        var views: [WhiteLabelInstanceView] = []
        for row in try await services.pool.query(
            """
            SELECT t.slug FROM platform.white_label_instances w JOIN platform.tenants t ON t.id = w.tenant_id
            WHERE t.status <> 'deleted' ORDER BY t.slug
            """
        ) {
            views.append(try await view(try row.decode("slug", as: String.self)))
        }
        return views
    }
}
