public import Foundation
public import ScryptexCore
public import ScryptexIdentity
public import ScryptexPostgres
public import ScryptexRevenue
public import ScryptexTenancy
import Synchronization

/// A white-label instance: a tenant plus its commercial terms.
public struct WhiteLabelInstanceView: Encodable, Sendable {
    public var id: UUID
    public var tenant: TenantSummary
    public var plan: String
    public var includedFeatures: [String]
    public var branding: TenantBranding?
    public var revenueShare: RevenueShareVersion?
    public var placement: String
    public var limits: InstanceLimits?
    public var createdAt: Date
    public var updatedAt: Date

    public struct RevenueShareVersion: Codable, Sendable {
        public var effectiveFrom: String
        public var plan: RevenuePlan
    }
}

/// Creates, reads and changes white-label instances for platform admins: the tenant (through
/// the tenancy provisioner, with the app's per-tenant set-up), its commercial plan and limits,
/// branding and revenue-share plan, and its first owner key, in one audited transaction.
public struct WhiteLabelInstances: Sendable {
    /// Work the app does for every tenant it creates (its data key, its first audit records),
    /// inside the provisioning transaction; named by the admin's actor and the request.
    public typealias TenantSetUp =
        @Sendable (Tenant, _ actor: String, _ requestID: String, PostgresTransaction) async throws -> Void

    public struct Options: Sendable {
        public var platformDomain: String
        public var tenantSchema: TenantSchemaPlan
        /// The share a new instance gets when its request names none.
        public var defaultRevenueSharePercent: ExactDecimal
        /// `CUSTOM_DOMAIN_SUPPORT`: off, an instance gets only its platform subdomain.
        public var customDomainSupport: Bool
        /// Where new instances go when the request names no placement (`TENANT_PLACEMENT`).
        public var placement = TenantProvisioner.Placement.primary

        public init(
            platformDomain: String, tenantSchema: TenantSchemaPlan, defaultRevenueSharePercent: ExactDecimal,
            customDomainSupport: Bool = true
        ) {
            self.platformDomain = platformDomain
            self.tenantSchema = tenantSchema
            self.defaultRevenueSharePercent = defaultRevenueSharePercent
            self.customDomainSupport = customDomainSupport
        }
    }

    private let pool: PostgresConnectionPool
    private let identity: IdentityService
    private let options: Options
    private let setUpTenant: TenantSetUp
    private let logger: Logger
    private let store = WhiteLabelStore()
    private let registry = TenantRegistry()

    public init(
        pool: PostgresConnectionPool, identity: IdentityService, options: Options, logger: Logger,
        setUpTenant: @escaping TenantSetUp
    ) {
        self.pool = pool
        self.identity = identity
        self.options = options
        self.logger = logger
        self.setUpTenant = setUpTenant
    }

    public struct CreateRequest: Decodable, Sendable {
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

    public struct UpdateRequest: Decodable, Sendable {
        var displayName: String?
        var plan: String?
        var features: [String: Bool]?
        var branding: TenantBranding?
        var revenueShare: WhiteLabelInstanceView.RevenueShareVersion?
        var placement: String?
        var limits: InstanceLimits?

        public init(
            displayName: String? = nil, plan: String? = nil, features: [String: Bool]? = nil,
            branding: TenantBranding? = nil, revenueShare: WhiteLabelInstanceView.RevenueShareVersion? = nil,
            placement: String? = nil, limits: InstanceLimits? = nil
        ) {
            self.displayName = displayName
            self.plan = plan
            self.features = features
            self.branding = branding
            self.revenueShare = revenueShare
            self.placement = placement
            self.limits = limits
        }
    }

    static func validatePlacement(_ placement: String?) throws(ServiceError) {
        if let placement, !TenantClusters.isValidName(placement) {
            throw ServiceError(.invalidInput, "field 'placement': a database node name such as primary or eu-west-1")
        }
    }

