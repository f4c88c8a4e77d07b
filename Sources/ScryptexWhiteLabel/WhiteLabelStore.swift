public import Foundation
public import ScryptexCore
public import ScryptexIdentity
public import ScryptexPostgres

/// An instance's own request limit, in place of `RATE_LIMIT_TENANT` for its tenant.
public struct InstanceLimits: Codable, Equatable, Sendable {
    public var requestsPerSecond: Int
    public var burst: Int?

    public init(requestsPerSecond: Int, burst: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    public func validate() throws(ServiceError) {
        guard (1...1_000_000).contains(requestsPerSecond) else {
            throw ServiceError(.invalidInput, "field 'limits.requestsPerSecond': 1 to 1,000,000")
        }
        if let burst, !(1...10_000_000).contains(burst) {
            throw ServiceError(.invalidInput, "field 'limits.burst': 1 to 10,000,000")
        }
    }

    public var rateLimit: RateLimiter.Limit {
        RateLimiter.Limit(ratePerSecond: Double(requestsPerSecond), burst: Double(burst ?? requestsPerSecond * 2))
    }
}

/// An instance's row: its tenant, commercial plan and own limits.
public struct WhiteLabelRecord: Sendable, Equatable {
    public var id: UUID
    public var tenant: UUID
    public var slug: String
    public var plan: CommercialPlan
    public var limits: InstanceLimits?
    public var createdAt: Date
    public var updatedAt: Date
}

/// The only code that reads and writes `platform.white_label_instances` (the module's table).
public struct WhiteLabelStore: Sendable {
    public init() {}

    public func create(
        for tenant: UUID, plan: CommercialPlan, limits: InstanceLimits?, in transaction: PostgresTransaction
    ) async throws {
        let isolation = try PostgresJSON(encoding: limits.map { ["limits": $0] } ?? [:])
        try await transaction.execute(
            """
            INSERT INTO platform.white_label_instances (tenant_id, plan, isolation)
            VALUES (\(tenant), \(plan.rawValue), \(isolation)::jsonb)
            """)
    }

    /// The instance with `reference` as its id or its tenant's slug (deleted tenants' excluded).
    public func find(_ reference: String, from database: some PostgresQuerying) async throws -> WhiteLabelRecord? {
        try await records(
            """
            \(sql: Self.selection)
            WHERE (w.id = \(UUID(uuidString: reference)) OR t.slug = \(reference)) AND t.status <> 'deleted'
            """,
            from: database
        ).first
    }

    /// The instance with its row locked until the transaction ends.
    public func lock(_ id: UUID, in transaction: PostgresTransaction) async throws -> WhiteLabelRecord? {
        try await records("\(sql: Self.selection) WHERE w.id = \(id) FOR UPDATE OF w", from: transaction).first
    }

    /// Every instance whose tenant is not deleted, by slug.
    public func all(from database: some PostgresQuerying) async throws -> [WhiteLabelRecord] {
        try await records("\(sql: Self.selection) WHERE t.status <> 'deleted' ORDER BY t.slug", from: database)
    }

    /// The instance's own request limit for `tenant`, if it is an instance with one.
    public func limits(of tenant: UUID, from database: some PostgresQuerying) async throws -> InstanceLimits? {
        try await database.query(
            "SELECT isolation -> 'limits' AS limits FROM platform.white_label_instances WHERE tenant_id = \(tenant)",
            timeout: nil
        ).first?.decode("limits", as: PostgresJSON?.self)?.decode(InstanceLimits.self)
    }

    public func setPlan(_ plan: CommercialPlan, of id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            "UPDATE platform.white_label_instances SET plan = \(plan.rawValue), updated_at = now() WHERE id = \(id)")
    }

    public func setLimits(_ limits: InstanceLimits, of id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE platform.white_label_instances
            SET isolation = isolation || jsonb_build_object('limits', \(try PostgresJSON(encoding: limits))::jsonb),
                updated_at = now()
            WHERE id = \(id)
            """)
    }

    private static let selection: StaticString = """
        SELECT w.id, w.tenant_id, t.slug, w.plan, w.isolation -> 'limits' AS limits, w.created_at, w.updated_at
        FROM platform.white_label_instances w JOIN platform.tenants t ON t.id = w.tenant_id
        """

    private func records(
        _ query: PostgresQuery, from database: some PostgresQuerying
    ) async throws
        -> [WhiteLabelRecord]
    {
        try await database.query(query, timeout: nil).map { row in
            WhiteLabelRecord(
                id: try row.decode("id", as: UUID.self), tenant: try row.decode("tenant_id", as: UUID.self),
                slug: try row.decode("slug", as: String.self),
                plan: try CommercialPlan.named(try row.decode("plan", as: String.self)),
                limits: try row.decode("limits", as: PostgresJSON?.self)?.decode(InstanceLimits.self),
                createdAt: try row.decode("created_at", as: Date.self),
                updatedAt: try row.decode("updated_at", as: Date.self))
        }
    }
}
