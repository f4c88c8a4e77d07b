extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }

    /// The array literal `{"a","b",NULL}`, every element quoted; built as bytes, since bulk
    /// inserts send arrays of thousands of values.
    public var postgresText: String? {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(count * 16 + 2)
        for (index, element) in enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard var value = element.postgresText else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            value.withUTF8 { utf8 in
                for byte in utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        let elements = try PostgresArrayLiteral.parse(text)
        var values: [Element] = []
        values.reserveCapacity(elements.count)
        for element in elements {
            if let element {
                values.append(try Element(postgresText: element, type: .unspecified))
            } else {
                values.append(try Element.decodeNull())
            }
        }
        self = values
    }
}

/// Parses a one-dimensional array in PostgreSQL's text output format.
enum PostgresArrayLiteral {
    static func parse(_ text: String) throws(PostgresDecodingFailure) -> [String?] {
        var scalars = Substring(text).unicodeScalars[...]
        // An explicit lower bound (`[0:2]={…}`) precedes the braces.
        if scalars.first == "[" {
            guard let equals = scalars.firstIndex(of: "=") else {
                throw PostgresDecodingFailure("malformed array bounds")
            }
            scalars = scalars[scalars.index(after: equals)...]
        }
        guard scalars.first == "{", scalars.last == "}" else {
            throw PostgresDecodingFailure("'\(text)' is not an array literal")
        }
        scalars = scalars.dropFirst().dropLast()
        if scalars.isEmpty { return [] }
        if scalars.first == "{" {
            throw PostgresDecodingFailure("multi-dimensional arrays are not supported")
        }
        var elements: [String?] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var escaped = false
        for scalar in scalars {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if scalar == "," && !quoted {
                elements.append(element(current, wasQuoted: wasQuoted))
                current = String.UnicodeScalarView()
                wasQuoted = false
            } else {
                current.append(scalar)
            }
        }
        guard !quoted, !escaped else { throw PostgresDecodingFailure("unterminated quote in array literal") }
        elements.append(element(current, wasQuoted: wasQuoted))
        return elements
    }

    private static func element(_ scalars: String.UnicodeScalarView, wasQuoted: Bool) -> String? {
        let value = String(scalars)
        if !wasQuoted && value.uppercased() == "NULL" { return nil }
        return value
    }
}
