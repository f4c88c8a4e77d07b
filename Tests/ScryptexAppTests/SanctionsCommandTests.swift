import Foundation
import ScryptexApp
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("scryptex sanctions")
struct SanctionsCommandTests {
    static let folder = SharedData.path("aml")

    @Test func listsLoadAsVersionsAndABrokenFileChangesNothing() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let environment = [
                "DATABASE_URL": configuration.url(), "SCRYPTEX_DATA_DIR": "/tmp/scryptex-sanctions-test",
            ]
            defer { try? FileManager.default.removeItem(atPath: "/tmp/scryptex-sanctions-test") }
            let program = CapturedProgram()
            #expect(await program.run(["migrate"], environment: environment) == 0)
            let base = Self.folder + "/ofac_sdn_2021-07-bench/"
            #expect(
                await program.run(
                    ["sanctions", "load", "ofac_sdn", base + "sdn.csv", base + "alt.csv", base + "add.csv"],
                    environment: environment) == 0)
            #expect(program.output.last?.contains("8976 entries, now active") == true, "\(program.output)")
            #expect(
                await program.run(
                    [
                        "sanctions", "load", "un_consolidated",
                        Self.folder + "/un_consolidated/UN_consolidated_2026-02-27.xml",
                    ],
                    environment: environment) == 0)

            // A file cut short: the load fails naming the line, and the active list stays.
            let broken = "/tmp/scryptex-broken-sdn-\(UInt32.random(in: 0...UInt32.max)).csv"
            defer { try? FileManager.default.removeItem(atPath: broken) }
            try "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n173,\"ANGLO\n"
                .write(toFile: broken, atomically: true, encoding: .utf8)
            #expect(await program.run(["sanctions", "load", "ofac_sdn", broken], environment: environment) == 1)
            #expect(program.errors.contains("line 2: a quoted field is never closed"))
            #expect(program.errors.contains("the active list is unchanged"))
            #expect(
                await program.run(["sanctions", "load", "sanctions_of_mars", broken], environment: environment) == 2)

            #expect(await program.run(["sanctions", "status"], environment: environment) == 0)
            let active = program.output.filter { $0.hasPrefix("* ") }
            #expect(active.count == 2)
            #expect(active.contains { $0.contains("ofac_sdn") && $0.contains("8976 entries") })
            #expect(active.contains { $0.contains("un_consolidated") && $0.contains("1003 entries") })
        }
    }
}
