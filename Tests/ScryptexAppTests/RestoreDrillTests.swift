import Foundation
import ScryptexTestSupport
import Testing

/// The restore drill operators run (`scripts/restore-drill`): a tenant restored to a point in
/// time from a base backup and archived WAL, through a scratch cluster and export/import.
@Suite("Restoring one tenant to a point in time")
struct RestoreDrillTests {
    @Test(.timeLimit(.minutes(5)))
    func theDrillBringsBackExactlyWhatWasThereAtT() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let drill = try ChildProcess(
            "/bin/bash", [WalkthroughHost.project + "/scripts/restore-drill"],
            environment: [
                "SCRYPTEX": executable, "ACCOUNTS": "8", "DRILL_HTTPS_PORT": String(try FreePort.tcp()),
                "DRILL_HTTP_PORT": String(try FreePort.tcp()),
            ])
        let status = await drill.waitForExit(timeout: .seconds(240))
        #expect(status == 0, "\(drill.output)")
        #expect(drill.output.contains("restored tenant: 8 accounts from before T, 0 from after (live tenant: 8 and 8)"))
        #expect(drill.output.contains("audit trail t_acme_restored: intact"), "\(drill.output)")
        #expect(drill.output.contains("restore drill passed"))
    }
}
