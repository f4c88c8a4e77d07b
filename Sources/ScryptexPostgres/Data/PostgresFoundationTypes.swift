public import Foundation
import ScryptexCore

extension UUID: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .uuid }
    public static var postgresArrayDataType: PostgresDataType { .uuidArray }
    /// Lower-case `8-4-4-4-12` hex, written directly (bulk inserts encode many of these).
    public var postgresText: String? {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var index = 0
                for (position, byte) in bytes.enumerated() {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = digits.utf8Start[Int(byte >> 4)]
                    buffer[index + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    index += 2
                }
                return index
            }
        }
    }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let uuid = UUID(uuidString: text) else { throw PostgresDecodingFailure("'\(text)' is not a UUID") }
        self = uuid
    }
}

extension Data: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .bytea }
    public static var postgresArrayDataType: PostgresDataType { .byteaArray }
    /// The hex form `\x0a1b…`.
    public var postgresText: String? { "\\x" + Hex.encode(self) }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard text.hasPrefix("\\x"), let bytes = Hex.decode(text.dropFirst(2)) else {
            throw PostgresDecodingFailure("the bytea value is not in hex format")
        }
        self = Data(bytes)
    }
}

/// A JSON document as stored in a `jsonb` or `json` column, kept as its text.
///
/// ```swift
/// let settings = try PostgresJSON(encoding: ["theme": "dark"])
/// try await connection.execute("UPDATE t SET settings = \(settings)")
/// let decoded = try row.decode("settings", as: PostgresJSON.self).decode([String: String].self)
/// ```
public struct PostgresJSON: Sendable, Hashable, PostgresArrayElement {
    /// The JSON text.
    public var text: String

    public init(text: String) {
        self.text = text
    }

    /// Encodes a value with `JSONEncoder` (keys sorted, so equal values give equal text).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the document with `JSONDecoder`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public static var postgresDataType: PostgresDataType { .jsonb }
    public static var postgresArrayDataType: PostgresDataType { .jsonbArray }
    public var postgresText: String? { text }

    public init(postgresText text: String, type: PostgresDataType) {
        self.text = text
    }
}
