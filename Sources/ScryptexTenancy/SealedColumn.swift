public import ScryptexPostgres

/// A tenant table's column whose values are sealed with the tenant's data key, as the module
/// that owns the table declares it. `TenantSchemaPlan.sealedColumns` is the registry of all of
/// them: key rotation re-seals every one, a tenant import re-seals them under the new tenant,
/// and a test fails when a tenant schema has an encrypted column the registry does not name.
public struct SealedColumn: Sendable, Equatable {
    /// A blind index kept beside the sealed value (a keyed hash, recomputed with a new key).
    public struct Lookup: Sendable, Equatable {
        public var column: SQLIdentifier
        public var purpose: String

        public init(column: StaticString, purpose: String) {
            self.column = SQLIdentifier(static: column)
            self.purpose = purpose
        }
    }

    public var table: SQLIdentifier
    public var column: SQLIdentifier
    /// The associated-data name the values were sealed with, such as `users.email`.
    public var field: String
    public var lookup: Lookup?

    public init(table: StaticString, column: StaticString, field: String, lookup: Lookup? = nil) {
        self.table = SQLIdentifier(static: table)
        self.column = SQLIdentifier(static: column)
        self.field = field
        self.lookup = lookup
    }
}
