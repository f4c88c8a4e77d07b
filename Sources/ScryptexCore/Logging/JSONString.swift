/// Writes a Swift string as a JSON string literal (RFC 8259), escaping quotes, backslashes and
/// control characters.
public enum JSONString {
    public static func append(_ value: String, to output: inout String) {
        // Most strings need no escape: copy them whole (one check per byte, one append).
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            output += "\""
            output += value
            output += "\""
            return
        }
        output.unicodeScalars.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output.unicodeScalars.append("\"")
    }

    /// The same literal, appended as UTF-8 bytes.
    public static func append(_ value: String, toUTF8 output: inout [UInt8]) {
        var value = value
        // Checked and copied as one contiguous run of bytes (a native string already is one).
        let copied = value.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) else { return false }
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: bytes)
            output.append(UInt8(ascii: "\""))
            return true
        }
        if copied { return }
        var escaped = ""
        append(value, to: &escaped)
        output.append(contentsOf: escaped.utf8)
    }

    /// `value`'s UTF-8 bytes as they are, for text known to need no escape (a level, a timestamp).
    public static func appendUnquoted(_ value: String, toUTF8 output: inout [UInt8]) {
        var value = value
        value.withUTF8 { output.append(contentsOf: $0) }
    }

    /// The JSON string literal for `value`.
    public static func quoted(_ value: String) -> String {
        var output = ""
        append(value, to: &output)
        return output
    }
}
