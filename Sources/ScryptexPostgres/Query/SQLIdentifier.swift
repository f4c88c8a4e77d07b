/// A validated SQL identifier (schema, table, column, role or channel name): lowercase ASCII
/// letters, digits and underscores, starting with a letter or underscore, at most 63 bytes.
/// It is always written double-quoted, so even a reserved word is safe.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    /// Validates `name`.
    /// - Throws: `PostgresError` with code `.invalidArgument` saying what is allowed.
    public init(_ name: String) throws(PostgresError) {
        guard Self.isValid(name) else {
            throw PostgresError(
                code: .invalidArgument,
                message:
                    "'\(name)' is not a valid SQL identifier: use 1 to 63 lowercase letters, digits and underscores, starting with a letter or underscore"
            )
        }
        self.name = name
    }

    /// An identifier written in the source code; traps if it is not valid.
    public init(static name: StaticString) {
        let text = name.description
        precondition(Self.isValid(text), "'\(text)' is not a valid SQL identifier")
        self.name = text
    }

    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        guard first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.allSatisfy {
            $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
    }

    /// The identifier in double quotes.
    public var quoted: String { "\"" + name + "\"" }

    public var description: String { quoted }
}
