import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy

/// `scryptex revenue ingest|close|statement|reconcile`.
extension ScryptexProgram {
    func revenue(
        _ invocation: CommandLineParser.Invocation, _ configuration: Configuration, logger: Logger
    ) async throws -> Int32 {
        switch invocation.path {
        case ["revenue", "ingest"]:
            let path = invocation.arguments[0]
            guard let data = FileManager.default.contents(atPath: path) else {
                errorOutput("scryptex: \(path) cannot be read")
                return ExitCode.failure
            }
            let rows: [FeeEventCSV.Row]
            do {
                rows = try FeeEventCSV.parse(String(decoding: data, as: UTF8.self), file: path)
            } catch {
                errorOutput("scryptex: \(error); nothing was ingested")
                return ExitCode.failure
            }
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                let slugs = Array(Set(rows.map(\.partner)))
                var partners: [String: UUID] = [:]
                for tenant in try await TenantRegistry().tenants(from: pool) where slugs.contains(tenant.slug.value) {
                    partners[tenant.slug.value] = tenant.id
                }
                var events: [PartnerFeeEvent] = []
                events.reserveCapacity(rows.count)
                for row in rows {
                    guard let partner = partners[row.partner] else {
                        errorOutput(
                            "scryptex: \(path) line \(row.line), column 'partner': no partner '\(row.partner)'; nothing was ingested"
                        )
                        return ExitCode.failure
                    }
                    events.append(PartnerFeeEvent(partner: partner, event: row.event))
                }
                // The whole file in one transaction, in batches: all of it or none of it.
                do {
                    let summary = try await pool.withTransaction { transaction in
                        var total = FeeEventIngestion.Summary()
                        for start in stride(from: 0, to: events.count, by: 5_000) {
                            let batch = Array(events[start..<min(events.count, start + 5_000)])
                            let summary: FeeEventIngestion.Summary
                            do {
                                summary = try await FeeEventIngestion().ingest(batch, in: transaction)
                            } catch let error as ServiceError {
                                throw ServiceError(
                                    error.code, FeeEventCSV.naming(error.message, rows: rows, offset: start))
                            }
                            total.recorded += summary.recorded
                            total.duplicates += summary.duplicates
                            total.late += summary.late
                        }
                        return total
                    }
                    output(
                        "ingested \(path): \(summary.recorded) recorded, \(summary.duplicates) already known, \(summary.late) late (booked in the next open month)"
                    )
                    return ExitCode.success
                } catch let error as ServiceError {
                    errorOutput("scryptex: \(path): \(error.message); nothing was ingested")
                    return ExitCode.failure
                }
            }
        case ["revenue", "close"]:
            let month = invocation.value("period")!
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                if let slug = invocation.value("partner") {
                    guard let partner = try await partnerID(slug, pool: pool) else { return ExitCode.failure }
                    do {
                        let statement = try await pool.withTransaction {
                            try await PeriodClose().close(partner: partner, month: month, in: $0)
                        }
                        output(
                            "closed \(month) for \(slug): share \(statement.share) \(statement.currency), owed \(statement.closingPayable)"
                        )
                        return ExitCode.success
                    } catch let error as ServiceError {
                        errorOutput("scryptex: \(error.message)")
                        return ExitCode.failure
                    }
                }
                let results = try await PeriodClose().closeAll(month: month, on: pool)
                for result in results {
                    output("\(result.slug)  \(result.outcome)\(result.detail.map { "  " + $0 } ?? "")")
                }
                output(
                    "\(results.filter { $0.outcome == "closed" }.count) of \(results.count) partners closed \(month)")
                return results.allSatisfy { $0.outcome == "closed" } ? ExitCode.success : ExitCode.failure
            }
        case ["revenue", "statement"]:
            let slug = invocation.value("partner")!
            let month = invocation.value("period")!
            let format = invocation.value("format") ?? "json"
            guard ["json", "csv"].contains(format) else {
                errorOutput("scryptex: --format is json or csv (the printable page is served over HTTPS)")
                return ExitCode.usage
            }
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                guard let partner = try await partnerID(slug, pool: pool) else { return ExitCode.failure }
                guard
                    let (statement, _) = try await RevenueReporting().closedStatement(
                        of: partner, for: month, from: pool)
                else {
                    errorOutput("scryptex: \(slug) has no closed statement for \(month)")
                    return ExitCode.failure
                }
                if format == "csv" {
                    output(statement.csv.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .newlines))
                } else {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                    output(String(decoding: try encoder.encode(statement), as: UTF8.self))
                }
                return ExitCode.success
            }
        default:  // reconcile
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                var partner: UUID?
                if let slug = invocation.value("partner") {
                    guard let id = try await partnerID(slug, pool: pool) else { return ExitCode.failure }
                    partner = id
                }
                let report = try await pool.withTransaction {
                    try await Reconciliation().report(period: invocation.value("period"), partner: partner, in: $0)
                }
                for difference in report.differences {
                    output(
                        "DIFFERENCE  \(difference.slug)  \(difference.check)  \(difference.period ?? "")  "
                            + "\(difference.currency ?? "")  expected \(difference.expected)  actual \(difference.actual)  "
                            + "difference \(difference.difference)")
                }
                output(
                    "\(report.checks) checks over \(report.partners) partners: \(report.differences.count) differences")
                return report.differences.isEmpty ? ExitCode.success : ExitCode.failure
            }
        }
    }

    private func partnerID(_ slug: String, pool: PostgresConnectionPool) async throws -> UUID? {
        guard let slug = try? TenantSlug(slug), let id = try await TenantRegistry().tenant(slug, from: pool)?.id else {
            errorOutput("scryptex: no partner '\(slug)'")
            return nil
        }
        return id
    }
}

/// Fee events as CSV (RFC 4180, a header row): `partner,idempotency_key,product,amount,currency,
/// volume,occurred_at` — `partner` a tenant slug, `volume` may be empty, `occurred_at` ISO 8601.
enum FeeEventCSV {
    struct Row {
        var line: Int
        var partner: String
        var event: FeeEvent
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Turns `events[i]` of a batch starting at `offset` into the file's line in a message.
    static func naming(_ message: String, rows: [Row], offset: Int) -> String {
        guard let range = message.range(of: #"events\[[0-9]+\]"#, options: .regularExpression),
            let index = Int(message[range].dropFirst(7).dropLast()), rows.indices.contains(offset + index)
        else { return message }
        var named = message
        named.replaceSubrange(range, with: "line \(rows[offset + index].line)")
        return named
    }

    static let header = ["partner", "idempotency_key", "product", "amount", "currency", "volume", "occurred_at"]

    static func parse(_ text: String, file: String) throws(Problem) -> [Row] {
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
