/// A Swift value that can be sent as a query parameter, in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The type the parameter is declared as; `.unspecified` lets the server infer it.
    static var postgresDataType: PostgresDataType { get }
    /// The value's text form, or nil for SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a result column, from PostgreSQL's text format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value.
    /// - Parameters:
    ///   - text: The value as the server wrote it.
    ///   - type: The column's type.
    /// - Throws: `PostgresDecodingFailure` saying why the text does not fit.
    init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure)

    /// The value for SQL NULL. Only optionals have one; every other type throws.
    static func decodeNull() throws(PostgresDecodingFailure) -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws(PostgresDecodingFailure) -> Self {
        throw PostgresDecodingFailure("the value is NULL, but \(Self.self) is not optional")
    }
}

/// Why a column value does not decode into a Swift type.
public struct PostgresDecodingFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}

/// Types that can stand in a PostgreSQL array (`[Int]` as `int8[]`, `[String]` as `text[]`).
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {
    static var postgresArrayDataType: PostgresDataType { get }
}

// MARK: Optional

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { Wrapped.postgresDataType }
    public var postgresText: String? { self?.postgresText }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        self = try Wrapped(postgresText: text, type: type)
    }

    public static func decodeNull() throws(PostgresDecodingFailure) -> Self { nil }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public static var postgresArrayDataType: PostgresDataType { Wrapped.postgresArrayDataType }
}

// MARK: Text

extension String: PostgresArrayElement {
    // Unspecified, like a quoted literal, so a string binds to text, uuid, enum or json columns alike.
    public static var postgresDataType: PostgresDataType { .unspecified }
    public static var postgresArrayDataType: PostgresDataType { .textArray }
    public var postgresText: String? { self }

    public init(postgresText text: String, type: PostgresDataType) {
        self = text
    }
}

// MARK: Booleans

extension Bool: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .bool }
    public static var postgresArrayDataType: PostgresDataType { .boolArray }
    public var postgresText: String? { self ? "t" : "f" }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure("'\(text)' is not a boolean")
        }
    }
}

// MARK: Integers

extension PostgresDecodable where Self: FixedWidthInteger {
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = Self(text) else {
            throw PostgresDecodingFailure("'\(text)' is not a whole number that fits \(Self.self)")
        }
        self = value
    }
}

extension Int: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .int8 }
    public static var postgresArrayDataType: PostgresDataType { .int8Array }
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .int8 }
    public static var postgresArrayDataType: PostgresDataType { .int8Array }
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .int4 }
    public static var postgresArrayDataType: PostgresDataType { .int4Array }
    public var postgresText: String? { String(self) }
}

extension Int16: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .int2 }
    public static var postgresArrayDataType: PostgresDataType { .int2Array }
    public var postgresText: String? { String(self) }
}

// MARK: Floating point (analytics only; money uses ExactDecimal)

extension Double: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .float8 }
    public static var postgresArrayDataType: PostgresDataType { .float8Array }
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return "\(self)"
    }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw PostgresDecodingFailure("'\(text)' is not a number") }
            self = value
        }
    }
}
