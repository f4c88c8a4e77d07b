import Foundation
import ScryptexCore
public import ScryptexPostgres
public import ScryptexTenancy

extension SealedColumn {
    /// The sealed columns of the identity tables.
    public static let identity: [SealedColumn] = [
        SealedColumn(
            table: "users", column: "email_encrypted", field: "users.email",
            lookup: .init(column: "email_lookup", purpose: "email")),
        SealedColumn(table: "users", column: "name_encrypted", field: "users.name"),
        SealedColumn(table: "users", column: "mfa_secret_encrypted", field: "users.mfa_secret"),
        SealedColumn(table: "users", column: "mfa_pending_secret_encrypted", field: "users.mfa_secret"),
    ]
}

/// Replaces a tenant's data key: a new version, every sealed value re-sealed with it, the e-mail
/// blind index recomputed, and the old versions deleted — in one transaction, so a failure
/// leaves the old key and data as they were.
public struct DataKeyRotation: Sendable {
    public let keyring: Keyring
    public let columns: [SealedColumn]

    /// - Parameter columns: The registry (`TenantSchemaPlan.sealedColumns`).
    public init(keyring: Keyring, columns: [SealedColumn]) {
        self.keyring = keyring
        self.columns = columns
    }

    /// - Returns: The new key version and how many values were re-sealed.
    public func rotate(
        _ tenant: Tenant, actor: String, on pool: PostgresConnectionPool
    ) async throws -> (
        version: Int32, resealed: Int
    ) {
        let cluster = try pool.pool(for: tenant.slug.value)
        guard cluster !== pool else {
            // One database: key, values and trails change in one transaction.
            let result = try await pool.withTransaction { transaction -> (Int32, Int) in
                _ = try await transaction.query("SELECT id FROM platform.tenants WHERE id = \(tenant.id) FOR UPDATE")
                let keys = try await keyring.addKeyVersion(for: tenant.id, in: transaction)
                let resealed = try await reseal(tenant, with: keys, in: transaction)
                try await keyring.retireKeys(olderThan: keys.currentVersion, for: tenant.id, in: transaction)
                try await record(
                    tenant, keys: keys, resealed: resealed, actor: actor, tenantTrail: transaction,
                    platformTrail: transaction
                )
                return (keys.currentVersion, resealed)
            }
            keyring.forget(tenant.id)
            return result
        }
        // The tenant on another cluster than its keys: three steps, each safe if the next never
        // comes — the new version is stored first (old values still open), then the values are
        // re-sealed on the tenant's cluster, and only then are the old versions retired.
        let keys = try await pool.withTransaction { transaction in
            _ = try await transaction.query("SELECT id FROM platform.tenants WHERE id = \(tenant.id) FOR UPDATE")
            return try await keyring.addKeyVersion(for: tenant.id, in: transaction)
        }
        let resealed = try await cluster.withTransaction { try await reseal(tenant, with: keys, in: $0) }
        try await TenantScope.withControlPlaneTransaction(for: tenant.slug, on: pool) {
            transaction, tenantTransaction in
            try await keyring.retireKeys(olderThan: keys.currentVersion, for: tenant.id, in: transaction)
            try await record(
                tenant, keys: keys, resealed: resealed, actor: actor, tenantTrail: tenantTransaction ?? transaction,
                platformTrail: transaction)
        }
        keyring.forget(tenant.id)
        return (keys.currentVersion, resealed)
    }

    /// Re-seals every registered column's values of `tenant` with `keys`' current version, then
    /// checks that no value in the schema is left on another.
    private func reseal(
        _ tenant: Tenant, with keys: Keyring.TenantKeys, in transaction: PostgresTransaction
    )
        async throws -> Int
    {
        var resealed = 0
        for column in columns {
            let rows = try await transaction.query(
                """
                SELECT id, \(identifier: column.column) AS sealed FROM \(identifier: tenant.schema, column.table)
                WHERE \(identifier: column.column) IS NOT NULL FOR UPDATE
                """
            )
            for row in rows {
                let plain = try keys.open(Array(try row.decode("sealed", as: Data.self)), field: column.field)
                let sealed = Data(keys.seal(plain, field: column.field))
                let id = try row.decode("id", as: UUID.self)
                try await transaction.execute(
                    """
                    UPDATE \(identifier: tenant.schema, column.table) SET \(identifier: column.column) = \(sealed)
                    WHERE id = \(id)
                    """
                )
                if let lookup = column.lookup {
                    try await transaction.execute(
                        """
                        UPDATE \(identifier: tenant.schema, column.table)
                        SET \(identifier: lookup.column) = \(keys.lookupHash(plain, purpose: lookup.purpose)) WHERE id = \(id)
                        """
                    )
                }
                resealed += 1
            }
        }
        // Old versions go only when no value in the schema still uses one — any encrypted
        // column, declared or not.
        let stale = try await Self.valuesOnOldVersions(
            in: tenant.schema, current: keys.currentVersion, transaction: transaction)
        guard stale.isEmpty else {
            throw ServiceError(
                .corrupt,
                "values sealed with an older key remain in \(stale.joined(separator: ", ")), which the registry of sealed columns does not name: nothing was changed"
            )
        }
        return resealed
    }

    /// `data_key.rotated` in the tenant's trail and in the control plane's.
    private func record(
        _ tenant: Tenant, keys: Keyring.TenantKeys, resealed: Int, actor: String,
        tenantTrail: PostgresTransaction, platformTrail: PostgresTransaction
    ) async throws {
        let event = AuditEvent(
            actor: actor, action: "data_key.rotated", objectType: "tenant", objectID: tenant.slug.value,
            details: ["version": String(keys.currentVersion), "resealed": String(resealed)])
        try await AuditTrail(schema: tenant.schema).append(event, in: tenantTrail)
        try await AuditTrail(schema: SQLIdentifier(static: "platform")).append(event, in: platformTrail)
    }

    /// The `table.column` of every encrypted (bytea) column of `schema` holding a value sealed
    /// with a key version other than `current`.
    static func valuesOnOldVersions(
        in schema: SQLIdentifier, current: Int32, transaction: PostgresTransaction
    ) async throws -> [String] {
        var stale: [String] = []
        let columns = try await transaction.query(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = \(schema.name) AND data_type = 'bytea' ORDER BY table_name, column_name
            """
        )
        var version = current.bigEndian
        let currentBytes = Data(withUnsafeBytes(of: &version) { Array($0) })
        for row in columns {
            let table = try SQLIdentifier(try row.decode("table_name", as: String.self))
            let column = try SQLIdentifier(try row.decode("column_name", as: String.self))
            let count = try await transaction.query(
                """
                SELECT count(*) AS n FROM \(identifier: schema, table)
                WHERE \(identifier: column) IS NOT NULL AND get_byte(\(identifier: column), 0) = 1
                  AND substring(\(identifier: column) FROM 2 FOR 4) <> \(currentBytes)
                """
            ).firstRow.decode("n", as: Int.self)
            if count > 0 { stale.append("\(table.name).\(column.name) (\(count))") }
        }
        return stale
    }
}
