public import Foundation
import ScryptexCore
public import ScryptexPostgres
public import ScryptexTenancy

/// The tenant's data keys in its archive, still wrapped by the master key, and on import every
/// sealed value re-sealed for the new tenant.
///
/// A sealed value is bound to its tenant's id and key (the associated data names the tenant), so
/// rows copied into another tenant cannot be opened as they are: users could not sign in and
/// personal data answered 500. Import opens each value of every registered sealed column with the
/// archived key under the source tenant's id, seals it with the new tenant's key under its own
/// id, and recomputes the blind indexes — inside the import's transaction. An archive opens only
/// on a host with the master key that wrapped its keys (or one it was rotated from).
public struct DataKeyArchive: TenantArchiveParticipant {
    public let section = "identity.dataKeys"
    let keyring: Keyring
    let columns: [SealedColumn]

    /// - Parameter columns: The registry (`TenantSchemaPlan.sealedColumns`).
    public init(keyring: Keyring, columns: [SealedColumn]) {
        self.keyring = keyring
        self.columns = columns
    }

    public func export(_ tenant: Tenant, in transaction: PostgresTransaction) async throws -> [PostgresJSON] {
        try await keyring.archivedKeys(for: tenant.id, in: transaction).map { try PostgresJSON(encoding: $0) }
    }

    public func restore(
        _ rows: [PostgresJSON], from source: UUID, into tenant: Tenant, in transaction: PostgresTransaction
    ) async throws {
        let archived = try rows.map { try $0.decode(Keyring.ArchivedKey.self) }
        let sourceKeys = try keyring.keys(archived: archived, of: source)
        let keys = try await TenantScope.asHost(in: transaction) {
            try await keyring.keys(for: tenant.id, in: transaction)
        }
        for column in columns {
            let sealed = try await transaction.query(
                """
                SELECT id, \(identifier: column.column) AS sealed FROM \(identifier: tenant.schema, column.table)
                WHERE \(identifier: column.column) IS NOT NULL
                """
            )
            for row in sealed {
                let id = try row.decode("id", as: UUID.self)
                let plain = try sourceKeys.open(Array(try row.decode("sealed", as: Data.self)), field: column.field)
                try await transaction.execute(
                    """
                    UPDATE \(identifier: tenant.schema, column.table)
                    SET \(identifier: column.column) = \(Data(keys.seal(plain, field: column.field))) WHERE id = \(id)
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
            }
        }
    }
}
