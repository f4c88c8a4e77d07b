import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// Moves a tenant's schema and data from its cluster to another, with a short write freeze.
///
/// 1. **Prepare** the target: the tenant's role and schema, the tenant migrations and the
///    schema's security (as provisioning does), no data. Nothing serves from it yet.
/// 2. **Freeze** writes on the source: one transaction takes `EXCLUSIVE` locks on every table of
///    the tenant's schema (reads go on; a write waits). From here the tenant's data cannot change.
/// 3. **Copy** every table (referenced tables first) inside one target transaction, with user
///    triggers off while loading so rows arrive exactly as they are (the audit chain keeps its
///    hashes and positions); sequences are set to the source's state.
/// 4. **Verify** per table: the row count and a checksum of the rows (the MD5 of their sorted
///    MD5s, in UTC and full float precision on both sides) must be equal on both clusters, and
///    each sequence's state too. Any difference stops the move: the target is dropped, the
///    source was never changed.
/// 5. **Switch** the placement in the control plane (only if it still names the source) and
///    announce it: every host routes the tenant to the target within milliseconds.
/// 6. **Retire** the source: its schema is renamed in the freezing transaction, so a write that
///    was waiting fails instead of landing in the old copy (the server looks the table up again
///    after the lock and finds none); a host that had not yet heard of the switch gets a
///    retryable 503 until it has. The renamed source is dropped after the switch commits.
///
/// The write downtime is step 2 to step 6 and grows with the tenant's size (every row crosses
/// once under the freeze); the report carries it.
public struct TenantMove: Sendable {
    /// What a move did, table by table, and how long writes were held.
    public struct Report: Sendable, Encodable {
        public struct Table: Sendable, Encodable, Equatable {
            public var name: String
            public var rows: Int
            public var checksum: String
        }

        public var tenant: String
        public var from: String
        public var to: String
        /// Copied while the tenant kept writing, then only its last changes under the freeze.
        public var online: Bool
        /// Every table, verified (online: as of the last round before the freeze).
        public var tables: [Table]
        public var sequences: Int
        /// Online: the rows (first) and changed keys (then) each round carried before the freeze.
        public var roundsBeforeFreeze: [Int]
        /// Online: the changed rows copied and verified under the freeze.
        public var changesUnderFreeze: Int
        /// From the freeze's locks being held to the source's retirement.
        public var writeFreezeMilliseconds: Int
        /// Waiting for writes in flight to finish before the freeze held.
        public var lockWaitMilliseconds: Int
        public var totalMilliseconds: Int
        public var rows: Int { tables.reduce(0) { $0 + $1.rows } }
    }

    private let plan: TenantSchemaPlan
    private let logger: Logger
    /// How long the freeze waits for writes in flight before giving up (nothing changed then).
    public var lockTimeout: Duration = .seconds(10)
    /// Copy while the tenant keeps writing and hold writes only for the last changes (every
    /// table needs a primary key); off, everything is copied under the freeze.
    public var online = true

    public init(plan: TenantSchemaPlan, logger: Logger) {
        self.plan = plan
        self.logger = logger
    }

