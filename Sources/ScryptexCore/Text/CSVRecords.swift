/// RFC 4180-style records: fields separated by commas, optionally in double quotes (a quote
/// inside is doubled), records by line breaks (which may also appear inside quotes).
public enum CSVRecords {
    /// The records of `text`; a quoted field never closed is an error naming the line it opened on.
    public static func parse(_ text: String) throws(CSVFormatError) -> [[String]] {
        var records: [[String]] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quotedLineStart = 0
        var line = 1
        let bytes = Array(text.utf8)
        var index = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    inQuotes = true
                    quotedLineStart = line
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\r"), 0x1A:
                    // Carriage returns, and the end-of-file mark (Ctrl-Z) OFAC's files end with.
                    break
                case UInt8(ascii: "\n"):
                    endField()
                    if !(fields.count == 1 && fields[0].isEmpty) { records.append(fields) }
                    fields.removeAll(keepingCapacity: true)
                    line += 1
                default:
                    field.append(byte)
                }
            }
            index += 1
        }
        if inQuotes {
            throw CSVFormatError(line: quotedLineStart, problem: "a quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(fields) }
        }
        return records
    }
}

/// Why a CSV text could not be read, and where.
public struct CSVFormatError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var problem: String

    public var description: String { "line \(line): \(problem)" }
}
