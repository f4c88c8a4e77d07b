import Foundation
import ScryptexCore

/// Fee events as CSV (RFC 4180, a header row): `partner,idempotency_key,product,amount,currency,
/// volume,occurred_at` — `partner` a tenant slug, `volume` may be empty, `occurred_at` ISO 8601.
public enum FeeEventCSV {
    /// One event with the line it starts on and its partner's slug.
    public struct Row: Sendable {
        public var line: Int
        public var partner: String
        public var event: FeeEvent
    }

    /// What is wrong with the file, naming the line and column.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Turns `events[i]` of a batch starting at `offset` into the file's line in a message.
    public static func naming(_ message: String, rows: [Row], offset: Int) -> String {
        guard let range = message.range(of: #"events\[[0-9]+\]"#, options: .regularExpression),
            let index = Int(message[range].dropFirst(7).dropLast()), rows.indices.contains(offset + index)
        else { return message }
        var named = message
        named.replaceSubrange(range, with: "line \(rows[offset + index].line)")
        return named
    }

    public static let header = ["partner", "idempotency_key", "product", "amount", "currency", "volume", "occurred_at"]

    public static func parse(_ text: String, file: String) throws(Problem) -> [Row] {
        let records = try records(of: text, file: file)
        guard let first = records.first, first.fields.map({ $0.lowercased() }) == header else {
            throw Problem(description: "\(file) line 1: the header must be \(header.joined(separator: ","))")
        }
        var rows: [Row] = []
        rows.reserveCapacity(records.count)
        for record in records.dropFirst() {
            func fail(_ column: String, _ problem: String) -> Problem {
                Problem(description: "\(file) line \(record.line), column '\(column)': \(problem)")
            }
            let fields = record.fields
            guard fields.count == header.count else {
                throw Problem(
                    description:
                        "\(file) line \(record.line): \(fields.count) columns where the header has \(header.count)")
            }
            guard let amount = ExactDecimal(fields[3]) else {
                throw fail("amount", "'\(fields[3])' is not a decimal number")
            }
            var volume: ExactDecimal?
            if !fields[5].isEmpty {
                guard let value = ExactDecimal(fields[5]) else {
                    throw fail("volume", "'\(fields[5])' is not a decimal number")
                }
                volume = value
            }
            guard let occurredAt = Timestamp.parse(fields[6]) else {
                throw fail("occurred_at", "'\(fields[6])' is not an ISO 8601 time such as 2026-11-02T10:00:00Z")
            }
            let event = FeeEvent(
                idempotencyKey: fields[1], product: fields[2], amount: amount, currency: fields[4], volume: volume,
                occurredAt: occurredAt)
            do {
                _ = try FeeEventIngestion.validate(event)
            } catch {
                throw Problem(description: "\(file) line \(record.line): \(error.message)")
            }
            rows.append(Row(line: record.line, partner: fields[0], event: event))
        }
        return rows
    }

    /// Splits CSV into records of fields, honouring quoted fields (with `""` for a quote and
    /// line breaks inside quotes); blank lines are skipped.
    static func records(of text: String, file: String) throws(Problem) -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        var characters = text.makeIterator()
        var pending: Character? = nil
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
            field = ""
        }
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty:
                quoted = true
            case ",":
                fields.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(character)
            }
        }
        guard !quoted else { throw Problem(description: "\(file) line \(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