    /// Moves tenant `slug` to cluster `target`.
    /// - Parameter controlPlane: The control plane's pool, routing to every tenant cluster.
    /// - Throws: `ServiceError` `.notFound` (no such tenant), `.invalidInput` (an unknown cluster,
    ///   or the tenant is already there), `.conflict` (the tenant is not active or suspended, its
    ///   placement changed meanwhile, or its tables stayed busy), `.corrupt` (the copy did not
    ///   verify). Nothing is switched when it throws.
    @discardableResult
    public func move(_ slug: String, to target: String, on controlPlane: PostgresConnectionPool) async throws -> Report
    {
        let started = ContinuousClock.now
        let slug = try TenantSlug(slug)
        let row = try await controlPlane.query(
            "SELECT status, placement FROM platform.tenants WHERE slug = \(slug.value)"
        ).first
        guard let row else { throw ServiceError(.notFound, "no tenant has the slug '\(slug)'") }
        let status = try row.decode("status", as: String.self)
        let source = try row.decode("placement", as: String.self)
        guard status == "active" || status == "suspended" else {
            throw ServiceError(.conflict, "tenant '\(slug)' is \(status); only an active or suspended tenant moves")
        }
        guard source != target else {
            throw ServiceError(.invalidInput, "tenant '\(slug)' is already on cluster '\(target)'")
        }
        let sourcePool = try Self.cluster(source, of: controlPlane)
        let targetPool = try Self.cluster(target, of: controlPlane)
        logger.info("tenant move started", ["tenant": slug.value, "from": source, "to": target])

        try await prepare(slug, on: targetPool)
        do {
            let report = try await relocate(
                slug, from: (source, sourcePool), to: (target, targetPool), controlPlane: controlPlane,
                started: started)
            logger.notice(
                "tenant moved",
                [
                    "tenant": slug.value, "from": source, "to": target, "rows": String(report.rows),
                    "tables": String(report.tables.count),
                    "write_freeze_ms": String(report.writeFreezeMilliseconds),
                    "total_ms": String(report.totalMilliseconds),
                ])
            return report
        } catch {
            // The placement never switched: the target's copy is not anyone's, remove it.
            do {
                try await targetPool.withTransaction { try await TenantRemoval.dropSchemaAndRole(of: slug, in: $0) }
            } catch let cleanup {
                logger.warning(
                    "a failed move left the target's schema behind",
                    ["tenant": slug.value, "cluster": target, "error": String(describing: cleanup)])
            }
            throw error
        }
    }

    /// The pool of cluster `name`, or an error naming the configured ones.
    static func cluster(_ name: String, of controlPlane: PostgresConnectionPool) throws -> PostgresConnectionPool {
        guard TenantClusters.isValidName(name) else {
            throw ServiceError(.invalidInput, "'\(name)' is not a cluster name")
        }
        do {
            return try controlPlane.pool(named: name)
        } catch let error as PostgresError {
            throw ServiceError(.invalidInput, error.message)
        }
    }

    /// The role, the schema and the migrations on the target, as provisioning makes them. A
    /// schema of the tenant already there (a move that was cut off) is dropped first: the
    /// placement does not name this cluster, so nothing serves from it.
    private func prepare(_ slug: TenantSlug, on target: PostgresConnectionPool) async throws {
        try await target.withConnection { connection in
            try await connection.withTransaction(statementTimeout: .zero) { transaction in
                let role = try await TenantRole.name(for: slug, in: transaction)
                let leftover = try await transaction.query(
                    """
                    SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = \(slug.schema.name))
                        OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(role.name)) AS present
                    """
                ).firstRow.decode("present", as: Bool.self)
                if leftover {
                    logger.warning(
                        "dropping what an earlier, unfinished move left on the target", ["tenant": slug.value])
                    try await TenantRemoval.dropSchemaAndRole(of: slug, in: transaction)
                }
                try await TenantRole.createSchema(slug.schema, ownedBy: role, in: transaction)
                _ = try await TenantMigrationRunner(plan: plan, logger: logger).apply(to: slug, in: transaction)
            }
        }
    }

    /// What the source's schema holds, read once before the copy.
    private struct Contents {
        var tables: [SQLIdentifier]
        var sequences: [SQLIdentifier]
        /// Each table's primary key, when every table has one (the online mode needs them).
        var keys: [String: [SQLIdentifier]]?
    }

