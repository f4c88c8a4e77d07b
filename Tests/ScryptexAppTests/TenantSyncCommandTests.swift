import Foundation
import ScryptexApp
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("scryptex tenant sync")
struct TenantSyncCommandTests {
    @Test func filesCreateTenantsAndSetTheirRevenueShareOnce() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let folder = "/tmp/scryptex-sync-cli-\(UInt32.random(in: 0...UInt32.max))"
            let tenants = folder + "/tenants"
            try FileManager.default.createDirectory(atPath: tenants, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let environment = [
                "DATABASE_URL": configuration.url(), "SCRYPTEX_DATA_DIR": folder, "SCRYPTEX_TENANTS_DIR": tenants,
            ]
            try #"{"slug":"vega","displayName":"Vega","domains":["trade.vega.example"],"revenueSharePercent":"17.5"}"#
                .write(toFile: tenants + "/vega.json", atomically: true, encoding: .utf8)
            let program = CapturedProgram()
            #expect(await program.run(["tenant", "sync"], environment: environment) == 0, "\(program.errors)")
            #expect(program.output.contains("created: vega"), "\(program.output)")
            #expect(program.output.contains { $0.hasPrefix("revenue plan: vega from ") })
            // Again: nothing new, the plan in force already says 17.5 %.
            #expect(await program.run(["tenant", "sync"], environment: environment) == 0)
            #expect(program.output.filter { $0.hasPrefix("revenue plan: vega") }.count == 1)
            let connection = try await PostgresConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            let plans = try await connection.query(
                "SELECT r.plan ->> 'percent' AS percent FROM platform.revenue_plans r JOIN platform.tenants t ON t.id = r.tenant_id WHERE t.slug = 'vega'"
            )
            await connection.close()
            #expect(try plans.map { try $0.decode("percent", as: String.self) } == ["17.5"])

            try #"{"slug":"vega","displayName":"Vega","revenueSharePercent":"140"}"#
                .write(toFile: tenants + "/vega.json", atomically: true, encoding: .utf8)
            #expect(await program.run(["tenant", "sync"], environment: environment) == 1)
            #expect(program.errors.contains("vega.json: field 'revenueSharePercent'"), "\(program.errors)")
        }
    }
}
