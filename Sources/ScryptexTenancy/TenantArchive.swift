public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Exports one tenant to a self-contained archive and imports it under a new slug.
///
/// The archive is JSON lines: a header (format, slug, schema version, time), the tenant's
/// control-plane rows (tenant, branding, feature flags, domains), then every row of every table
/// in its schema, tables ordered so that referenced tables come first. Import provisions a new
/// tenant, then loads each table in one statement as the new tenant's role (so foreign keys,
/// including self-references, are checked at the end of each statement), keeps identities, and
/// moves identity sequences past the imported values. Custom domains are not carried over (they
/// belong to the exported tenant); the new tenant gets its platform subdomain.
public struct TenantArchive: Sendable {
    public static let format = "scryptex-tenant-export"

    let provisioner: TenantProvisioner
    let participants: [any TenantArchiveParticipant]
    private let logger: Logger

    /// - Parameter participants: Modules that carry more than the schema's rows (Identity: the
    ///   data keys, so sealed values open after an import).
    public init(provisioner: TenantProvisioner, participants: [any TenantArchiveParticipant] = [], logger: Logger) {
        self.provisioner = provisioner
        self.participants = participants
        self.logger = logger
    }

    // MARK: Export

    /// The archive's lines for tenant `slug`.
    public func export(_ slug: String, on pool: PostgresConnectionPool) async throws -> [String] {
        let slug = try TenantSlug(slug)
        guard let tenant = try await TenantRegistry().tenant(slug, from: pool) else {
            throw ServiceError(.notFound, "no tenant has the slug '\(slug)'")
        }
        var lines: [String] = []
        let header = try await pool.query(
            """
            SELECT json_build_object('format', \(Self.format)::text, 'slug', slug, 'schemaVersion', schema_version,
                                     'exportedAt', now())::text AS line
            FROM platform.tenants WHERE id = \(tenant.id)
            """
        )
        lines.append(try header.firstRow.decode("line", as: String.self))
        for name in ["tenants", "tenant_branding", "tenant_features", "tenant_domains"] {
            let column = name == "tenants" ? "id" : "tenant_id"
            let rows = try await pool.query(
                """
                SELECT json_build_object('controlPlane', \(name)::text, 'row', row_to_json(r))::text AS line
                FROM \(identifier: SQLIdentifier(static: "platform"), try SQLIdentifier(name)) r
                WHERE r.\(identifier: try SQLIdentifier(column)) = \(tenant.id)
                """
            )
            lines += try rows.map { try $0.decode("line", as: String.self) }
        }
        try await pool.withTransaction { transaction in
            for participant in participants {
                for section in try await participant.export(tenant, in: transaction) {
                    let object: [String: Any] = [
                        "section": participant.section,
                        "row": try JSONSerialization.jsonObject(with: Data(section.text.utf8)),
                    ]
                    lines.append(
                        String(
                            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                            as: UTF8.self))
                }
            }
        }
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            for table in try await Self.tablesInDependencyOrder(schema: tenant.schema, in: transaction) {
                let rows = try await transaction.query(
                    """
                    SELECT json_build_object('table', \(table.name)::text, 'row', row_to_json(r))::text AS line
                    FROM \(identifier: tenant.schema, table) r
                    """
                )
                lines += try rows.map { try $0.decode("line", as: String.self) }
            }
        }
        logger.info("tenant exported", ["tenant": slug.value, "lines": String(lines.count)])
        return lines
    }

    // MARK: Import

    /// Restores an archive as a new tenant `slug`.
    /// - Throws: `ServiceError` for a malformed archive, a schema version other than this
    ///   program's, or a taken slug; nothing is created then.
    @discardableResult
    public func `import`(_ lines: [String], as slug: String, on pool: PostgresConnectionPool) async throws -> Tenant {
        guard let first = lines.first, let header = Self.object(first), header["format"] as? String == Self.format
        else {
            throw ServiceError(.invalidInput, "line 1: this is not a Scryptex tenant archive")
        }
        guard let version = header["schemaVersion"] as? Int, version == provisioner.tenantSchema.generation
        else {
            throw ServiceError(
                .invalidInput,
                "line 1: the archive is from tenant schema version \(header["schemaVersion"] ?? "?"), this program is at \(provisioner.tenantSchema.generation)"
            )
        }
        var controlPlane: [String: [[String: Any]]] = [:]
        var sections: [String: [PostgresJSON]] = [:]
        var tables: [String: [String]] = [:]
        var tableOrder: [String] = []
        for (index, line) in lines.enumerated().dropFirst() {
            guard let object = Self.object(line), let row = object["row"] as? [String: Any] else {
                throw ServiceError(.invalidInput, "line \(index + 1): not an archive row")
            }
            if let name = object["controlPlane"] as? String {
                controlPlane[name, default: []].append(row)
            } else if let section = object["section"] as? String {
                let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
                sections[section, default: []].append(PostgresJSON(text: String(decoding: data, as: UTF8.self)))
            } else if let table = object["table"] as? String, SQLIdentifier.isValid(table) {
                if tables[table] == nil { tableOrder.append(table) }
                let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
                tables[table, default: []].append(String(decoding: data, as: UTF8.self))
            } else {
                throw ServiceError(.invalidInput, "line \(index + 1): names no valid table")
            }
        }
        guard let exported = controlPlane["tenants"]?.first,
            let source = (exported["id"] as? String).flatMap(UUID.init(uuidString:))
        else {
            throw ServiceError(.invalidInput, "the archive has no tenant row")
        }
        for participant in participants where sections[participant.section] == nil {
            throw ServiceError(
                .invalidInput,
                "the archive has no \(participant.section) section: it was exported by a version that did not carry it"
            )
        }
        var features: [String: Bool] = [:]
        for row in controlPlane["tenant_features"] ?? [] {
            if let feature = row["feature"] as? String, let enabled = row["enabled"] as? Bool {
                features[feature] = enabled
            }
        }
        let tenant = try await provisioner.create(
            .init(
                slug: slug, displayName: exported["display_name"] as? String ?? slug,
                legalName: exported["legal_name"] as? String,
                features: features
            ),
            on: pool
        )
        do {
            try await load(
                tables: tables, order: tableOrder, branding: controlPlane["tenant_branding"]?.first, into: tenant,
                on: pool
            ) { transaction in
                for participant in participants {
                    try await participant.restore(
                        sections[participant.section] ?? [], from: source, into: tenant, in: transaction)
                }
            }
        } catch {
            // Leave nothing half-imported: remove the tenant the import created.
            try? await TenantRemoval().removeImmediately(tenant, on: pool)
            throw error
        }
        logger.info("tenant imported", ["tenant": tenant.slug.value, "from": exported["slug"] as? String ?? "?"])
        return tenant
    }

    private func load(
        tables: [String: [String]], order: [String], branding: [String: Any]?, into tenant: Tenant,
        on pool: PostgresConnectionPool, then restore: (PostgresTransaction) async throws -> Void
    ) async throws {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            // Rows the migrations seeded (such as the instrument master) give way to the archive's;
            // tables an extension loads itself (an append-only trail) are left to it.
            let schemaPlan = provisioner.tenantSchema
            for table in order.reversed() where table != "scryptex_migrations" && schemaPlan.importer(of: table) == nil
            {
                try await transaction.execute("DELETE FROM \(identifier: tenant.schema, try SQLIdentifier(table))")
            }
            for table in order where table != "scryptex_migrations" {
                let identifier = try SQLIdentifier(table)
                let rows = "[" + (tables[table] ?? []).joined(separator: ",") + "]"
                if let importer = schemaPlan.importer(of: table) {
                    try await importer.importRows(rows, of: identifier, into: tenant.schema, in: transaction)
                    continue
                }
                try await transaction.execute(
                    """
                    INSERT INTO \(identifier: tenant.schema, identifier) OVERRIDING SYSTEM VALUE
                    SELECT * FROM json_populate_recordset(NULL::\(identifier: tenant.schema, identifier), \(rows)::json)
                    """
                )
            }
            // Identity columns continue after the imported values.
            let identities = try await transaction.query(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = \(tenant.schema.name) AND is_identity = 'YES'"
            )
            for row in identities where schemaPlan.importer(of: try row.decode("table_name", as: String.self)) == nil {
                let table = try SQLIdentifier(try row.decode("table_name", as: String.self))
                let column = try SQLIdentifier(try row.decode("column_name", as: String.self))
                try await transaction.execute(
                    """
                    SELECT setval(pg_get_serial_sequence(\(tenant.schema.quoted + "." + table.quoted), \(column.name)),
                        coalesce((SELECT max(\(identifier: column)) FROM \(identifier: tenant.schema, table)), 0) + 1, false)
                    """
                )
            }
            // What the modules restore beyond rows, in the same transaction: all or nothing.
            try await restore(transaction)
        }
        if let branding {
            let data = try JSONSerialization.data(withJSONObject: branding)
            try await pool.execute(
                """
                UPDATE platform.tenant_branding b SET product_name = j.product_name, logo_url = j.logo_url, colors = j.colors,
                    css_variables = j.css_variables, support_email = j.support_email, support_url = j.support_url,
                    legal_footer = j.legal_footer, updated_at = now()
                FROM json_populate_record(NULL::platform.tenant_branding, \(String(decoding: data, as: UTF8.self))::json) j
                WHERE b.tenant_id = \(tenant.id)
                """
            )
        }
    }

    /// The schema's tables, each after the tables it references.
    static func tablesInDependencyOrder(
        schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws -> [SQLIdentifier] {
        let tables = try await transaction.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = \(schema.name) ORDER BY tablename"
        ).map { try $0.decode("tablename", as: String.self) }
        let edges = try await transaction.query(
            """
            SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE k.contype = 'f' AND n.nspname = \(schema.name) AND c.relname <> p.relname
            """
        ).map { (try $0.decode("child", as: String.self), try $0.decode("parent", as: String.self)) }
        var ordered: [String] = []
        var remaining = tables
        while !remaining.isEmpty {
            let ready = remaining.filter { table in edges.allSatisfy { $0.0 != table || ordered.contains($0.1) } }
            // A cycle between tables would never become ready: take the rest as they are.
            let next = ready.isEmpty ? remaining : ready
            ordered += next
            remaining.removeAll { next.contains($0) }
        }
        return try ordered.map { try SQLIdentifier($0) }
    }

    private static func object(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// A module that carries more of a tenant in its archive than the schema's rows (Identity: the
/// tenant's data keys, wrapped, so its sealed values can be re-sealed for the imported tenant).
public protocol TenantArchiveParticipant: Sendable {
    /// The archive lines' section name, such as `identity.dataKeys`.
    var section: String { get }

    /// The section's rows for `tenant` (JSON objects), read in a transaction of the host role.
    func export(_ tenant: Tenant, in transaction: PostgresTransaction) async throws -> [PostgresJSON]

    /// Restores the section for `tenant`, imported from tenant `source`, inside the import's
    /// transaction (the tenant's role; `TenantScope.asHost` for the control plane).
    func restore(
        _ rows: [PostgresJSON], from source: UUID, into tenant: Tenant, in transaction: PostgresTransaction
    ) async throws
}

/// Removes a tenant outright: schema, role and control-plane rows. Used to undo a failed import;
/// the operator-facing delete (two steps, with a final export) is built on it later.
struct TenantRemoval: Sendable {
    /// Drops the tenant's schema and role from the database `transaction` is on.
    static func dropSchemaAndRole(of slug: TenantSlug, in transaction: PostgresTransaction) async throws {
        let role = try await TenantRole.name(for: slug, in: transaction)
        try await transaction.executeScript(
            "DROP SCHEMA IF EXISTS \(slug.schema.quoted) CASCADE; DROP ROLE IF EXISTS \(role.quoted)")
    }

    func removeImmediately(_ tenant: Tenant, on pool: PostgresConnectionPool) async throws {
        let cluster = try pool.pool(for: tenant.slug.value)
        if cluster !== pool {
            try await cluster.withTransaction { try await Self.dropSchemaAndRole(of: tenant.slug, in: $0) }
        }
        try await pool.withTransaction { transaction in
            try await Self.dropSchemaAndRole(of: tenant.slug, in: transaction)
            try await transaction.execute("DELETE FROM platform.tenants WHERE id = \(tenant.id)")
            try await TenantChangeFeed.announce(tenant.slug.value, in: transaction)
        }
    }
}

/// Deletes tenants in two steps: the tenant must be suspended first, and the slug typed again.
/// A final export is written before anything is removed; the tenant's row stays, marked
/// `deleted` (its slug is never reused), while its schema, role, domains, branding and flags go.
public struct TenantDeletion: Sendable {
    private let archive: TenantArchive
    private let record: TenantEventRecorder?

    public init(archive: TenantArchive, record: TenantEventRecorder? = nil) {
        self.archive = archive
        self.record = record
    }

    /// - Parameters:
    ///   - confirmation: The slug, typed again.
    ///   - writeExport: Stores the final export; deletion proceeds only when it succeeds.
    /// - Throws: `ServiceError` when the confirmation differs, the tenant is not suspended, or it
    ///   does not exist.
    public func delete(
        _ slug: String,
        confirmation: String,
        on pool: PostgresConnectionPool,
        writeExport: ([String]) throws -> Void
    ) async throws {
        let slug = try TenantSlug(slug)
        guard confirmation == slug.value else {
            throw ServiceError(.invalidInput, "to delete tenant '\(slug)', type its slug again as the confirmation")
        }
        let status = try await pool.query("SELECT status FROM platform.tenants WHERE slug = \(slug.value)")
            .first?.decode("status", as: String.self)
        guard let status else { throw ServiceError(.notFound, "no tenant has the slug '\(slug)'") }
        guard status == "suspended" else {
            throw ServiceError(.invalidInput, "tenant '\(slug)' is \(status); suspend it before deleting it")
        }
        try writeExport(try await archive.export(slug.value, on: pool))
        // The schema and role go with the control plane's rows when the tenant lives there; on
        // another cluster, right after them (the data keys are gone by then: what remains is
        // unreadable even if dropping it fails, and the error says so).
        let cluster = try pool.pool(for: slug.value)
        try await pool.withTransaction { transaction in
            let locked = try await transaction.query(
                "SELECT id FROM platform.tenants WHERE slug = \(slug.value) AND status = 'suspended' FOR UPDATE"
            )
            guard let id = try locked.first?.decode("id", as: UUID.self) else {
                throw ServiceError(.invalidInput, "tenant '\(slug)' changed while it was being deleted; try again")
            }
            try await record?(
                TenantEvent(slug: slug, tenantID: id, action: "tenant.deleted", tenantSchemaExists: false), transaction)
            if cluster === pool { try await TenantRemoval.dropSchemaAndRole(of: slug, in: transaction) }
            // Each module forgets what it keeps of the tenant in the control plane (Identity its
            // data keys: crypto-shredding).
            for schemaExtension in archive.provisioner.tenantSchema.extensions {
                try await schemaExtension.forgetTenant(id, in: transaction)
            }
            for table in ["tenant_domains", "tenant_branding", "tenant_features"] {
                try await transaction.execute(
                    "DELETE FROM \(identifier: SQLIdentifier(static: "platform"), try SQLIdentifier(table)) WHERE tenant_id = \(id)"
                )
            }
            try await transaction.execute(
                "UPDATE platform.tenants SET status = 'deleted', updated_at = now() WHERE id = \(id)")
            try await TenantChangeFeed.announce(slug.value, in: transaction)
        }
        if cluster !== pool {
            do {
                try await cluster.withTransaction { try await TenantRemoval.dropSchemaAndRole(of: slug, in: $0) }
            } catch {
                throw ServiceError(
                    .upstreamFailed,
                    "tenant '\(slug)' is deleted and its data keys destroyed, but its schema on cluster '\(cluster.configuration.redactedDescription)' could not be dropped (\(error)); drop \(slug.schema.quoted) there by hand"
                )
            }
        }
    }
}
