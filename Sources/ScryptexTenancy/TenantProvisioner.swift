import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres
import Synchronization

/// Creates tenants atomically: control-plane rows, the tenant's NOLOGIN role, its schema owned
/// by that role, every tenant migration (run as the tenant role, so the tenant owns its
/// tables), default branding and feature flags. All of it happens in one transaction: on any
/// failure nothing is left behind, not even the role.
public struct TenantProvisioner: Sendable {
    public struct Request: Sendable {
        public var slug: String
        public var displayName: String
        public var legalName: String?
        /// Custom domains, in addition to `<slug>.<platformDomain>`.
        public var domains: [String]
        public var features: [String: Bool]
        /// The cluster to place the tenant on; nil follows the provisioner's `placement` policy.
        public var placement: String?

        public init(
            slug: String, displayName: String, legalName: String? = nil, domains: [String] = [],
            features: [String: Bool] = [:], placement: String? = nil
        ) {
            self.slug = slug
            self.displayName = displayName
            self.legalName = legalName
            self.domains = domains
            self.features = features
            self.placement = placement
        }
    }

    /// Where a tenant whose request names no cluster is placed (`TENANT_PLACEMENT`).
    public enum Placement: Sendable, Equatable {
        /// The control plane's database.
        case primary
        /// Of `clusters`, the one with the fewest live tenants (the first in order on a tie).
        case leastLoaded(among: [String])
        case cluster(String)
    }

    /// The features every tenant has a flag for, and their platform defaults.
    public static let defaultFeatures: [String: Bool] = Dictionary(
        uniqueKeysWithValues: Feature.allCases.map { ($0.rawValue, true) })

    /// Work that belongs to creating a tenant in other modules (its data key, its first audit
    /// records, a first credential), run inside the provisioning transaction as the host role,
    /// after the schema is migrated: if it throws, nothing of the tenant is left.
    public typealias SetUp = @Sendable (Tenant, PostgresTransaction) async throws -> Void

    public let platformDomain: String
    public let tenantSchema: TenantSchemaPlan
    /// Schemas built ahead of need; `create` takes one when ready (see `TenantSpareSchemas`).
    public let spares: TenantSpareSchemas
    private let logger: Logger
    private let setUp: SetUp?
    /// `CUSTOM_DOMAIN_SUPPORT`: off, a tenant gets only its platform subdomain — however it is
    /// created (admin API, white-label instance, tenant files, command line) — and tenant files
    /// add none.
    public var allowsCustomDomains = true
    /// Where tenants go whose request names no cluster.
    public var placement = Placement.primary

    public init(platformDomain: String, tenantSchema: TenantSchemaPlan, logger: Logger, setUp: SetUp? = nil) {
        self.platformDomain = platformDomain
        self.tenantSchema = tenantSchema
        self.spares = TenantSpareSchemas(tenantSchema: tenantSchema, logger: logger)
        self.logger = logger
        self.setUp = setUp
    }

    /// The refusal of a custom domain while custom domains are switched off.
    public static func customDomainsDisabled(_ domain: String) -> ServiceError {
        ServiceError(
            .forbidden,
            "field 'domains': '\(domain)' is a custom domain, and custom domains are disabled (CUSTOM_DOMAIN_SUPPORT=false)"
        )
    }

