import ScryptexCore
import ScryptexPostgres

/// Records which rows of a tenant's tables change while a move copies them, so that only those
/// rows cross again under the write freeze (the freeze then lasts as long as the last changes
/// take, not as long as the tenant's data).
///
/// A schema of its own on the source, `scryptex_move_<slug>`, holds a `changes` table (table name
/// and primary key of each row inserted, updated or deleted) filled by an `AFTER` trigger on every
/// table of the tenant, in the writing transaction itself: a change is recorded exactly when it
/// commits. A round takes the recorded changes visible in its snapshot (and deletes them there,
/// so a change committed later stays for the next round), reads those rows as the snapshot has
/// them, and on the target deletes the rows the source no longer has (children first) and
/// upserts the others (parents first). Re-applying a row is harmless, so a round may overlap the
/// copy before it.
struct TenantChangeCapture {
    let slug: TenantSlug
    let schema: SQLIdentifier
    let capture: SQLIdentifier
    /// Each table's primary key columns, by table name.
    let keys: [String: [SQLIdentifier]]

    init(slug: TenantSlug, keys: [String: [SQLIdentifier]]) throws {
        self.slug = slug
        schema = slug.schema
        capture = try SQLIdentifier("scryptex_move_" + slug.value)
        self.keys = keys
    }

    /// Each table's primary key columns; nil when a table has none (the move then copies
    /// everything under the freeze).
    static func primaryKeys(
        of schema: SQLIdentifier, tables: [SQLIdentifier], in transaction: PostgresTransaction
    ) async throws -> [String: [SQLIdentifier]]? {
        let rows = try await transaction.query(
            """
            SELECT c.relname, array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)) AS keys
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
            WHERE i.indisprimary AND n.nspname = \(schema.name) GROUP BY c.relname
            """
        )
        var keys: [String: [SQLIdentifier]] = [:]
        for row in rows {
            keys[try row.decode("relname", as: String.self)] = try row.decode("keys", as: [String].self).map {
                try SQLIdentifier($0)
            }
        }
        return tables.allSatisfy { keys[$0.name] != nil } ? keys : nil
    }

    // MARK: Recording

    /// Installs the recording, atomically for every table (each waits for its writers in flight,
    /// so no change made before it escapes both the recording and the first copy's snapshot).
    func install(tables: [SQLIdentifier], on connection: PostgresConnection, lockTimeout: Duration) async throws {
        try await connection.withTransaction { transaction in
            let role = try await TenantRole.name(for: slug, in: transaction)
            try await TenantMove.limitLockWaits(to: lockTimeout, in: transaction)
            try await transaction.executeScript(
                """
                DROP SCHEMA IF EXISTS \(capture.quoted) CASCADE;
                CREATE SCHEMA \(capture.quoted);
                CREATE TABLE \(capture.quoted).changes (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    relation text NOT NULL,
                    key jsonb NOT NULL
                );
                CREATE FUNCTION \(capture.quoted).record() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
                    SET search_path = pg_catalog AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        INSERT INTO \(capture.quoted).changes (relation, key)
                        SELECT TG_TABLE_NAME, jsonb_object_agg(k, to_jsonb(OLD) -> k) FROM unnest(TG_ARGV) AS k;
                    END IF;
                    IF TG_OP IN ('INSERT', 'UPDATE') THEN
                        INSERT INTO \(capture.quoted).changes (relation, key)
                        SELECT TG_TABLE_NAME, jsonb_object_agg(k, to_jsonb(NEW) -> k) FROM unnest(TG_ARGV) AS k;
                    END IF;
                    RETURN NULL;
                END
                $$;
                GRANT USAGE ON SCHEMA \(capture.quoted) TO \(role.quoted);
                GRANT EXECUTE ON FUNCTION \(capture.quoted).record() TO \(role.quoted);
                """
            )
            guard !tables.isEmpty else { return }
            let list = tables.map { schema.quoted + "." + $0.quoted }.joined(separator: ", ")
            try await transaction.executeScript("LOCK TABLE \(list) IN SHARE ROW EXCLUSIVE MODE")
            for table in tables {
                // Key column names are catalog identifiers (letters, digits, underscores).
                let arguments = (keys[table.name] ?? []).map { "'" + $0.name + "'" }.joined(separator: ", ")
                try await transaction.executeScript(
                    """
                    CREATE TRIGGER scryptex_move_record AFTER INSERT OR UPDATE OR DELETE ON \(schema.quoted).\(table.quoted)
                        FOR EACH ROW EXECUTE FUNCTION \(capture.quoted).record(\(arguments))
                    """
                )
            }
        }
    }

    /// Removes the recording (triggers first, then its schema).
    func remove(
        tables: [SQLIdentifier], in transaction: PostgresTransaction, schema current: SQLIdentifier? = nil
    )
        async throws
    {
        let schema = current ?? self.schema
        let present = try await transaction.query(
            "SELECT to_regnamespace(\(schema.quoted)) IS NOT NULL AS present"
        ).firstRow.decode("present", as: Bool.self)
        if present {
            for table in tables {
                try await transaction.executeScript(
                    "DROP TRIGGER IF EXISTS scryptex_move_record ON \(schema.quoted).\(table.quoted)")
            }
        }
        try await transaction.executeScript("DROP SCHEMA IF EXISTS \(capture.quoted) CASCADE")
    }

    // MARK: Rounds

    /// Forgets the changes visible in `source`'s snapshot (a full copy from that snapshot
    /// already has them).
    func discardRecorded(in source: PostgresTransaction) async throws {
        try await source.execute("DELETE FROM \(identifier: capture, SQLIdentifier(static: "changes"))")
    }