    private func relocate(
        _ slug: TenantSlug, from source: (name: String, pool: PostgresConnectionPool),
        to target: (name: String, pool: PostgresConnectionPool), controlPlane: PostgresConnectionPool,
        started: ContinuousClock.Instant
    ) async throws -> Report {
        let schema = slug.schema
        let contents = try await source.pool.withDedicatedConnection { connection in
            try await connection.withTransaction(readOnly: true) { transaction in
                let tables = try await TenantArchive.tablesInDependencyOrder(schema: schema, in: transaction)
                return Contents(
                    tables: tables,
                    sequences: try await transaction.query(
                        "SELECT sequencename FROM pg_sequences WHERE schemaname = \(schema.name) ORDER BY sequencename"
                    ).map { try SQLIdentifier(try $0.decode("sequencename", as: String.self)) },
                    keys: try await TenantChangeCapture.primaryKeys(of: schema, tables: tables, in: transaction))
            }
        }
        var capture: TenantChangeCapture?
        if online {
            if let keys = contents.keys {
                capture = try TenantChangeCapture(slug: slug, keys: keys)
            } else {
                logger.notice(
                    "a table of the tenant has no primary key: everything is copied under the freeze",
                    ["tenant": slug.value])
            }
        }
        var rounds: [Int] = []
        var verified: [Report.Table] = []
        if let capture {
            do {
                try await freezing(slug, on: source.pool) {
                    try await source.pool.withDedicatedConnection {
                        try await capture.install(tables: contents.tables, on: $0, lockTimeout: lockTimeout)
                    }
                }
                // A full copy from one snapshot, then the changes since, round after round, until
                // few are left; the last round before the freeze verifies every table.
                _ = try await round(capture, contents, from: source.pool, to: target.pool, full: true)
                for _ in 0..<8 {
                    let (applied, _) = try await round(capture, contents, from: source.pool, to: target.pool)
                    rounds.append(applied)
                    if applied < 500 { break }
                }
                let (applied, tables) = try await round(
                    capture, contents, from: source.pool, to: target.pool, verifying: true)
                rounds.append(applied)
                verified = tables
                // What changed during that verification, so that the freeze has little left.
                for _ in 0..<3 {
                    let (applied, _) = try await round(capture, contents, from: source.pool, to: target.pool)
                    rounds.append(applied)
                    if applied < 200 { break }
                }
            } catch {
                try? await source.pool.withTransaction { try await capture.remove(tables: contents.tables, in: $0) }
                throw error
            }
        }
        let (report, retired) = try await source.pool.withDedicatedConnection { sourceConnection in
            try await sourceConnection.withTransaction(statementTimeout: .zero) { frozen in
                try await Self.sameRendering(in: frozen)
                try await Self.limitLockWaits(to: lockTimeout, in: frozen)
                let lockRequested = ContinuousClock.now
                try await freezing(slug, on: source.pool) {
                    if !contents.tables.isEmpty {
                        let list = contents.tables.map { schema.quoted + "." + $0.quoted }.joined(separator: ", ")
                        try await frozen.executeScript("LOCK TABLE \(list) IN EXCLUSIVE MODE")
                    }
                }
                let frozenAt = ContinuousClock.now
                var finalChanges = 0
                try await target.pool.withDedicatedConnection { targetConnection in
                    try await targetConnection.withTransaction(statementTimeout: .zero) { loading in
                        try await Self.sameRendering(in: loading)
                        if let capture {
                            // Only what changed since the last round, verified row by row.
                            let changed = try await Self.withUserTriggersOff(of: schema, in: loading) {
                                try await capture.applyRecorded(tables: contents.tables, from: frozen, into: loading)
                            }
                            try await Self.verify(changed, with: capture, source: frozen, target: loading)
                            finalChanges = changed.count
                        } else {
                            try await Self.withUserTriggersOff(of: schema, in: loading) {
                                try await copy(contents.tables, of: schema, from: frozen, into: loading)
                            }
                            verified = try await verify(contents.tables, of: schema, source: frozen, target: loading)
                        }
                        try await copySequences(contents.sequences, of: schema, from: frozen, into: loading)
                    }
                }
                // The target holds the verified copy: switch, if the placement is still the source.
                try await controlPlane.withDedicatedConnection { connection in
                    try await connection.withTransaction { transaction in
                        let switched = try await transaction.execute(
                            """
                            UPDATE platform.tenants SET placement = \(target.name), updated_at = now()
                            WHERE slug = \(slug.value) AND placement = \(source.name) AND status IN ('active', 'suspended')
                            """
                        )
                        guard switched == 1 else {
                            throw ServiceError(
                                .conflict,
                                "tenant '\(slug)' changed while it was being moved; nothing switched, try again")
                        }
                        try await TenantChangeFeed.announce(slug.value, in: transaction)
                    }
                }
                // Writes that waited now find no table; reads see the schema gone (503, retried).
                // (Not of a tenant schema's form `t_<slug>`, so never another tenant's name.)
                let retired = try SQLIdentifier("scryptex_moved_\(slug.value)_\(SecureRandom.hexToken(byteCount: 3))")
                try await frozen.executeScript("ALTER SCHEMA \(schema.quoted) RENAME TO \(retired.quoted)")
                let report = Report(
                    tenant: slug.value, from: source.name, to: target.name, online: capture != nil,
                    tables: verified, sequences: contents.sequences.count, roundsBeforeFreeze: rounds,
                    changesUnderFreeze: finalChanges,
                    writeFreezeMilliseconds: Int((ContinuousClock.now - frozenAt).wholeMilliseconds),
                    lockWaitMilliseconds: Int((frozenAt - lockRequested).wholeMilliseconds),
                    totalMilliseconds: 0)
                return (report, retired)
            }
        }
        return await report.finishing(
            slug, retired: retired, on: source.pool, started: started, logger: logger)
    }

