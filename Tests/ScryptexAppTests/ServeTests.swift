import Foundation
import Glibc
import ScryptexEmbeddedPostgres
import ScryptexTestSupport
import Testing

@Suite("scryptex serve as a process", .serialized)
struct ServeTests {
    @Test(.timeLimit(.minutes(2)))
    func startsOnTheEmbeddedDefaultAndStopsCleanlyOnSIGTERM() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }

        let host = try ChildProcess(
            executable, ["serve"], environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info"])
        let ready = await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60))
        #expect(ready, "the host never became ready:\n\(host.output)")

        let cluster = EmbeddedPostgres(options: .init(rootDirectory: root), logger: TestDatabase.logger)
        guard case .running = cluster.status() else {
            Issue.record("the embedded cluster is not running: \(cluster.status())")
            host.send(SIGKILL)
            return
        }
        // Every log line is a JSON object.
        for line in host.output.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil, "not a JSON log line: \(line)")
        }

        host.send(SIGTERM)
        let status = await host.waitForExit(timeout: .seconds(30))
        #expect(status == 0)
        #expect(host.output.contains("\"signal\":\"SIGTERM\""))
        #expect(host.output.contains("embedded PostgreSQL stopped"))
        #expect(cluster.status() == .stopped)
    }

    @Test func badConfigurationStopsStartUp() async throws {
        let executable = ChildProcess.scryptexExecutable
        let host = try ChildProcess(executable, ["serve"], environment: ["HTTPS_LISTEN": "everywhere"])
        #expect(await host.waitForExit(timeout: .seconds(20)) == 1)
        #expect(host.output.contains("HTTPS_LISTEN='everywhere' is not valid"))
    }
}
