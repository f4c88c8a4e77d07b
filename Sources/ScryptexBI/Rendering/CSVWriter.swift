/// Comma-separated values as RFC 4180 writes them: CRLF after every record, a field in double
/// quotes when it holds a comma, a quote, CR or LF (its quotes doubled). A text field that a
/// spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is written with a
/// leading apostrophe; numbers are left as they are.
public enum CSVWriter {
    public static func write(header: [String], rows: [[String]], textColumns: Set<Int> = []) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity((rows.count + 1) * 64)
        func append(_ record: [String], guarding: Set<Int>) {
            for (index, field) in record.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                var value = field
                if guarding.contains(index), let first = value.unicodeScalars.first,
                    "=+-@\t\r".unicodeScalars.contains(first)
                {
                    value = "'" + value
                }
                if value.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) {
                    output.append(0x22)
                    for byte in value.utf8 {
                        if byte == 0x22 { output.append(0x22) }
                        output.append(byte)
                    }
                    output.append(0x22)
                } else {
                    output.append(contentsOf: value.utf8)
                }
            }
            output.append(contentsOf: [0x0D, 0x0A])
        }
        append(header, guarding: Set(header.indices))
        for row in rows { append(row, guarding: textColumns) }
        return output
    }
}

extension ReportResult {
    /// The table as CSV: the columns' names, then one record per row.
    public var csv: [UInt8] {
        CSVWriter.write(
            header: columns.map(\.name), rows: rows,
            textColumns: Set(columns.indices.filter { columns[$0].kind == "dimension" }))
    }
}