    /// One round of the online copy in a snapshot of the source: everything (`full`), or the
    /// changes recorded since the last round; with `verifying`, every table is then compared
    /// (the target must equal the source as of the snapshot). - Returns: The keys applied.
    private func round(
        _ capture: TenantChangeCapture, _ contents: Contents, from source: PostgresConnectionPool,
        to target: PostgresConnectionPool, full: Bool = false, verifying: Bool = false
    ) async throws -> (applied: Int, verified: [Report.Table]) {
        let schema = capture.schema
        return try await source.withDedicatedConnection { sourceConnection in
            try await sourceConnection.withTransaction(isolationLevel: .repeatableRead, statementTimeout: .zero) {
                snapshot in
                try await Self.sameRendering(in: snapshot)
                return try await target.withDedicatedConnection { targetConnection in
                    try await targetConnection.withTransaction(statementTimeout: .zero) { loading in
                        try await Self.sameRendering(in: loading)
                        var applied = 0
                        try await Self.withUserTriggersOff(of: schema, in: loading) {
                            if full {
                                try await capture.discardRecorded(in: snapshot)
                                applied = try await copy(contents.tables, of: schema, from: snapshot, into: loading)
                                    .reduce(0) { $0 + $1.rows }
                            } else {
                                let changed = try await capture.applyRecorded(
                                    tables: contents.tables, from: snapshot, into: loading)
                                try await Self.verify(changed, with: capture, source: snapshot, target: loading)
                                applied = changed.count
                            }
                        }
                        let verified =
                            verifying
                            ? try await verify(contents.tables, of: schema, source: snapshot, target: loading) : []
                        return (applied, verified)
                    }
                }
            }
        }
    }

    /// The rows a round changed, equal on both sides (counted and summed per table).
    private static func verify(
        _ changed: TenantChangeCapture.Applied, with capture: TenantChangeCapture, source: PostgresTransaction,
        target: PostgresTransaction
    ) async throws {
        for (table, keys) in changed.keys {
            let identifier = try SQLIdentifier(table)
            let theirs = try await capture.checksum(of: identifier, keys: keys, in: source)
            let ours = try await capture.checksum(of: identifier, keys: keys, in: target)
            guard theirs == ours else {
                throw ServiceError(
                    .corrupt,
                    "the changed rows of \(table) did not copy exactly (source \(theirs), target \(ours)); nothing switched"
                )
            }
        }
    }

