import Foundation
import Glibc
import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTestSupport
import Testing

/// What a client sees when the database misbehaves: no hang, no statement left behind.
@Suite("Database faults seen through HTTP", .serialized)
struct DatabaseFaultTests {
    /// A client that disconnects while its handler waits on a long statement leaves nothing
    /// running on the server: the handler's task is cancelled, and with it the statement.
    @Test func aClientThatDisconnectsLeavesNoStatementRunning() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 2), logger: TestDatabase.logger)
            var router = Router()
            router.get("/slow") { _, _ in
                try await pool.query("SELECT pg_sleep(20) AS marker_for_the_disconnect_test")
                return .json(#"{"done":true}"#)
            }
            let port = try FreePort.tcp()
            let server = HTTPServer(
                configuration: .init(host: "127.0.0.1", port: port, eventLoopGroup: .shared),
                application: HTTPApplication(router: router), logger: TestDatabase.logger)
            try server.start()
            func running() async throws -> Int {
                try await PostgresConnection.connect(configuration: configuration, logger: TestDatabase.logger)
                    .query(
                        """
                        SELECT count(*) AS n FROM pg_stat_activity
                        WHERE state = 'active' AND query LIKE '%marker_for_the_disconnect_test%' AND pid <> pg_backend_pid()
                        """
                    ).first!.decode("n", as: Int.self)
            }
            // curl gives up after a second and closes its connection.
            let client = try ChildProcess("/usr/bin/curl", ["-s", "--max-time", "1", "http://127.0.0.1:\(port)/slow"])
            _ = await client.waitForExit(timeout: .seconds(10))
            let gone = ContinuousClock.now
            var left = try await running()
            while left > 0, ContinuousClock.now - gone < .seconds(10) {
                try await Task.sleep(for: .milliseconds(100))
                left = try await running()
            }
            #expect(left == 0, "the statement kept running after the client left")
            // Cancelled well before the 20 s the statement would run (a loaded 2-core machine has
            // taken 6 s to notice; the loop above gives up at 10).
            #expect(ContinuousClock.now - gone < .seconds(10))
            await server.shutdown(gracePeriod: .seconds(1))
            await pool.close()
        }
    }

    /// PostgreSQL stopped (SIGSTOP) under load: every request answers 503 within the statement
    /// timeout (and its 2 s), none hangs; /readyz says why; once the database runs again the host
    /// serves again, without a restart.
    @Test(.timeLimit(.minutes(3)))
    func aStoppedDatabaseGets503sAndTheHostRecoversByItself() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-fault-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpsPort = try FreePort.tcp()
        let environment = [
            "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
            "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())", "DATABASE_STATEMENT_TIMEOUT": "3",
            "SCRYPTEX_TENANTS_DIR": root + "/no-tenants", "PLATFORM_DOMAIN": "platform.localhost",
            "RATE_LIMIT_API_KEY": "100000/s:100000", "RATE_LIMIT_TENANT": "100000/s:100000",
        ]
        let setUp = try ChildProcess(
            executable, ["tenant", "create", "fault", "--name", "Fault Capital", "--domain", "localhost"],
            environment: environment)
        #expect(await setUp.waitForExit(timeout: .seconds(60)) == 0, "\(setUp.output)")
        let keyMaker = try ChildProcess(
            executable, ["apikey", "create", "--tenant", "fault", "--role", "owner"], environment: environment)
        #expect(await keyMaker.waitForExit(timeout: .seconds(30)) == 0, "\(keyMaker.output)")
        let key = try #require(keyMaker.output.split(separator: "\n").first { $0.hasPrefix("sxk_") })
        let host = try ChildProcess(executable, ["serve"], environment: environment)
        defer { host.send(SIGKILL) }
        let ready = await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60))
        try #require(ready, "the host never became ready:\n\(host.output)")
        let cluster = EmbeddedPostgres(options: .init(rootDirectory: root), logger: TestDatabase.logger)
        guard case .running(let postmaster) = cluster.status() else {
            Issue.record("the embedded cluster is not running")
            return
        }
        let base = "https://localhost:\(httpsPort)"
        let auth = "Authorization: Bearer \(key)"
        func request(
            _ path: String, _ extra: [String] = []
        ) async throws -> (status: String, body: String, seconds: Double) {
            let started = ContinuousClock.now
            let curl = try ChildProcess(
                "/usr/bin/curl",
                ["-sk", "--max-time", "30", "-w", "\n%{http_code}", "-H", auth] + extra + [base + path])
            _ = await curl.waitForExit(timeout: .seconds(40))
            let lines = curl.output.split(separator: "\n", omittingEmptySubsequences: false)
            let elapsed = ContinuousClock.now - started
            return (
                String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"),
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            )
        }
        let created = try await request(
            "/api/enterprise/accounts",
            [
                "-X", "POST", "-H", "Content-Type: application/json", "-d",
                #"{"accountName":"Fault Fund","accountType":"hedge_fund","legalName":"Fault Fund LLC","jurisdiction":"US","totalAUM":1}"#,
            ])
        #expect(created.status == "201", "\(created)")
        let id = try #require(
            created.body.firstRange(of: #""id":""#).map { String(created.body[$0.upperBound...].prefix(36)) })
        #expect(try await request("/api/enterprise/accounts/\(id)").status == "200")

        // Stop every process of the cluster while requests are coming in.
        let processes = Self.processes(under: postmaster)
        for pid in processes { kill(pid, SIGSTOP) }
        let answers = try await withThrowingTaskGroup(of: (String, Double).self) { group in
            for number in 0..<12 {
                group.addTask {
                    let path = number % 3 == 0 ? "/api/enterprise/accounts" : "/api/enterprise/accounts/\(id)"
                    let answer = try await request(path)
                    return (answer.status, answer.seconds)
                }
            }
            return try await group.reduce(into: [(String, Double)]()) { $0.append($1) }
        }
        let readiness = try await request("/readyz")
        for pid in processes { kill(pid, SIGCONT) }
        for (status, seconds) in answers {
            #expect(status == "503", "a request got \(status) from a stopped database")
            // The statement timeout (3 s) and 2 s for the answer, with room for a busy machine.
            #expect(seconds < 9, "a request took \(seconds) s")
        }
        #expect(readiness.status == "503")
        #expect(readiness.body.contains("did not answer"), "\(readiness.body)")

        // The database is back: the same host serves again, without a restart.
        var recovered = false
        let back = ContinuousClock.now
        while !recovered, ContinuousClock.now - back < .seconds(30) {
            recovered = try await request("/api/enterprise/accounts/\(id)").status == "200"
            if !recovered { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(recovered, "the host did not recover:\n\(host.output.suffix(2000))")
        #expect(try await request("/readyz").status == "200")
        host.send(SIGTERM)
        _ = await host.waitForExit(timeout: .seconds(20))
    }

    /// The postmaster and its children.
    static func processes(under postmaster: Int32) -> [Int32] {
        var found = [postmaster]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == postmaster { found.append(pid) }
        }
        return found
    }
}
