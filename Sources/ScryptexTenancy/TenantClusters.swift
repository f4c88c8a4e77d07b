public import ScryptexCore
public import ScryptexEventLoops
public import ScryptexPostgres
import Synchronization

/// The PostgreSQL clusters tenants live on, and which tenant lives where.
///
/// The control plane (`platform.*`) is always on `DATABASE_URL`'s database, which is also the
/// tenant cluster called `primary`. Other tenant clusters are named in `TENANT_CLUSTERS`; each
/// gets its own pool. A tenant's `placement` (in `platform.tenants`) names its cluster, and every
/// transaction of the tenant goes there: `TenantScope` asks the control plane's pool, which routes
/// through this map. The map is loaded at start and reloaded on every tenant change (the same
/// `NOTIFY` as the directory), so a tenant that moved is found on its new cluster at once.
///
/// A tenant schema never references another schema (no foreign keys, joins or functions across
/// schemas; the control plane is only reached by separate statements of the host), which is what
/// lets a tenant live on any cluster — and what Citus' schema-based sharding asks of a schema.
public final class TenantClusters: PostgresPoolRouter {
    public static let primary = PostgresPoolRouting.ownDatabase

    /// The named clusters' pools (without `primary`).
    private let pools: [String: PostgresConnectionPool]
    /// Tenant slug → cluster name, for tenants not on `primary`.
    private let placements = Mutex<[String: String]>([:])

    /// Opens no connection until one is needed.
    public init(
        clusters: [String: PostgresConfiguration], options: PostgresConnectionPool.Options = .init(),
        eventLoops: EventLoopGroup = .shared, logger: Logger
    ) {
        var pools: [String: PostgresConnectionPool] = [:]
        for (name, configuration) in clusters where name != Self.primary {
            pools[name] = PostgresConnectionPool(
                configuration: configuration, options: options, eventLoops: eventLoops,
                logger: logger.child(label: "scryptex.postgres.cluster." + name))
        }
        self.pools = pools
    }

    /// `primary` and every named cluster, sorted (primary first).
    public var names: [String] { [Self.primary] + pools.keys.sorted() }

    /// The named clusters' pools, by name (for health and metrics).
    public var namedPools: [(name: String, pool: PostgresConnectionPool)] {
        pools.keys.sorted().map { ($0, pools[$0]!) }
    }

    /// The rule for cluster names: a lowercase letter, then up to 39 lowercase letters, digits or dashes.
    public static func isValidName(_ name: String) -> Bool {
        name.range(of: "^[a-z][a-z0-9-]{0,39}$", options: .regularExpression) != nil
    }

    /// Parses `TENANT_CLUSTERS`: `name=postgres://…` pairs separated by spaces, new lines or
    /// semicolons (a URL may itself hold commas: libpq's several hosts for a failover pair).
    public static func parse(_ text: String) throws(ServiceError) -> [String: PostgresConfiguration] {
        var clusters: [String: PostgresConfiguration] = [:]
        let entries = text.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\n" || $0 == "\t" })
        for (index, entry) in entries.enumerated() {
            // (The entry is not shown: without its name it is a URL, password and all.)
            guard let equals = entry.firstIndex(of: "="), !entry.hasPrefix("postgres") else {
                throw ServiceError(
                    .invalidInput, "TENANT_CLUSTERS: entry \(index + 1) is not name=postgres://… (its name is missing)")
            }
            let name = String(entry[..<equals])
            guard isValidName(name), name != primary else {
                throw ServiceError(
                    .invalidInput,
                    "TENANT_CLUSTERS: '\(name)' is not a cluster name (a lowercase letter, then letters, digits or dashes; 'primary' is DATABASE_URL's)"
                )
            }
            guard clusters[name] == nil else {
                throw ServiceError(.invalidInput, "TENANT_CLUSTERS: the cluster '\(name)' is named twice")
            }
            do {
                clusters[name] = try PostgresConfiguration(url: String(entry[entry.index(after: equals)...]))
            } catch {
                throw ServiceError(.invalidInput, "TENANT_CLUSTERS: the URL of cluster '\(name)': \(error)")
            }
        }
        return clusters
    }

    /// Reads every tenant's placement from the control plane.
    public func reload(from controlPlane: PostgresConnectionPool) async throws {
        let rows = try await controlPlane.query(
            "SELECT slug, placement FROM platform.tenants WHERE status <> 'deleted' AND placement <> \(Self.primary)")
        var placements: [String: String] = [:]
        for row in rows {
            placements[try row.decode("slug", as: String.self)] = try row.decode("placement", as: String.self)
        }
        self.placements.withLock { $0 = placements }
    }

    /// The cluster tenant `slug` lives on, as last loaded.
    public func placement(of slug: String) -> String {
        placements.withLock { $0[slug] } ?? Self.primary
    }

    /// Records a placement this process just changed (the others learn it from the notification).
    public func record(_ slug: String, isOn cluster: String) {
        placements.withLock { $0[slug] = cluster == Self.primary ? nil : cluster }
    }

    public func pool(for key: String) throws -> PostgresConnectionPool? {
        try pool(named: placement(of: key))
    }

    public func pool(named name: String) throws -> PostgresConnectionPool? {
        if name == Self.primary { return nil }
        guard let pool = pools[name] else {
            // 503 for a request: the tenant's database is out of this host's reach.
            throw PostgresError(
                code: .connectionFailed,
                message:
                    "the tenant cluster '\(name)' is not configured on this host (TENANT_CLUSTERS names \(names.joined(separator: ", ")))"
            )
        }
        return pool
    }

    public func close() async {
        for pool in pools.values { await pool.close() }
    }
}