    /// Runs `body`, which takes locks on the tenant's tables; a lock not had in time is a
    /// conflict naming who holds them.
    private func freezing(
        _ slug: TenantSlug, on source: PostgresConnectionPool, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
        } catch let error as PostgresError
            where error.sqlState == .lockNotAvailable || error.sqlState == .deadlockDetected
        {
            let holders = (try? await Self.lockHolders(of: slug.schema, on: source)) ?? "unknown"
            throw ServiceError(
                .conflict,
                "tenant '\(slug)' had work in flight on its tables for longer than \(lockTimeout.components.seconds) s (held by \(holders)); nothing moved, try again"
            )
        }
    }

    /// Who holds locks on `schema`'s tables now: each backend's state, age and statement.
    private static func lockHolders(of schema: SQLIdentifier, on pool: PostgresConnectionPool) async throws -> String {
        let rows = try await pool.withDedicatedConnection { connection in
            try await connection.query(
                """
                SELECT DISTINCT a.pid, a.state, extract(epoch FROM now() - a.xact_start)::int AS seconds,
                       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120) AS query
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = \(schema.name) AND l.granted AND a.pid <> pg_backend_pid()
                """
            )
        }
        let holders = try rows.map { row in
            "pid \(try row.decode("pid", as: Int32.self)) (\(try row.decode("state", as: String?.self) ?? "?") for \(try row.decode("seconds", as: Int32?.self) ?? 0) s: \(try row.decode("query", as: String?.self) ?? ""))"
        }
        return holders.isEmpty ? "no one any more" : holders.joined(separator: "; ")
    }

    /// Both sides render values alike for the checksums: UTC, ISO dates, every float digit.
    private static func sameRendering(in transaction: PostgresTransaction) async throws {
        try await transaction.executeScript(
            """
            SET LOCAL TimeZone TO 'UTC'; SET LOCAL DateStyle TO 'ISO, YMD'; SET LOCAL IntervalStyle TO 'postgres';
            SET LOCAL extra_float_digits TO 3; SET LOCAL bytea_output TO 'hex'
            """
        )
    }

    /// Runs `body` with the target's user triggers off, then puts each back as the migrations
    /// left it (`O`rigin, `A`lways, `R`eplica, `D`isabled): rows arrive exactly as they are.
    @discardableResult
    private static func withUserTriggersOff<Result>(
        of schema: SQLIdentifier, in target: PostgresTransaction, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        let triggers = try await target.query(
            """
            SELECT c.relname, t.tgname, t.tgenabled::text AS state FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema.name) AND NOT t.tgisinternal AND t.tgenabled <> 'D'
            """
        ).map {
            (
                table: try SQLIdentifier(try $0.decode("relname", as: String.self)),
                trigger: try SQLIdentifier(try $0.decode("tgname", as: String.self)),
                state: try $0.decode("state", as: String.self)
            )
        }
        for entry in triggers {
            try await target.executeScript(
                "ALTER TABLE \(schema.quoted).\(entry.table.quoted) DISABLE TRIGGER \(entry.trigger.quoted)")
        }
        let result = try await body()
        for entry in triggers {
            let mode = entry.state == "A" ? "ENABLE ALWAYS" : entry.state == "R" ? "ENABLE REPLICA" : "ENABLE"
            try await target.executeScript(
                "ALTER TABLE \(schema.quoted).\(entry.table.quoted) \(mode) TRIGGER \(entry.trigger.quoted)")
        }
        return result
    }

    /// Loads every table's rows from `source` into `target` (emptied first: the migrations seed
    /// some tables). - Returns: Each table with the rows it received.
    @discardableResult
    private func copy(
        _ tables: [SQLIdentifier], of schema: SQLIdentifier, from source: PostgresTransaction,
        into target: PostgresTransaction
    ) async throws -> [Report.Table] {
        for table in tables.reversed() {
            try await target.execute("DELETE FROM \(identifier: schema, table)")
        }
        // A table referencing itself loads in one statement (its foreign key is checked at the
        // statement's end, whatever the rows' order); the others in batches.
        let selfReferencing = Set(
            try await source.query(
                """
                SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE k.contype = 'f' AND k.conrelid = k.confrelid AND n.nspname = \(schema.name)
                """
            ).map { try $0.decode("relname", as: String.self) })
        var copied: [Report.Table] = []
        for (index, table) in tables.enumerated() {
            let cursor = try SQLIdentifier("scryptex_move_\(index)")
            try await source.executeScript(
                "DECLARE \(cursor.quoted) NO SCROLL CURSOR FOR SELECT row_to_json(r)::text AS line FROM \(schema.quoted).\(table.quoted) r"
            )
            var rows = 0
            let fetch: PostgresQuery =
                selfReferencing.contains(table.name)
                ? "FETCH ALL FROM \(identifier: cursor)" : "FETCH FORWARD 2000 FROM \(identifier: cursor)"
            while true {
                let batch = try await source.query(fetch).map { try $0.decode("line", as: String.self) }
                if batch.isEmpty { break }
                rows += batch.count
                try await target.execute(
                    """
                    INSERT INTO \(identifier: schema, table) OVERRIDING SYSTEM VALUE
                    SELECT * FROM json_populate_recordset(NULL::\(identifier: schema, table), \("[" + batch.joined(separator: ",") + "]")::json)
                    """
                )
            }
            try await source.executeScript("CLOSE \(cursor.quoted)")
            copied.append(Report.Table(name: table.name, rows: rows, checksum: ""))
        }
        return copied
    }

    /// `lock_timeout` for the rest of `transaction` (whole seconds, 1 to 3600).
    static func limitLockWaits(to limit: Duration, in transaction: PostgresTransaction) async throws {
        let seconds = min(3600, max(1, limit.components.seconds))
        try await transaction.execute("SELECT set_config('lock_timeout', \(String(seconds) + "s"), true)")
    }

    /// Each sequence at the source's state.
    private func copySequences(
        _ sequences: [SQLIdentifier], of schema: SQLIdentifier, from source: PostgresTransaction,
        into target: PostgresTransaction
    ) async throws {
        for sequence in sequences {
            let state = try await source.query("SELECT last_value, is_called FROM \(identifier: schema, sequence)")
                .firstRow
            let lastValue = try state.decode("last_value", as: Int64.self)
            let isCalled = try state.decode("is_called", as: Bool.self)
            try await target.execute(
                "SELECT setval(\(schema.quoted + "." + sequence.quoted), \(lastValue), \(isCalled))")
            let copied = try await target.query("SELECT last_value, is_called FROM \(identifier: schema, sequence)")
                .firstRow
            guard try copied.decode("last_value", as: Int64.self) == lastValue,
                try copied.decode("is_called", as: Bool.self) == isCalled
            else {
                throw ServiceError(.corrupt, "sequence \(sequence.name) did not copy exactly; nothing switched")
            }
        }
    }

    /// An order-independent checksum of the rows' MD5s (two 60-bit sums: no sort, no string of
    /// every hash, whatever the table's size); `h` is each row's `md5(r::text)`.
    static let checksumExpression: StaticString = """
        coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0)::text || '-' || \
        coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0)::text
        """

    /// Counts and checksums per table, equal on both sides.
    private func verify(
        _ tables: [SQLIdentifier], of schema: SQLIdentifier, source: PostgresTransaction,
        target: PostgresTransaction
    ) async throws -> [Report.Table] {
        var verified: [Report.Table] = []
        for table in tables {
            let digest: PostgresQuery = """
                SELECT count(*) AS rows, \(sql: Self.checksumExpression) AS checksum
                FROM (SELECT md5(r::text) AS h FROM \(identifier: schema, table) r) rows
                """
            let theirs = try await source.query(digest).firstRow
            let ours = try await target.query(digest).firstRow
            let sourceRows = try theirs.decode("rows", as: Int.self)
            let sourceChecksum = try theirs.decode("checksum", as: String.self)
            let targetRows = try ours.decode("rows", as: Int.self)
            let targetChecksum = try ours.decode("checksum", as: String.self)
            guard targetRows == sourceRows, targetChecksum == sourceChecksum else {
                throw ServiceError(
                    .corrupt,
                    "table \(table.name) did not copy exactly (source \(sourceRows) rows, checksum \(sourceChecksum); target \(targetRows) rows, checksum \(targetChecksum)); nothing switched"
                )
            }
            verified.append(Report.Table(name: table.name, rows: sourceRows, checksum: sourceChecksum))
        }
        return verified
    }
}

