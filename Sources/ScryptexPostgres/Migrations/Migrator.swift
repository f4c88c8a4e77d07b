public import ScryptexCore

/// Applies a `MigrationSet` to a schema.
///
/// Each migration runs in its own transaction that first takes a transaction-level advisory
/// lock for the schema, so hosts starting together apply each migration exactly once: the
/// second waits, then sees it applied. Applied migrations are recorded in the schema's
/// `scryptex_migrations` table with their checksum; a recorded migration whose SQL has since
/// changed, or one this program does not know, stops the run with an error naming it.
public struct Migrator: Sendable {
    public let set: MigrationSet
    private let logger: Logger

    public init(set: MigrationSet, logger: Logger) {
        self.set = set
        self.logger = logger
    }

    /// One migration's state in a schema.
    public struct Entry: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var isApplied: Bool
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var schema: String
        /// Migrations this run applied, in order.
        public var applied: [Int]
        /// The schema's version after the run.
        public var currentVersion: Int
    }

    /// Applies every pending migration to `schema`, creating the schema if needed.
    /// - Throws: `MigrationError` for a changed or unknown applied migration, or for a migration
    ///   whose SQL fails (that migration's changes are rolled back).
    @discardableResult
    public func migrate(schema: SQLIdentifier, on connection: PostgresConnection) async throws -> Report {
        var applied: [Int] = []
        // A migration may rebuild large tables: no statement timeout of the host's applies.
        while let version = try await connection.withTransaction(
            statementTimeout: .zero, { try await applyNext(schema: schema, in: $0) })
        {
            applied.append(version)
        }
        return Report(schema: schema.name, applied: applied, currentVersion: set.latestVersion)
    }

    /// Applies every pending migration inside the caller's transaction (used when a schema is
    /// created and migrated atomically, as when a tenant is provisioned). The caller's
    /// `search_path` is restored afterwards.
    @discardableResult
    public func migrate(schema: SQLIdentifier, within transaction: PostgresTransaction) async throws -> Report {
        let saved =
            try await transaction.query("SELECT current_setting('search_path') AS path")
            .first?.decode("path", as: String.self) ?? ""
        var applied: [Int] = []
        while let version = try await applyNext(schema: schema, in: transaction) {
            applied.append(version)
        }
        try await transaction.execute("SELECT set_config('search_path', \(saved), true)")
        return Report(schema: schema.name, applied: applied, currentVersion: set.latestVersion)
    }

    /// Applies the first pending migration, if any, and returns its version.
    private func applyNext(schema: SQLIdentifier, in transaction: PostgresTransaction) async throws -> Int? {
        try await lock(schema: schema, in: transaction)
        let recorded = try await verifiedRecords(schema: schema, in: transaction)
        guard let next = set.migrations.first(where: { recorded[$0.version] == nil }) else { return nil }
        let started = ContinuousClock.now
        try await transaction.executeScript("SET LOCAL search_path TO \(schema.quoted)")
        do {
            try await transaction.withSavepoint { savepoint in
                try await savepoint.executeScript(next.sql)
            }
        } catch let error as PostgresError {
            throw MigrationError(
                code: .failed,
                message:
                    "\(set.name) migration \(next.version) '\(next.name)' failed in schema \(schema.name): \(error)"
            )
        }
        let elapsed = Int((ContinuousClock.now - started).wholeMilliseconds)
        try await transaction.execute(
            """
            INSERT INTO \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))
                (version, name, checksum, migration_set, execution_ms)
            VALUES (\(next.version), \(next.name), \(next.checksum), \(set.name), \(elapsed))
            """
        )
        logger.info(
            "applied migration",
            [
                "set": set.name, "schema": schema.name, "version": String(next.version), "name": next.name,
                "elapsed_ms": String(elapsed),
            ]
        )
        return next.version
    }

    /// Lists every migration of the set with whether it is applied in `schema`.
    public func status(schema: SQLIdentifier, on connection: PostgresConnection) async throws -> [Entry] {
        let exists = try await connection.query(
            "SELECT to_regclass(\(schema.quoted + ".scryptex_migrations")) IS NOT NULL AS present"
        )
        let present = try exists.first?.decode("present", as: Bool.self) ?? false
        var recorded: Set<Int> = []
        if present {
            let rows = try await connection.query(
                "SELECT version FROM \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))"
            )
            recorded = Set(try rows.map { try $0.decode("version", as: Int.self) })
        }
        return set.migrations.map {
            Entry(version: $0.version, name: $0.name, isApplied: recorded.contains($0.version))
        }
    }

    private func lock(schema: SQLIdentifier, in transaction: PostgresTransaction) async throws {
        let key = "scryptex.migrate." + schema.name
        try await transaction.execute("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))")
        // Only create the schema when it is missing: CREATE SCHEMA IF NOT EXISTS needs the right to
        // create schemas in the database even when it exists, which a tenant's role lacks.
        let missing = try await transaction.query("SELECT to_regnamespace(\(schema.quoted)) IS NULL AS missing")
        if try missing.first?.decode("missing", as: Bool.self) == true {
            try await transaction.executeScript("CREATE SCHEMA \(schema.quoted)")
        }
        try await transaction.executeScript(
            """
            CREATE TABLE IF NOT EXISTS \(schema.quoted).scryptex_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                migration_set text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                execution_ms integer NOT NULL
            );
            """
        )
    }

    /// The recorded migrations, checked against the set: version → checksum.
    private func verifiedRecords(
        schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws -> [Int: String] {
        let rows = try await transaction.query(
            """
            SELECT version, name, checksum FROM \(identifier: schema, SQLIdentifier(static: "scryptex_migrations"))
            ORDER BY version
            """
        )
        var recorded: [Int: String] = [:]
        let known = Dictionary(uniqueKeysWithValues: set.migrations.map { ($0.version, $0) })
        for row in rows {
            let version = try row.decode("version", as: Int.self)
            let name = try row.decode("name", as: String.self)
            let checksum = try row.decode("checksum", as: String.self)
            guard let migration = known[version] else {
                throw MigrationError(
                    code: .unknownVersion,
                    message:
                        "schema \(schema.name) has \(set.name) migration \(version) '\(name)' applied, which this program does not know (is it older than the database?)"
                )
            }
            guard migration.checksum == checksum else {
                throw MigrationError(
                    code: .checksumMismatch,
                    message:
                        "\(set.name) migration \(version) '\(migration.name)' was changed after it was applied to schema \(schema.name) (recorded checksum \(checksum.prefix(12))…, now \(migration.checksum.prefix(12))…); add a new migration instead of editing an applied one"
                )
            }
            recorded[version] = checksum
        }
        return recorded
    }
}