    /// Creates a tenant.
    /// - Throws: `ServiceError` (`.invalidInput` naming the field, `.conflict` naming the taken
    ///   slug or domain); database errors otherwise. Nothing is created when it throws.
    @discardableResult
    public func create(_ request: Request, on pool: PostgresConnectionPool) async throws -> Tenant {
        let slug = try TenantSlug(request.slug)
        let displayName = request.displayName.trimmingCharacters(in: .whitespaces)
        guard (1...200).contains(displayName.count) else {
            throw ServiceError(.invalidInput, "the display name must have 1 to 200 characters")
        }
        var domains = [(slug.value + "." + platformDomain, "platform-subdomain")]
        for domain in request.domains {
            guard let normalized = HostName.normalized(domain) else {
                throw ServiceError(
                    .invalidInput, "the domain '\(domain)' is not a valid host name (use punycode for IDN)")
            }
            if domains.contains(where: { $0.0 == normalized }) { continue }
            if let problem = HostName.customDomainProblem(normalized, slug: slug, platformDomain: platformDomain) {
                throw ServiceError(.invalidInput, "field 'domains': \(problem)")
            }
            guard allowsCustomDomains else { throw Self.customDomainsDisabled(normalized) }
            domains.append((normalized, "custom"))
        }
        for (feature, _) in request.features where TenantProvisioner.defaultFeatures[feature] == nil {
            throw ServiceError(
                .invalidInput,
                "unknown feature '\(feature)'; known: \(TenantProvisioner.defaultFeatures.keys.sorted().joined(separator: ", "))"
            )
        }
        let cluster = try await chooseCluster(request.placement, on: pool)
        let started = ContinuousClock.now
        let (tenant, fromSpare) = try await pool.withTransaction { transaction -> (Tenant, Bool) in
            let role = try await TenantRole.name(for: slug, in: transaction)
            let inserted: PostgresRows
            do {
                inserted = try await transaction.query(
                    """
                    INSERT INTO platform.tenants (slug, display_name, legal_name, status)
                    VALUES (\(slug.value), \(displayName), \(request.legalName), 'provisioning') RETURNING id
                    """
                )
            } catch let error as PostgresError where error.sqlState == .uniqueViolation {
                throw ServiceError(.conflict, "the slug '\(slug)' is already taken")
            }
            let id = try inserted.firstRow.decode("id", as: UUID.self)
            for (hostname, kind) in domains {
                do {
                    try await transaction.execute(
                        """
                        INSERT INTO platform.tenant_domains (hostname, tenant_id, kind, verification_token, verification_state)
                        VALUES (\(hostname), \(id), \(kind), \(SecureRandom.hexToken(byteCount: 16)),
                                \(DomainVerification.initialState(of: hostname, kind: kind).rawValue))
                        """
                    )
                } catch let error as PostgresError where error.sqlState == .uniqueViolation {
                    throw ServiceError(.conflict, "the domain '\(hostname)' already belongs to another tenant")
                }
            }
            // The role and schema, from a spare when one is ready; the host's login role is a
            // member of the role so it may SET ROLE.
            let fromSpare: Bool
            do {
                fromSpare = try await spares.claim(for: slug, role: role, in: transaction)
                if !fromSpare {
                    try await TenantRole.createSchema(slug.schema, ownedBy: role, in: transaction)
                }
            } catch let error as PostgresError
                where error.sqlState == .duplicateObject || error.sqlState == .duplicateSchema
            {
                throw ServiceError(.conflict, "a schema or role for '\(slug)' already exists in the database")
            }
            // Tenant migrations run as the tenant role, so every table belongs to the tenant (for
            // a spare, only those added since it was built).
            try await TenantRole.assume(slug, in: transaction)
            try await Migrator(plan: tenantSchema.migrations, logger: logger).migrate(
                schema: slug.schema, within: transaction)
            try await transaction.executeScript("RESET ROLE")
            try await tenantSchema.secure(slug, in: transaction)
            try await TenantBranding.create(for: id, productName: displayName, in: transaction)
            let features = TenantProvisioner.defaultFeatures.merging(request.features, uniquingKeysWith: { $1 })
                .sorted(by: { $0.key < $1.key })
            try await transaction.execute(
                """
                INSERT INTO platform.tenant_features (tenant_id, feature, enabled)
                SELECT \(id), feature, enabled
                FROM unnest(\(features.map(\.key))::text[], \(features.map(\.value))::boolean[]) AS f(feature, enabled)
                """
            )
            try await transaction.execute(
                """
                UPDATE platform.tenants SET status = 'active', schema_version = \(tenantSchema.generation),
                    updated_at = now() WHERE id = \(id)
                """
            )
            let tenant = Tenant(id: id, slug: slug, displayName: displayName, status: .active)
            try await setUp?(tenant, transaction)
            try await TenantChangeFeed.announce(slug.value, in: transaction)
            return (tenant, fromSpare)
        }
        // Built on the control plane's database in one transaction (from a spare when there is
        // one), then moved while nobody can use it yet: one way to make a tenant anywhere.
        if cluster != TenantClusters.primary {
            do {
                try await TenantMove(plan: tenantSchema, logger: logger).move(slug.value, to: cluster, on: pool)
            } catch {
                try? await TenantRemoval().removeImmediately(tenant, on: pool)
                throw error
            }
        }
        let elapsed = (ContinuousClock.now - started).wholeMilliseconds
        logger.info(
            "tenant provisioned",
            [
                "tenant": slug.value, "elapsed_ms": String(elapsed), "schema": fromSpare ? "spare" : "built",
                "cluster": cluster,
            ])
        return tenant
    }