extension TenantMove.Report {
    /// Drops the retired source schema (renamed by the move) and the tenant's role there, and
    /// completes the report's total time. A failure here leaves only an unused copy behind.
    fileprivate func finishing(
        _ slug: TenantSlug, retired: SQLIdentifier, on source: PostgresConnectionPool,
        started: ContinuousClock.Instant, logger: Logger
    ) async -> TenantMove.Report {
        var report = self
        do {
            try await source.withConnection { connection in
                try await connection.withTransaction(statementTimeout: .zero) { transaction in
                    try await transaction.executeScript("DROP SCHEMA IF EXISTS \(retired.quoted) CASCADE")
                    // The online copy's recording (its triggers went with the tables).
                    try await transaction.executeScript(
                        "DROP SCHEMA IF EXISTS \(try SQLIdentifier("scryptex_move_" + slug.value).quoted) CASCADE")
                    let role = try await TenantRole.name(for: slug, in: transaction)
                    try await transaction.executeScript("DROP ROLE IF EXISTS \(role.quoted)")
                }
            }
        } catch {
            logger.warning(
                "the moved tenant's old schema could not be dropped on its former cluster",
                ["tenant": slug.value, "error": String(describing: error)])
        }
        report.totalMilliseconds = Int((ContinuousClock.now - started).wholeMilliseconds)
        return report
    }
}
