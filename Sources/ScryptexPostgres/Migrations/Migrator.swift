public import ScryptexCore

/// Applies a `MigrationPlan` (the modules' migration sets, in order) to a schema.
///
/// Each migration runs in its own transaction that first takes a transaction-level advisory
/// lock for the schema, so hosts starting together apply each migration exactly once: the
/// second waits, then sees it applied. Applied migrations are recorded in the schema's
/// `scryptex_migrations` table with their set and checksum; a recorded migration whose SQL has
/// since changed, or one this program does not know, stops the run with an error naming it.
public struct Migrator: Sendable {
    public let plan: MigrationPlan
    private let logger: Logger

    public init(plan: MigrationPlan, logger: Logger) {
        self.plan = plan
        self.logger = logger
    }

    /// A plan of one set.
    public init(set: MigrationSet, logger: Logger) {
        self.init(plan: MigrationPlan([set]), logger: logger)
    }

    /// One migration's state in a schema.
    public struct Entry: Sendable, Equatable {
        public var set: String
        public var version: Int
        public var name: String
        public var isApplied: Bool
    }

    /// A migration a run applied.
    public struct Applied: Sendable, Equatable, CustomStringConvertible {
        public var set: String
        public var version: Int
        public var name: String

        public var description: String { "\(set) \(version)" }
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var schema: String
        /// Migrations this run applied, in order (legacy ones included).
        public var applied: [Applied]
        /// Whether this run converted the schema from its legacy records to the module sets.
        public var converted: Bool
        /// The plan's generation, which the schema is at after the run.
        public var generation: Int
    }

    /// Applies every pending migration to `schema`, creating the schema if needed.
    /// - Throws: `MigrationError` for a changed or unknown applied migration, or for a migration
    ///   whose SQL fails (that migration's changes are rolled back).
    @discardableResult
    public func migrate(schema: SQLIdentifier, on connection: PostgresConnection) async throws -> Report {
        var report = Report(schema: schema.name, applied: [], converted: false, generation: plan.generation)
        // A migration may rebuild large tables: no statement timeout of the host's applies.
        while let step = try await connection.withTransaction(
            statementTimeout: .zero, { try await applyNext(schema: schema, in: $0) })
        {
            report.record(step)
        }
        return report
    }

    /// Applies every pending migration inside the caller's transaction (used when a schema is
    /// created and migrated atomically, as when a tenant is provisioned). The caller's
    /// `search_path` is restored afterwards.
    @discardableResult
    public func migrate(schema: SQLIdentifier, within transaction: PostgresTransaction) async throws -> Report {
        let saved =
            try await transaction.query("SELECT current_setting('search_path') AS path")
            .first?.decode("path", as: String.self) ?? ""
        var report = Report(schema: schema.name, applied: [], converted: false, generation: plan.generation)
        while let step = try await applyNext(schema: schema, in: transaction) {
            report.record(step)
        }
        try await transaction.execute("SELECT set_config('search_path', \(saved), true)")
        return report
    }

    enum Step {
        case applied(Applied)
        case converted
    }

    /// Applies the first pending migration, or converts a legacy schema, and says which.
    private func applyNext(schema: SQLIdentifier, in transaction: PostgresTransaction) async throws -> Step? {
        try await lock(schema: schema, in: transaction)
        let recorded = try await verifiedRecords(schema: schema, in: transaction)
        if let legacy = plan.legacy, recorded[legacy.set.name]?.isEmpty == false,
            plan.sets.allSatisfy({ recorded[$0.name]?.isEmpty ?? true })
        {
            if let next = legacy.set.migrations.first(where: { recorded[legacy.set.name]?[$0.version] == nil }) {
                return .applied(try await apply(next, of: legacy.set, schema: schema, in: transaction))
            }
            try await convert(schema: schema, from: legacy, in: transaction)
            return .converted
        }
        for set in plan.sets {
            if let next = set.migrations.first(where: { recorded[set.name]?[$0.version] == nil }) {
                return .applied(try await apply(next, of: set, schema: schema, in: transaction))
            }
        }
        return nil
    }

