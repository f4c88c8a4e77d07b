import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy

struct TenantMoveCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "move",
        summary:
            "Move a tenant to another PostgreSQL cluster: copy under a short write freeze, verify every table, switch, drop the source.",
        options: [
            .value("to", "CLUSTER", "The cluster: primary or a name in TENANT_CLUSTERS.", required: true),
            .flag("json", "Print the move's report as JSON."),
        ],
        arguments: [.required("slug", TenantSlugRule.text)]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let report = try await TenantMove(plan: SchemaPlans.tenant, logger: context.logger).move(
            invocation.arguments[0], to: invocation.value("to") ?? "", on: pool)
        if invocation.hasFlag("json") {
            context.output(try String(decoding: SortedJSONEncoder().encode(report), as: UTF8.self))
            return ScryptexProgram.ExitCode.success
        }
        for table in report.tables {
            context.output("  \(table.name): \(table.rows) rows, checksum \(table.checksum)")
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