    /// The cluster a new tenant goes to: the request's, else the policy's; checked to be configured.
    private func chooseCluster(_ requested: String?, on pool: PostgresConnectionPool) async throws -> String {
        let cluster: String
        switch (requested, placement) {
        case (let name?, _), (nil, .cluster(let name)): cluster = name
        case (nil, .primary): return TenantClusters.primary
        case (nil, .leastLoaded(let clusters)):
            let counts = try await pool.query(
                "SELECT placement, count(*) AS tenants FROM platform.tenants WHERE status <> 'deleted' GROUP BY placement"
            ).reduce(into: [String: Int]()) {
                $0[try $1.decode("placement", as: String.self)] = try $1.decode("tenants", as: Int.self)
            }
            cluster = clusters.min { (counts[$0] ?? 0) < (counts[$1] ?? 0) } ?? TenantClusters.primary
        }
        do {
            _ = try TenantMove.cluster(cluster, of: pool)
        } catch let error as ServiceError {
            throw ServiceError(.invalidInput, "field 'placement': \(error.message)")
        }
        return cluster
    }

    /// Every tenant, by slug.
    public func list(on pool: PostgresConnectionPool) async throws -> [Tenant] {
        try await TenantRegistry().tenants(from: pool)
    }
}

/// The database role that owns a tenant's schema. Roles are shared by every database of a
/// PostgreSQL cluster, so the name includes a short hash of the database name: two databases on
/// one cluster (or parallel tests) never collide.
enum TenantRole {
    static func name(for slug: TenantSlug, in transaction: PostgresTransaction) async throws -> SQLIdentifier {
        try await name(for: slug, on: transaction.connection)
    }

    static func name(for slug: TenantSlug, on connection: PostgresConnection) async throws -> SQLIdentifier {
        try SQLIdentifier(try await prefix(on: connection) + slug.value)
    }

    static func prefix(in transaction: PostgresTransaction) async throws -> String {
        try await prefix(on: transaction.connection)
    }

    /// `tr_<first 8 hex of SHA-256(database name)>_`: every role of this database's tenants (and
    /// of its spare schemas) starts with it.
    static func prefix(on connection: PostgresConnection) async throws -> String {
        // Asked once per connection (this runs for every tenant transaction), kept with it.
        try await connection.remember("tenant-role-prefix") {
            let database = try await connection.query("SELECT current_database() AS name").firstRow.decode(
                "name", as: String.self)
            return "tr_" + String(SHA256.hexDigest(database).prefix(8)) + "_"
        }
    }

    /// Creates the NOLOGIN `role` and `schema` owned by it, closed to PUBLIC; the host's login
    /// role becomes a member of `role` so it may `SET ROLE` to it.
    static func createSchema(
        _ schema: SQLIdentifier, ownedBy role: SQLIdentifier, in transaction: PostgresTransaction
    )
        async throws
    {
        try await transaction.executeScript(
            """
            CREATE ROLE \(role.quoted) NOLOGIN NOINHERIT;
            GRANT \(role.quoted) TO CURRENT_USER;
            CREATE SCHEMA \(schema.quoted) AUTHORIZATION \(role.quoted);
            REVOKE ALL ON SCHEMA \(schema.quoted) FROM PUBLIC;
            """
        )
    }

    /// Makes the rest of the transaction run as the tenant's role, in its schema.
    static func assume(_ slug: TenantSlug, in transaction: PostgresTransaction) async throws {
        let role = try await name(for: slug, in: transaction)
        try await transaction.executeScript(assumingScript(role: role, schema: slug.schema))
    }

    /// The statements that make the rest of a transaction run as `role`, in `schema`.
    static func assumingScript(role: SQLIdentifier, schema: SQLIdentifier) -> String {
        "SET LOCAL ROLE \(role.quoted); SET LOCAL search_path TO \(schema.quoted)"
    }

    /// The same as statements for a pipeline: `set_config` is `SET LOCAL` with bound values.
    static func assumingStatements(role: SQLIdentifier, schema: SQLIdentifier) -> [PostgresQuery] {
        ["SELECT set_config('role', \(role.name), true), set_config('search_path', \(schema.quoted), true)"]
    }
}