    /// The keys a round applied: a JSON array per table, and how many in all.
    struct Applied {
        var keys: [String: String] = [:]
        var count = 0
    }

    /// Applies the changes recorded and visible in `source`'s snapshot to `target`, and takes
    /// them off the record.
    func applyRecorded(
        tables: [SQLIdentifier], from source: PostgresTransaction, into target: PostgresTransaction
    ) async throws -> Applied {
        let recorded = try await source.query(
            """
            WITH taken AS (DELETE FROM \(identifier: capture, SQLIdentifier(static: "changes")) RETURNING relation, key)
            SELECT relation, jsonb_agg(DISTINCT key)::text AS keys, count(DISTINCT key) AS count FROM taken GROUP BY relation
            """
        )
        var applied = Applied()
        for row in recorded {
            applied.keys[try row.decode("relation", as: String.self)] = try row.decode("keys", as: String.self)
            applied.count += try row.decode("count", as: Int.self)
        }
        let changed = applied.keys
        guard !changed.isEmpty else { return applied }
        // Each changed key with the source's row (nil: the source no longer has it).
        var present: [String: [String]] = [:]
        var missing: [String: String] = [:]
        for table in tables {
            guard let keys = changed[table.name], let columns = self.keys[table.name] else { continue }
            let rows = try await source.query(
                statement(
                    """
                    SELECT json_build_object(\(keyPairs(columns)))::text AS key, row_to_json(r)::text AS line
                    FROM jsonb_populate_recordset(NULL::\(name(table)), $1::jsonb) k
                    LEFT JOIN \(name(table)) r ON \(join(columns))
                    """, keys))
            var gone: [String] = []
            for row in rows {
                if let line = try row.decode("line", as: String?.self) {
                    present[table.name, default: []].append(line)
                } else {
                    gone.append(try row.decode("key", as: String.self))
                }
            }
            if !gone.isEmpty { missing[table.name] = "[" + gone.joined(separator: ",") + "]" }
        }
        // Deletions children first, then upserts parents first.
        for table in tables.reversed() {
            guard let keys = missing[table.name], let columns = self.keys[table.name] else { continue }
            try await target.execute(
                statement(
                    """
                    DELETE FROM \(name(table)) r USING jsonb_populate_recordset(NULL::\(name(table)), $1::jsonb) k
                    WHERE \(join(columns))
                    """, keys))
        }
        for table in tables {
            guard let lines = present[table.name], let columns = self.keys[table.name] else { continue }
            let updatable = try await target.query(
                """
                SELECT attname::text AS name FROM pg_attribute
                WHERE attrelid = \(schema.quoted + "." + table.quoted)::regclass AND attnum > 0 AND NOT attisdropped
                  AND attidentity <> 'a' AND attgenerated = ''
                ORDER BY attnum
                """
            ).map { try SQLIdentifier(try $0.decode("name", as: String.self)) }
                .filter { column in !columns.contains { $0.name == column.name } }
            let conflict = columns.map(\.quoted).joined(separator: ", ")
            let action =
                updatable.isEmpty
                ? "DO NOTHING"
                : "DO UPDATE SET " + updatable.map { "\($0.quoted) = EXCLUDED.\($0.quoted)" }.joined(separator: ", ")
            var start = 0
            while start < lines.count {
                let batch = lines[start..<min(lines.count, start + 2000)]
                try await target.execute(
                    statement(
                        """
                        INSERT INTO \(name(table)) OVERRIDING SYSTEM VALUE
                        SELECT * FROM json_populate_recordset(NULL::\(name(table)), $1::json)
                        ON CONFLICT (\(conflict)) \(action)
                        """, "[" + batch.joined(separator: ",") + "]"))
                start += 2000
            }
        }
        return applied
    }

    /// The keys' rows on both sides, counted and summed the way the move's checksums are.
    func checksum(
        of table: SQLIdentifier, keys: String, in transaction: PostgresTransaction
    ) async throws -> String {
        let columns = self.keys[table.name] ?? []
        return try await transaction.query(
            statement(
                """
                SELECT count(r.h)::text || ':' || \(TenantMove.checksumExpression) AS checksum
                FROM jsonb_populate_recordset(NULL::\(name(table)), $1::jsonb) k
                LEFT JOIN LATERAL (SELECT md5(t::text) AS h FROM \(name(table)) t WHERE \(join(columns, row: "t"))) r ON true
                """, keys)
        ).firstRow.decode("checksum", as: String.self)
    }

    // The statements below are built from catalog identifiers (validated `SQLIdentifier`s:
    // letters, digits and underscores, quoted); every value is a bound parameter.

    private func statement(_ sql: String, _ value: String) -> PostgresQuery {
        var bindings = PostgresBindings()
        bindings.append(value)
        return PostgresQuery(unsafeSQL: sql, bindings: bindings)
    }

    private func name(_ table: SQLIdentifier) -> String { schema.quoted + "." + table.quoted }

    /// `'a', k.a, 'b', k.b` for `json_build_object`.
    private func keyPairs(_ columns: [SQLIdentifier]) -> String {
        columns.map { "'\($0.name)', k.\($0.quoted)" }.joined(separator: ", ")
    }

    /// `r.a = k.a AND r.b = k.b`.
    private func join(_ columns: [SQLIdentifier], row: String = "r") -> String {
        columns.map { "\(row).\($0.quoted) = k.\($0.quoted)" }.joined(separator: " AND ")
    }
}