    private func apply(
        _ migration: Migration, of set: MigrationSet, schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws -> Applied {
        let started = ContinuousClock.now
        try await transaction.executeScript("SET LOCAL search_path TO \(schema.quoted)")
        do {
            try await transaction.withSavepoint { savepoint in
                try await savepoint.executeScript(migration.sql)
            }
        } catch let error as PostgresError {
            throw MigrationError(
                code: .failed,
                message:
                    "\(set.name) migration \(migration.version) '\(migration.name)' failed in schema \(schema.name): \(error)"
            )
        }
        let elapsed = Int((ContinuousClock.now - started).wholeMilliseconds)
        try await record(migration, of: set, schema: schema, elapsedMilliseconds: elapsed, in: transaction)
        logger.info(
            "applied migration",
            [
                "set": set.name, "schema": schema.name, "version": String(migration.version), "name": migration.name,
                "elapsed_ms": String(elapsed),
            ]
        )
        return Applied(set: set.name, version: migration.version, name: migration.name)
    }

    /// Records every module migration the legacy set's end state already holds, without running it.
    private func convert(
        schema: SQLIdentifier, from legacy: LegacyMigrations, in transaction: PostgresTransaction
    ) async throws {
        var adopted: [String] = []
        for set in plan.sets {
            let end = legacy.endPoints[set.name] ?? 0
            for migration in set.migrations where migration.version <= end {
                try await record(migration, of: set, schema: schema, elapsedMilliseconds: 0, in: transaction)
            }
            if end > 0 { adopted.append("\(set.name) 1–\(end)") }
        }
        logger.info(
            "converted legacy migrations to module sets",
            [
                "schema": schema.name, "legacy": "\(legacy.set.name) \(legacy.set.latestVersion)",
                "recorded": adopted.joined(separator: ", "),
            ]
        )
    }

    private func record(
        _ migration: Migration, of set: MigrationSet, schema: SQLIdentifier, elapsedMilliseconds: Int,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            INSERT INTO \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))
                (version, name, checksum, migration_set, execution_ms)
            VALUES (\(migration.version), \(migration.name), \(migration.checksum), \(set.name), \(elapsedMilliseconds))
            """
        )
    }

    /// Lists every migration of the plan with whether it is applied in `schema`; the legacy set's
    /// first, when the schema has its records.
    public func status(schema: SQLIdentifier, on connection: PostgresConnection) async throws -> [Entry] {
        let exists = try await connection.query(
            "SELECT to_regclass(\(schema.quoted + ".scryptex_migrations")) IS NOT NULL AS present"
        )
        var recorded: Set<String> = []
        if try exists.firstRow.decode("present", as: Bool.self) {
            let rows = try await connection.query(
                "SELECT migration_set, version FROM \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))"
            )
            recorded = Set(
                try rows.map {
                    try $0.decode("migration_set", as: String.self) + " "
                        + String(try $0.decode("version", as: Int.self))
                })
        }
        var sets = plan.sets
        if let legacy = plan.legacy, recorded.contains(where: { $0.hasPrefix(legacy.set.name + " ") }) {
            sets.insert(legacy.set, at: 0)
        }
        return sets.flatMap { set in
            set.migrations.map {
                Entry(
                    set: set.name, version: $0.version, name: $0.name,
                    isApplied: recorded.contains(set.name + " " + String($0.version)))
            }
        }
    }

    private func lock(schema: SQLIdentifier, in transaction: PostgresTransaction) async throws {
        let key = "scryptex.migrate." + schema.name
        try await transaction.execute("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))")
        // Only create the schema when it is missing: CREATE SCHEMA IF NOT EXISTS needs the right to
        // create schemas in the database even when it exists, which a tenant's role lacks.
        let missing = try await transaction.query("SELECT to_regnamespace(\(schema.quoted)) IS NULL AS missing")
        if try missing.firstRow.decode("missing", as: Bool.self) {
            try await transaction.executeScript("CREATE SCHEMA \(schema.quoted)")
        }
        let table = schema.quoted + ".scryptex_migrations"
        try await transaction.executeScript(
            """
            CREATE TABLE IF NOT EXISTS \(table) (
                version integer NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                migration_set text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                execution_ms integer NOT NULL,
                PRIMARY KEY (migration_set, version)
            );
            """
        )
        // Before the sets were split by module, a schema had one set and the versions alone were
        // the key: widen it once, under the lock.
        let primaryKey = try await transaction.query(
            """
            SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
            WHERE conrelid = to_regclass(\(table)) AND contype = 'p'
            """
        )
        if try primaryKey.firstRow.decode("definition", as: String.self) == "PRIMARY KEY (version)" {
            try await transaction.executeScript(
                """
                ALTER TABLE \(table) DROP CONSTRAINT scryptex_migrations_pkey,
                    ADD PRIMARY KEY (migration_set, version)
                """
            )
        }
    }

    /// The recorded migrations of the plan's sets and of its legacy set, checked against them:
    /// set → version → checksum.
    private func verifiedRecords(
        schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws -> [String: [Int: String]] {
        let rows = try await transaction.query(
            """
            SELECT migration_set, version, name, checksum
            FROM \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))
            ORDER BY migration_set, version
            """
        )
        var known: [String: [Int: Migration]] = [:]
        for set in plan.sets + (plan.legacy.map { [$0.set] } ?? []) {
            known[set.name] = Dictionary(uniqueKeysWithValues: set.migrations.map { ($0.version, $0) })
        }
        var recorded: [String: [Int: String]] = [:]
        for row in rows {
            let setName = try row.decode("migration_set", as: String.self)
            let version = try row.decode("version", as: Int.self)
            let name = try row.decode("name", as: String.self)
            let checksum = try row.decode("checksum", as: String.self)
            guard let migrations = known[setName] else {
                throw MigrationError(
                    code: .unknownSet,
                    message:
                        "schema \(schema.name) has \(setName) migration \(version) '\(name)' applied, and this program has no migration set '\(setName)' for it (is it older than the database, or the wrong program for this schema?)"
                )
            }
            guard let migration = migrations[version] else {
                throw MigrationError(
                    code: .unknownVersion,
                    message:
                        "schema \(schema.name) has \(setName) migration \(version) '\(name)' applied, which this program does not know (is it older than the database?)"
                )
            }
            guard migration.checksum == checksum else {
                throw MigrationError(
                    code: .checksumMismatch,
                    message:
                        "\(setName) migration \(version) '\(migration.name)' was changed after it was applied to schema \(schema.name) (recorded checksum \(checksum.prefix(12))…, now \(migration.checksum.prefix(12))…); add a new migration instead of editing an applied one"
                )
            }
            recorded[setName, default: [:]][version] = checksum
        }
        return recorded
    }
}

extension Migrator.Report {
    fileprivate mutating func record(_ step: Migrator.Step) {
        switch step {
        case .applied(let migration): applied.append(migration)
        case .converted: converted = true
        }
    }
}