    /// Provisions the tenant and its terms in one transaction; returns the view and the first
    /// owner key (shown once).
    public func create(
        _ request: CreateRequest, admin: Principal, requestID: String
    ) async throws -> (
        WhiteLabelInstanceView, String
    ) {
        let plan = try CommercialPlan.named(request.plan ?? CommercialPlan.professional.rawValue)
        let flags = try plan.flags(requested: request.features ?? [:])
        try request.branding?.validate()
        try Self.validatePlacement(request.placement)
        try request.limits?.validate()
        let share =
            try request.revenueShare
            ?? RevenuePlan(
                model: .flat, currency: try Currency("USD"), percent: options.defaultRevenueSharePercent)
        do throws(ServiceError) {
            try share.validate()
        } catch {
            throw error.nested(under: "revenueShare")
        }
        let month = RevenueMonth.of(Date())
        let ownerKey = Mutex<String?>(nil)
        let identity = identity
        let setUpTenant = setUpTenant
        var provisioner = TenantProvisioner(
            platformDomain: options.platformDomain, tenantSchema: options.tenantSchema, logger: logger
        ) { tenant, transaction in
            try await setUpTenant(tenant, admin.actor, requestID, transaction)
            try await TenantRegistry().update(tenant.id, plan: plan.rawValue, in: transaction)
            try await WhiteLabelStore().create(for: tenant.id, plan: plan, limits: request.limits, in: transaction)
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
        provisioner.allowsCustomDomains = options.customDomainSupport
        provisioner.placement = options.placement
        let tenant = try await provisioner.create(
            .init(
                slug: request.slug, displayName: request.displayName, legalName: request.legalName,
                domains: request.domains ?? [], features: flags, placement: request.placement),
            on: pool)
        return (try await view(tenant.slug.value), ownerKey.withLock { $0 } ?? "")
    }

    /// Changes an instance's terms in one transaction; every host sees it within a second.
    public func update(
        _ reference: String, _ request: UpdateRequest, admin: Principal, requestID: String
    ) async throws -> WhiteLabelInstanceView {
        let instance = try await find(reference)
        try request.branding?.validate()
        try Self.validatePlacement(request.placement)
        try request.limits?.validate()
        if let placement = request.placement,
            let current = try await registry.summary(of: try TenantSlug(instance.slug), from: pool)?.placement,
            placement != current
        {
            // A placement is where the tenant's data is: it changes only by moving the data.
            throw ServiceError(
                .conflict,
                "field 'placement': instance '\(instance.slug)' is on cluster '\(current)'; move it with `scryptex tenant move \(instance.slug) --to \(placement)`"
            )
        }
        if let displayName = request.displayName, !(1...200).contains(displayName.count) {
            throw ServiceError(.invalidInput, "field 'displayName': 1 to 200 characters")
        }
        try await pool.withTransaction { transaction in
            guard let locked = try await store.lock(instance.id, in: transaction) else {
                throw ServiceError(.notFound, "no white-label instance '\(reference)'")
            }
            let current = locked.plan
            let plan = try request.plan.map { try CommercialPlan.named($0) } ?? current
            let flags = try plan.flags(
                requested: request.features ?? [:],
                current: try await registry.featureFlags(of: instance.tenant, from: transaction))
            var changed: [String: String] = [:]
            if plan != current { changed["plan"] = plan.rawValue }
            if let limits = request.limits {
                try await store.setLimits(limits, of: instance.id, in: transaction)
                changed["requestsPerSecond"] = String(limits.requestsPerSecond)
            }
            try await store.setPlan(plan, of: instance.id, in: transaction)
            try await registry.update(
                instance.tenant, displayName: request.displayName, plan: plan.rawValue, in: transaction)
            try await registry.setFeatureFlags(flags, of: instance.tenant, in: transaction)
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

    /// An instance by its id or its tenant's slug; `.notFound` otherwise.
    public func find(_ reference: String) async throws -> WhiteLabelRecord {
        guard let record = try await store.find(reference, from: pool) else {
            throw ServiceError(.notFound, "no white-label instance '\(reference)'")
        }
        return record
    }

    public func view(_ slug: String) async throws -> WhiteLabelInstanceView {
        try await view(try await find(slug))
    }

    private func view(_ record: WhiteLabelRecord) async throws -> WhiteLabelInstanceView {
        guard let tenant = try await registry.summary(of: try TenantSlug(record.slug), from: pool) else {
            throw ServiceError(.notFound, "no white-label instance '\(record.slug)'")
        }
        let share = try await RevenuePlanStore().version(for: record.tenant, in: RevenueMonth.of(Date()), from: pool)
        return WhiteLabelInstanceView(
            id: record.id, tenant: tenant, plan: record.plan.rawValue,
            includedFeatures: record.plan.features.sorted().map(\.rawValue),
            branding: try await TenantBranding.load(for: record.tenant, from: pool),
            revenueShare: share.map { .init(effectiveFrom: $0.effectiveMonth, plan: $0.plan) },
            placement: tenant.placement, limits: record.limits, createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }

    public func list() async throws -> [WhiteLabelInstanceView] {
        var views: [WhiteLabelInstanceView] = []
        for record in try await store.all(from: pool) { views.append(try await view(record)) }
        return views
    }
}
