import Foundation
import ScryptexCore
public import ScryptexPostgres
public import ScryptexTenancy

/// A column whose values are sealed with the tenant's data key.
public struct SealedColumn: Sendable {
    public var table: SQLIdentifier
    public var column: SQLIdentifier
    /// The associated-data name the values were sealed with, such as `users.email`.
    public var field: String

    public init(table: StaticString, column: StaticString, field: String) {
        self.table = SQLIdentifier(static: table)
        self.column = SQLIdentifier(static: column)
        self.field = field
    }

    /// The sealed columns of the identity tables. Services that seal more columns add theirs.
    public static let identity: [SealedColumn] = [
        SealedColumn(table: "users", column: "email_encrypted", field: "users.email"),
        SealedColumn(table: "users", column: "name_encrypted", field: "users.name"),
        SealedColumn(table: "users", column: "mfa_secret_encrypted", field: "users.mfa_secret"),
    ]
}

/// Replaces a tenant's data key: a new version, every sealed value re-sealed with it, the e-mail
/// blind index recomputed, and the old versions deleted — in one transaction, so a failure
/// leaves the old key and data as they were.
public struct DataKeyRotation: Sendable {
    public let keyring: Keyring
    public let columns: [SealedColumn]

    public init(keyring: Keyring, columns: [SealedColumn] = SealedColumn.identity) {
        self.keyring = keyring
        self.columns = columns
    }

    /// - Returns: The new key version and how many values were re-sealed.
    public func rotate(
        _ tenant: Tenant, actor: String, on pool: PostgresConnectionPool
    ) async throws -> (
        version: Int32, resealed: Int
    ) {
        let result = try await pool.withTransaction { transaction -> (Int32, Int) in
            _ = try await transaction.query("SELECT id FROM platform.tenants WHERE id = \(tenant.id) FOR UPDATE")
            let keys = try await keyring.addKeyVersion(for: tenant.id, in: transaction)
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
                    if column.field == "users.email" {
                        try await transaction.execute(
                            """
                            UPDATE \(identifier: tenant.schema, column.table)
                            SET email_lookup = \(keys.lookupHash(plain, purpose: "email")) WHERE id = \(id)
                            """
                        )
                    }
                    resealed += 1
                }
            }
            try await keyring.retireKeys(olderThan: keys.currentVersion, for: tenant.id, in: transaction)
            let event = AuditEvent(
                actor: actor, action: "data_key.rotated", objectType: "tenant", objectID: tenant.slug.value,
                details: ["version": String(keys.currentVersion), "resealed": String(resealed)])
            try await AuditTrail(schema: tenant.schema).append(event, in: transaction)
            try await AuditTrail(schema: SQLIdentifier(static: "platform")).append(event, in: transaction)
            return (keys.currentVersion, resealed)
        }
        keyring.forget(tenant.id)
        return result
    }
}
