/// A PostgreSQL type, identified by its OID as in `pg_type`.
public struct PostgresDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Lets the server infer the parameter's type from its use, as for a quoted literal.
    public static let unspecified = PostgresDataType(rawValue: 0)
    public static let bool = PostgresDataType(rawValue: 16)
    public static let bytea = PostgresDataType(rawValue: 17)
    public static let int8 = PostgresDataType(rawValue: 20)
    public static let int2 = PostgresDataType(rawValue: 21)
    public static let int4 = PostgresDataType(rawValue: 23)
    public static let text = PostgresDataType(rawValue: 25)
    public static let oid = PostgresDataType(rawValue: 26)
    public static let json = PostgresDataType(rawValue: 114)
    public static let float4 = PostgresDataType(rawValue: 700)
    public static let float8 = PostgresDataType(rawValue: 701)
    public static let varchar = PostgresDataType(rawValue: 1043)
    public static let date = PostgresDataType(rawValue: 1082)
    public static let timestamp = PostgresDataType(rawValue: 1114)
    public static let timestamptz = PostgresDataType(rawValue: 1184)
    public static let numeric = PostgresDataType(rawValue: 1700)
    public static let uuid = PostgresDataType(rawValue: 2950)
    public static let jsonb = PostgresDataType(rawValue: 3802)

    public static let boolArray = PostgresDataType(rawValue: 1000)
    public static let byteaArray = PostgresDataType(rawValue: 1001)
    public static let int2Array = PostgresDataType(rawValue: 1005)
    public static let int4Array = PostgresDataType(rawValue: 1007)
    public static let textArray = PostgresDataType(rawValue: 1009)
    public static let varcharArray = PostgresDataType(rawValue: 1015)
    public static let int8Array = PostgresDataType(rawValue: 1016)
    public static let float8Array = PostgresDataType(rawValue: 1022)
    public static let timestamptzArray = PostgresDataType(rawValue: 1185)
    public static let dateArray = PostgresDataType(rawValue: 1182)
    public static let numericArray = PostgresDataType(rawValue: 1231)
    public static let uuidArray = PostgresDataType(rawValue: 2951)
    public static let jsonbArray = PostgresDataType(rawValue: 3807)

    private static let names: [UInt32: String] = [
        0: "unspecified", 16: "bool", 17: "bytea", 20: "int8", 21: "int2", 23: "int4", 25: "text", 26: "oid",
        114: "json", 700: "float4", 701: "float8", 1043: "varchar", 1082: "date", 1114: "timestamp",
        1184: "timestamptz", 1700: "numeric", 2950: "uuid", 3802: "jsonb", 1000: "bool[]", 1001: "bytea[]",
        1005: "int2[]", 1007: "int4[]", 1009: "text[]", 1015: "varchar[]", 1016: "int8[]", 1022: "float8[]",
        1185: "timestamptz[]", 1182: "date[]", 1231: "numeric[]", 2951: "uuid[]", 3807: "jsonb[]",
    ]

    public var description: String { Self.names[rawValue] ?? "oid \(rawValue)" }
}
