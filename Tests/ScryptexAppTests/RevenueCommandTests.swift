import Foundation
import ScryptexApp
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("scryptex revenue")
struct RevenueCommandTests {
    @Test func csvEventsAreIngestedOnceAMonthClosesAndTheLedgerReconciles() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let folder = "/tmp/scryptex-revenue-cli-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let environment = ["DATABASE_URL": configuration.url(), "SCRYPTEX_DATA_DIR": folder]
            let program = CapturedProgram()
            #expect(await program.run(["migrate"], environment: environment) == 0)
            #expect(await program.run(["tenant", "create", "vega", "--name", "Vega"], environment: environment) == 0)
            let vega = try await PostgresConnection.connect(configuration: configuration, logger: TestDatabase.logger)
            defer { Task { await vega.close() } }
            try await vega.execute(
                """
                INSERT INTO platform.revenue_plans (tenant_id, effective_month, plan, created_by)
                SELECT id, '2026-01', '{"model":"flat","currency":"USD","percent":"25"}', 'test'
                FROM platform.tenants WHERE slug = 'vega'
                """)

            let good = folder + "/events.csv"
            try """
            partner,idempotency_key,product,amount,currency,volume,occurred_at
            vega,a-1,trading_fees,100.00,USD,250000,2026-09-03T10:00:00Z
            vega,a-2,"data",20.50,USD,,2026-09-30T23:59:59.999Z
            """.write(toFile: good, atomically: true, encoding: .utf8)
            #expect(await program.run(["revenue", "ingest", good], environment: environment) == 0)
            #expect(program.output.last?.contains("2 recorded, 0 already known") == true, "\(program.output)")
            #expect(await program.run(["revenue", "ingest", good], environment: environment) == 0)
            #expect(program.output.last?.contains("0 recorded, 2 already known") == true)

            // A bad line names itself and ingests nothing, not even the good lines before it.
            for (content, message) in [
                (
                    "vega,b-1,data,1,USD,,2026-09-04T00:00:00Z\nvega,b-2,data,ten,USD,,2026-09-04T00:00:00Z",
                    "line 3, column 'amount'"
                ),
                (
                    "vega,b-1,data,1,USD,,2026-09-04T00:00:00Z\nmars,b-2,data,1,USD,,2026-09-04T00:00:00Z",
                    "line 3, column 'partner': no partner 'mars'"
                ),
                (
                    "vega,b-1,data,1,USD,,2026-09-04T00:00:00Z\nvega,b-2,lottery,1,USD,,2026-09-04T00:00:00Z",
                    "line 3: field 'product'"
                ),
                ("vega,b-1,data,1,USD,,2026-09-04\n", "line 2, column 'occurred_at'"),
                (
                    "vega,a-1,trading_fees,100.01,USD,250000,2026-09-03T10:00:00Z\n",
                    "'a-1' was already used for a different event"
                ),
            ] {
                let bad = folder + "/bad.csv"
                try ("partner,idempotency_key,product,amount,currency,volume,occurred_at\n" + content)
                    .write(toFile: bad, atomically: true, encoding: .utf8)
                #expect(await program.run(["revenue", "ingest", bad], environment: environment) == 1)
                #expect(
                    program.errors.contains(message) && program.errors.contains("nothing was ingested"),
                    "\(program.errors)")
            }
            let count = try await vega.query("SELECT count(*) AS n FROM platform.fee_events").first!.decode(
                "n", as: Int.self)
            #expect(count == 2)

            #expect(await program.run(["revenue", "close", "--period", "2026-09"], environment: environment) == 0)
            #expect(program.output.contains { $0.contains("vega  closed") }, "\(program.output)")
            #expect(
                await program.run(
                    ["revenue", "statement", "--partner", "vega", "--period", "2026-09", "--format", "csv"],
                    environment: environment) == 0)
            // 25 % of 120.50 = 30.125: half-even to 30.12, the 0.005 kept on the rounding account.
            #expect(program.output.last?.contains("balance,share,30.12,") == true, "\(program.output.last ?? "")")
            #expect(program.output.last?.contains("share,rounding remainder,0.005,") == true)
            #expect(await program.run(["revenue", "reconcile"], environment: environment) == 0)
            #expect(program.output.last?.contains(": 0 differences") == true)
            #expect(await program.run(["revenue", "close"], environment: environment) == 2)
        }
    }
}
