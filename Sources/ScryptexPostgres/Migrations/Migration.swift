import ScryptexCrypto

/// One versioned schema change, compiled into the program.
public struct Migration: Sendable, Equatable {
    /// Applied in ascending order; never reused.
    public let version: Int
    /// A short name, such as `create_tenants`.
    public let name: String
    /// The SQL to run, unqualified: it runs with `search_path` set to the target schema.
    public let sql: String
    /// SHA-256 of `sql`, hex; an applied migration whose SQL changed is refused.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hexDigest(sql)
    }
}

/// One module's migrations for one kind of schema (the platform's, or every tenant's), in order.
/// Each module owns its sets: it is the only code that creates or changes their tables, and a
/// set's versions count on their own (adding a table touches no other module's numbers).
public struct MigrationSet: Sendable {
    /// The owner's name, such as `tenancy` or `revenue`; recorded with each applied migration.
    public let name: String
    public let migrations: [Migration]

    /// - Precondition: versions are positive and strictly increasing.
    public init(name: String, migrations: [Migration]) {
        for (previous, next) in zip(migrations, migrations.dropFirst()) {
            precondition(previous.version < next.version, "migration versions of set '\(name)' must strictly increase")
        }
        precondition(migrations.allSatisfy { $0.version > 0 }, "migration versions must be positive")
        self.name = name
        self.migrations = migrations
    }

    /// The highest version in the set, or 0 for an empty set.
    public var latestVersion: Int { migrations.last?.version ?? 0 }
}

/// Everything one kind of schema gets: the modules' sets in the order they apply (a set may use
/// the tables of the sets before it, never after), and the history from before the sets were
/// split by module, if the schema has one.
public struct MigrationPlan: Sendable {
    public let sets: [MigrationSet]
    public let legacy: LegacyMigrations?

    /// - Precondition: set names are unique and differ from the legacy set's; the legacy end
    ///   points name sets of the plan and versions they have.
    public init(_ sets: [MigrationSet], legacy: LegacyMigrations? = nil) {
        let names = sets.map(\.name)
        precondition(Set(names).count == names.count, "migration set names must be unique: \(names)")
        if let legacy {
            precondition(!names.contains(legacy.set.name), "the legacy set's name '\(legacy.set.name)' is taken")
            for (name, version) in legacy.endPoints {
                precondition(
                    sets.first { $0.name == name }.map { set in set.migrations.contains { $0.version == version } }
                        == true,
                    "the legacy end point \(name) \(version) is not a migration of the plan")
            }
        }
        self.sets = sets
        self.legacy = legacy
    }

    /// A number that grows with every migration added to the plan: the count of versions in its
    /// history (the legacy set's latest plus each set's latest). Recorded per tenant schema, so
    /// the schemas behind are found with one comparison.
    public var generation: Int {
        sets.reduce(legacy?.set.latestVersion ?? 0) { $0 + $1.latestVersion }
    }

    /// The set named `name`, if the plan has it.
    public func set(named name: String) -> MigrationSet? { sets.first { $0.name == name } }

    /// The plan with `set` applied after its own sets (a new module's, or a test's).
    public func appending(_ set: MigrationSet) -> MigrationPlan {
        MigrationPlan(sets + [set], legacy: legacy)
    }
}

/// A schema's migrations from before they were split into module sets: one frozen set, and for
/// each module set the version whose state the legacy set's last migration had already reached.
///
/// A schema that holds the legacy set's records is first brought to the legacy set's end (its
/// pending migrations applied as before), then converted: every module migration up to its end
/// point is recorded as applied, without running it, and the legacy records stay as history.
/// Module migrations after the end points then apply as usual. A test builds one schema each
/// way and compares them.
public struct LegacyMigrations: Sendable {
    public let set: MigrationSet
    public let endPoints: [String: Int]

    public init(set: MigrationSet, endPoints: [String: Int]) {
        self.set = set
        self.endPoints = endPoints
    }
}

/// A migration problem that must stop start-up; the message names the migration.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let name: String
        public static let checksumMismatch = Code(name: "checksum mismatch")
        public static let unknownVersion = Code(name: "unknown version")
        public static let failed = Code(name: "failed")
        public static let unknownSet = Code(name: "unknown set")
    }

    public var code: Code
    public var message: String

    public var description: String { message }
}
