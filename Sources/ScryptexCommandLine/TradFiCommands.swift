import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTradFi

/// `scryptex reconcile`: a broker's or a custodian's statement, or a broker's FIX position
/// reports, matched against a tenant's book — what the API's `POST …/tradfi/reconciliations`
/// does, from a file on the operator's machine.
struct ReconcileCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "reconcile",
        summary: "Match a broker's or custodian's statement against a tenant's book; exit 1 on any break.",
        options: [
            .value("tenant", "SLUG", TenantSlugRule.text, required: true),
            .value(
                "source", "SOURCE",
                "broker_csv, custodian_csv or fix_positions (the positions a broker session's broker reported).",
                required: true),
            .value("file", "PATH", "The CSV statement (header: account,asset,quantity)."),
            .value("custodian", "NAME", "For custodian_csv: the custodian the statement is from."),
            .value("session", "ID", "For fix_positions: the broker session."),
            .value("as-of", "YYYY-MM-DD", "The statement's date (default: today, UTC)."),
        ],
        discussion:
            "Each break is printed with its cause and age; the reconciliation and its breaks are stored and audited as over the API."
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        guard let source = ReconciliationSource(rawValue: invocation.value("source") ?? "") else {
            context.errorOutput(
                "scryptex: --source must be one of \(ReconciliationSource.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return ScryptexProgram.ExitCode.usage
        }
        var statement: String?
        var name = "statement"
        if let path = invocation.value("file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                context.errorOutput("scryptex: cannot read \(path)")
                return ScryptexProgram.ExitCode.failure
            }
            statement = String(decoding: data, as: UTF8.self)
            name = URL(fileURLWithPath: path).lastPathComponent
        } else if source != .fixPositions {
            context.errorOutput("scryptex: --file is required for \(source.rawValue)")
            return ScryptexProgram.ExitCode.usage
        }
        var session: UUID?
        if let text = invocation.value("session") {
            guard let id = UUID(uuidString: text) else {
                context.errorOutput("scryptex: --session must be a broker session's id")
                return ScryptexProgram.ExitCode.usage
            }
            session = id
        }
        var asOf = PostgresDate(containing: Date())
        if let text = invocation.value("as-of") {
            guard let date = PostgresDate(iso8601: text) else {
                context.errorOutput("scryptex: --as-of must be a date (YYYY-MM-DD)")
                return ScryptexProgram.ExitCode.usage
            }
            asOf = date
        }
        let tenant = try await context.liveTenant(invocation.value("tenant") ?? "", on: pool)
        let reconciled = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await ReconciliationService().reconcile(
                source: source, sourceName: name, statement: statement, custodian: invocation.value("custodian"),
                session: session, asOf: asOf, actor: "operator",
                audit: TenantAuditSink(schema: tenant.schema, actor: "operator", requestID: nil), in: transaction)
        }
        for found in reconciled.breaks ?? [] {
            context.output(
                "BREAK  \(found.externalAccount)  \(found.asset)  \(found.cause.rawValue)  book \(found.internalQuantity?.description ?? "-")  statement \(found.externalQuantity?.description ?? "-")  age \(found.ageDays) d  \(found.id.uuidString.lowercased())"
            )
        }
        context.output(
            "reconciliation \(reconciled.id.uuidString.lowercased()) of \(reconciled.sourceName) as of \(reconciled.asOf): \(reconciled.rowsRead) rows, \(reconciled.matched) matched, \(reconciled.breakCount) breaks"
        )
        return reconciled.breakCount == 0 ? ScryptexProgram.ExitCode.success : ScryptexProgram.ExitCode.failure
    }
}
