/// A SQL statement and its parameters. Every interpolated value becomes a bound `$n`
/// parameter, so values can never be spliced into SQL text:
///
/// ```swift
/// let query: PostgresQuery = "SELECT id FROM tenants WHERE slug = \(slug) AND status = \(status)"
/// // sql: "SELECT id FROM tenants WHERE slug = $1 AND status = $2", two bindings
/// ```
///
/// Identifiers (schema and table names) go in through `\(identifier:)`, which takes only a
/// validated `SQLIdentifier` and writes it quoted.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    public private(set) var sql: String
    public private(set) var bindings: PostgresBindings

    /// A statement with explicit `$n` placeholders and their values.
    public init(unsafeSQL sql: String, bindings: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.bindings = bindings
    }

    public init(stringLiteral value: String) {
        sql = value
        bindings = PostgresBindings()
    }

    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        bindings = stringInterpolation.bindings
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var bindings: PostgresBindings

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            bindings = PostgresBindings(capacity: interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value; nil is sent as NULL.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Writes a validated identifier, quoted.
        public mutating func appendInterpolation(identifier: SQLIdentifier) {
            sql += identifier.quoted
        }

        /// Writes SQL text fixed at compile time, such as a column list several queries share.
        /// Only a `StaticString` fits here: nothing computed at run time can reach the SQL text.
        public mutating func appendInterpolation(sql fragment: StaticString) {
            sql += fragment.description
        }

        /// Writes a schema-qualified name, both parts quoted.
        public mutating func appendInterpolation(identifier schema: SQLIdentifier, _ name: SQLIdentifier) {
            sql += schema.quoted + "." + name.quoted
        }
    }
}

/// Parameter values in PostgreSQL's text format with their declared types.
public struct PostgresBindings: Sendable {
    public private(set) var values: [String?]
    public private(set) var types: [PostgresDataType]

    public init(capacity: Int = 0) {
        values = []
        types = []
        values.reserveCapacity(capacity)
        types.reserveCapacity(capacity)
    }

    public var count: Int { values.count }

    public mutating func append<Value: PostgresEncodable>(_ value: Value) {
        values.append(value.postgresText)
        types.append(Value.postgresDataType)
    }

    /// Appends an existential value (used by bulk inserts).
    public mutating func append(any value: any PostgresEncodable) {
        values.append(value.postgresText)
        types.append(type(of: value).postgresDataType)
    }
}
