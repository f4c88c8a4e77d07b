import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy

struct TenantMoveCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "move",
        summary:
            "Move a tenant to another PostgreSQL cluster: copy while it runs, hold writes for its last changes, verify, switch, drop the source.",
        options: [
            .value("to", "CLUSTER", "The cluster: primary or a name in TENANT_CLUSTERS.", required: true),
            .flag("offline", "Copy everything under the write freeze (needed when a table has no primary key)."),
            .value(
                "lock-timeout", "SECONDS", "How long to wait for work in flight on the tenant's tables (default 10)."),
            .flag("json", "Print the move's report as JSON."),
        ],
        arguments: [.required("slug", TenantSlugRule.text)]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        var move = TenantMove(plan: SchemaPlans.tenant, logger: context.logger)
        move.online = !invocation.hasFlag("offline")
        if let text = invocation.value("lock-timeout") {
            guard let seconds = Int(text), (1...600).contains(seconds) else {
                return context.report(ServiceError(.invalidInput, "--lock-timeout: 1 to 600 seconds, not '\(text)'"))
            }
            move.lockTimeout = .seconds(seconds)
        }
        let report = try await move.move(invocation.arguments[0], to: invocation.value("to") ?? "", on: pool)
        if invocation.hasFlag("json") {
            context.output(try String(decoding: SortedJSONEncoder().encode(report), as: UTF8.self))
            return ScryptexProgram.ExitCode.success
        }
        for table in report.tables {
            context.output("  \(table.name): \(table.rows) rows, checksum \(table.checksum)")
        }
        if report.online {
            context.output(
                "copied while the tenant ran: rounds of \(report.roundsBeforeFreeze.map(String.init).joined(separator: ", ")) changed rows, then \(report.changesUnderFreeze) under the freeze"
            )
        }
        context.output(
            "moved tenant \(report.tenant) from \(report.from) to \(report.to): \(report.rows) rows in \(report.tables.count) tables and \(report.sequences) sequences verified; "
                + "writes held for \(report.writeFreezeMilliseconds) ms (after \(report.lockWaitMilliseconds) ms waiting for writes in flight), \(report.totalMilliseconds) ms in all"
        )
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantClustersCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "clusters", summary: "List the tenant clusters (primary and TENANT_CLUSTERS) and the tenants on each.")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let tenants = try await TenantRegistry().summaries(from: pool).filter { $0.status != "deleted" }
        let names = [TenantClusters.primary] + context.configuration.tenantClusters.keys.sorted()
        for name in names {
            let here = tenants.filter { $0.placement == name }.map(\.slug)
            let reachable: String
            do {
                try await pool.pool(named: name).execute("SELECT 1")
                reachable = "reachable"
            } catch {
                reachable = "NOT REACHABLE (\(error))"
            }
            context.output("\(name)  \(reachable)  \(here.count) tenants  [\(here.joined(separator: " "))]")
        }
        for tenant in tenants where !names.contains(tenant.placement) {
            context.output("\(tenant.slug) is placed on '\(tenant.placement)', which TENANT_CLUSTERS does not name")
        }
        return ScryptexProgram.ExitCode.success
    }
}
