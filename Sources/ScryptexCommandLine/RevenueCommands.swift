import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy

extension CommandContext {
    /// The partner's tenant id; nil (after saying so) when there is none.
    func partnerID(_ slug: String, pool: PostgresConnectionPool) async throws -> UUID? {
        guard let slug = try? TenantSlug(slug), let id = try await TenantRegistry().tenant(slug, from: pool)?.id else {
            errorOutput("scryptex: no partner '\(slug)'")
            return nil
        }
        return id
    }
}

struct RevenueIngestCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "ingest",
        summary: "Ingest fee events from CSV (each with an idempotency key; replays change nothing).",
        arguments: [
            .required("file", "CSV with the header partner,idempotency_key,product,amount,currency,volume,occurred_at.")
        ],
        discussion:
            "The whole file is checked first and ingested in one transaction: a bad line (named) ingests nothing."
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let path = invocation.arguments[0]
        guard let data = FileManager.default.contents(atPath: path) else {
            context.errorOutput("scryptex: \(path) cannot be read")
            return ScryptexProgram.ExitCode.failure
        }
        let rows: [FeeEventCSV.Row]
        do {
            rows = try FeeEventCSV.parse(String(decoding: data, as: UTF8.self), file: path)
        } catch {
            context.errorOutput("scryptex: \(error); nothing was ingested")
            return ScryptexProgram.ExitCode.failure
        }
        return try await DatabaseSetup.withPool(context.configuration, logger: context.logger) { pool in
            let slugs = Set(rows.map(\.partner))
            var partners: [String: UUID] = [:]
            for tenant in try await TenantRegistry().tenants(from: pool) where slugs.contains(tenant.slug.value) {
                partners[tenant.slug.value] = tenant.id
            }
            var events: [PartnerFeeEvent] = []
            events.reserveCapacity(rows.count)
            for row in rows {
                guard let partner = partners[row.partner] else {
                    context.errorOutput(
                        "scryptex: \(path) line \(row.line), column 'partner': no partner '\(row.partner)'; nothing was ingested"
                    )
                    return ScryptexProgram.ExitCode.failure
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
                            throw ServiceError(error.code, FeeEventCSV.naming(error.message, rows: rows, offset: start))
                        }
                        total.recorded += summary.recorded
                        total.duplicates += summary.duplicates
                        total.late += summary.late
                    }
                    return total
                }
                context.output(
                    "ingested \(path): \(summary.recorded) recorded, \(summary.duplicates) already known, \(summary.late) late (booked in the next open month)"
                )
                return ScryptexProgram.ExitCode.success
            } catch let error as ServiceError {
                context.errorOutput("scryptex: \(path): \(error.message); nothing was ingested")
                return ScryptexProgram.ExitCode.failure
            }
        }
    }
}

struct RevenueCloseCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "close",
        summary: "Close a month: post each partner's share and store its statement.",
        options: [
            .value("period", "YYYY-MM", "The month to close.", required: true),
            .value("partner", "SLUG", "Only this partner (default: every partner with a plan)."),
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let month = invocation.value("period") ?? ""
        if let slug = invocation.value("partner") {
            guard let partner = try await context.partnerID(slug, pool: pool) else {
                return ScryptexProgram.ExitCode.failure
            }
            do {
                let statement = try await pool.withTransaction {
                    try await PeriodClose().close(partner: partner, month: month, in: $0)
                }
                context.output(
                    "closed \(month) for \(slug): share \(statement.share) \(statement.currency), owed \(statement.closingPayable)"
                )
                return ScryptexProgram.ExitCode.success
            } catch let error as ServiceError {
                context.errorOutput("scryptex: \(error.message)")
                return ScryptexProgram.ExitCode.failure
            }
        }
        let results = try await PeriodClose().closeAll(month: month, on: pool)
        for result in results {
            context.output("\(result.slug)  \(result.outcome)\(result.detail.map { "  " + $0 } ?? "")")
        }
        context.output(
            "\(results.filter { $0.outcome == "closed" }.count) of \(results.count) partners closed \(month)")
        return results.allSatisfy { $0.outcome == "closed" }
            ? ScryptexProgram.ExitCode.success : ScryptexProgram.ExitCode.failure
    }
}

struct RevenueStatementCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "statement",
        summary: "Print a partner's statement for a closed month.",
        options: [
            .value("partner", "SLUG", "The partner.", required: true),
            .value("period", "YYYY-MM", "The closed month.", required: true),
            .value("format", "FORMAT", "json (default) or csv."),
        ]
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let slug = invocation.value("partner") ?? ""
        let month = invocation.value("period") ?? ""
        let format = invocation.value("format") ?? "json"
        guard ["json", "csv"].contains(format) else {
            context.errorOutput("scryptex: --format is json or csv (the printable page is served over HTTPS)")
            return ScryptexProgram.ExitCode.usage
        }
        return try await DatabaseSetup.withPool(context.configuration, logger: context.logger) { pool in
            guard let partner = try await context.partnerID(slug, pool: pool) else {
                return ScryptexProgram.ExitCode.failure
            }
            guard let (statement, _) = try await RevenueReporting().closedStatement(of: partner, for: month, from: pool)
            else {
                context.errorOutput("scryptex: \(slug) has no closed statement for \(month)")
                return ScryptexProgram.ExitCode.failure
            }
            if format == "csv" {
                context.output(
                    statement.csv.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .newlines))
            } else {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                context.output(String(decoding: try encoder.encode(statement), as: UTF8.self))
            }
            return ScryptexProgram.ExitCode.success
        }
    }
}

struct RevenueReconcileCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "reconcile",
        summary: "Compare fee events, ledger postings and statements; exit 1 on any difference.",
        options: [
            .value("period", "YYYY-MM", "Only this month."),
            .value("partner", "SLUG", "Only this partner."),
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        var partner: UUID?
        if let slug = invocation.value("partner") {
            guard let id = try await context.partnerID(slug, pool: pool) else {
                return ScryptexProgram.ExitCode.failure
            }
            partner = id
        }
        let report = try await pool.withTransaction {
            try await Reconciliation().report(period: invocation.value("period"), partner: partner, in: $0)
        }
        for difference in report.differences {
            context.output(
                "DIFFERENCE  \(difference.slug)  \(difference.check)  \(difference.period ?? "")  "
                    + "\(difference.currency ?? "")  expected \(difference.expected)  actual \(difference.actual)  "
                    + "difference \(difference.difference)")
        }
        context.output(
            "\(report.checks) checks over \(report.partners) partners: \(report.differences.count) differences")
        return report.differences.isEmpty ? ScryptexProgram.ExitCode.success : ScryptexProgram.ExitCode.failure
    }
}
