import Foundation
import Glibc
import ScryptexCrypto
import ScryptexPostgres
import ScryptexTestSupport
import Testing

/// Two `scryptex serve` processes on one control plane behind HAProxy (Debian's), on loopback,
/// with the demo tenants on a second PostgreSQL cluster, under a write load: one drains on SIGTERM
/// without a failed request, one is killed with SIGKILL without losing an acknowledged write, and
/// the survivor serves every tenant.
@Suite("Hosts behind HAProxy", .serialized)
struct ScaleOutTests {
    static let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A command run to its end: its status and output.
    static func run(_ arguments: [String], environment: [String: String]) async throws -> (Int32?, String) {
        let process = try ChildProcess(ChildProcess.scryptexExecutable, arguments, environment: environment)
        let status = await process.waitForExit(timeout: .seconds(120))
        return (status, process.output)
    }

    /// `workers` clients writing accounts through `port` (from `interface`) until `during` after
    /// `event`, which starts 2 s into the load: every write's name, status (0: no answer) and id.
    static func writeLoad(
        _ label: String, workers: Int, port: Int, key: String, from interface: String? = "127.0.0.2",
        during: Duration, event: @escaping @Sendable () async -> Void
    ) async -> [(name: String, status: Int, id: String?)] {
        let outcomes = Outcomes()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var sequence = 0
                    while await !outcomes.stopped {
                        sequence += 1
                        let name = "\(label)-\(worker)-\(sequence)"
                        let answer =
                            (try? await Self.write(name, port: port, key: key, from: interface)) ?? (status: 0, id: nil)
                        await outcomes.add((name, answer.status, answer.id))
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                await event()
                try? await Task.sleep(for: during)
                await outcomes.stop()
            }
        }
        return await outcomes.results
    }

    /// Every account of Acme's, read page by page through the host (or HAProxy) at `port`: their ids.
    static func accounts(port: Int, key: String) async throws -> Set<String> {
        var stored: Set<String> = []
        var cursor: String?
        repeat {
            var address = "https://acme.localhost:\(port)/api/enterprise/accounts?limit=500"
            if let cursor { address += "&after=\(cursor)" }
            let page = try ChildProcess("/usr/bin/curl", ["-sk", "-H", "Authorization: Bearer \(key)", address])
            _ = await page.waitForExit(timeout: .seconds(20))
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(page.output.utf8)) as? [String: Any], "\(page.output)")
            for account in json["accounts"] as? [[String: Any]] ?? [] {
                if let id = account["id"] as? String { stored.insert(id) }
            }
            cursor = json["nextCursor"] as? String
        } while cursor != nil
        return stored
    }

    /// One write: a new account through HAProxy. The answer's status (0: no answer).
    /// - Parameter interface: The client's address (127.0.0.2 by default: HAProxy connects from
    ///   127.0.0.1, and the hosts must see the client's); nil for any.
    static func write(
        _ name: String, port: Int, key: String, from interface: String? = "127.0.0.2"
    ) async throws -> (status: Int, id: String?) {
        let body = #"{"accountName":"\#(name)","accountType":"hedge_fund","legalName":"\#(name) LP"}"#
        let curl = try ChildProcess(
            "/usr/bin/curl",
            (interface.map { ["--interface", $0] } ?? []) + [
                "-sk", "--max-time", "15", "-o", "-", "-w", "\n%{http_code}", "-H",
                "Authorization: Bearer \(key)",
                "-H", "Content-Type: application/json", "-d", body,
                "https://acme.localhost:\(port)/api/enterprise/accounts",
            ])
        _ = await curl.waitForExit(timeout: .seconds(20))
        let lines = curl.output.split(separator: "\n")
        let status = Int(lines.last ?? "") ?? 0
        let id = lines.dropLast().joined().range(of: #""id":""#).map {
            String(lines.dropLast().joined()[$0.upperBound...].prefix(36))
        }
        return (status, id)
    }

    @Test(.timeLimit(.minutes(6)))
    func aDrainedHostFailsNothingAndAKilledHostLosesNoAcknowledgedWrite() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy"), "haproxy is not installed")
        let root = "/tmp/scryptex-scale-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The shared database: an embedded cluster of its own, and one master key for both hosts.
        let database = ["SCRYPTEX_DATA_DIR": root + "/database", "LOG_LEVEL": "warning"]
        let (started, startOutput) = try await Self.run(["db", "start"], environment: database)
        try #require(started == 0, "\(startOutput)")
        // The tenants' cluster: the test server's, another PostgreSQL altogether.
        try await TestDatabase.withFreshDatabase { tenants in
            do {
                try await loadAndFailOver(
                    executable: executable, root: root, database: database, tenantCluster: tenants.url())
                let placed = try await PostgresConnection.connect(configuration: tenants, logger: TestDatabase.logger)
                let schemas = try await placed.query(
                    "SELECT count(*) AS n FROM pg_namespace WHERE nspname IN ('t_acme', 't_zenith')")
                #expect(try schemas.firstRow.decode("n", as: Int.self) == 2, "the demo tenants are not on cluster b")
                await placed.close()
            } catch {
                Issue.record("\(error)")
            }
        }
        _ = try? await Self.run(["db", "stop"], environment: database)
    }

    func loadAndFailOver(
        executable: String, root: String, database: [String: String], tenantCluster: String
    ) async throws {
        let (_, urlOutput) = try await Self.run(["db", "url"], environment: database)
        let url = try #require(urlOutput.split(separator: "\n").last { $0.hasPrefix("postgres") }.map(String.init))
        let masterKey = SecureRandom.hexToken(byteCount: 32)
        func environment(_ name: String, https: Int, http: Int) -> [String: String] {
            [
                "DATABASE_URL": url, "SCRYPTEX_MASTER_KEY": masterKey, "SCRYPTEX_DATA_DIR": root + "/" + name,
                "HTTPS_LISTEN": "127.0.0.1:\(https)", "HTTP_LISTEN": "127.0.0.1:\(http)", "LOG_LEVEL": "info",
                "SCRYPTEX_TENANTS_DIR": Self.project + "/tenants",
                "SCRYPTEX_TEMPLATES_DIR": Self.project + "/templates",
                "SCRYPTEX_EVENT_LOOPS": "1", "SCRYPTEX_SPARE_TENANT_SCHEMAS": "0", "SHUTDOWN_DRAIN_SECONDS": "8",
                "PROXY_PROTOCOL_FROM": "127.0.0.1",
                "RATE_LIMIT_API_KEY": "100000/s:100000", "RATE_LIMIT_TENANT": "100000/s:100000",
                "TENANT_CLUSTERS": "b=\(tenantCluster)", "TENANT_PLACEMENT": "b",
            ]
        }
        let ports = (a: try FreePort.tcp(), b: try FreePort.tcp(), front: try FreePort.tcp())
        let hostA = try ChildProcess(
            executable, ["serve"], environment: environment("a", https: ports.a, http: try FreePort.tcp()))
        defer { hostA.send(SIGKILL) }
        try #require(
            await hostA.waitForOutput(containing: "scryptex host ready", timeout: .seconds(120)), "\(hostA.output)")
        func startB() async throws -> ChildProcess {
            let host = try ChildProcess(
                executable, ["serve"], environment: environment("b", https: ports.b, http: try FreePort.tcp()))
            #expect(
                await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(120)), "\(host.output)")
            return host
        }
        var hostB = try await startB()
        defer { hostB.send(SIGKILL) }
        let (_, keyOutput) = try await Self.run(
            ["apikey", "create", "--tenant", "acme", "--role", "owner"],
            environment: environment("a", https: 1, http: 2))
        let key = try #require(keyOutput.split(separator: "\n").first { $0.hasPrefix("sxk_") }.map(String.init))

        // HAProxy in TCP mode (the hosts terminate TLS and pick each tenant's certificate by SNI),
        // checking each host's /readyz over TLS twice a second.
        let configuration = """
            global
                maxconn 2000
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
                retries 3
                option redispatch
            frontend https
                bind 127.0.0.1:\(ports.front)
                default_backend hosts
            backend hosts
                balance roundrobin
                option httpchk
                http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
                http-check expect status 200
                default-server send-proxy-v2 check check-ssl verify none check-sni localhost inter 500ms fall 2 rise 2
                server a 127.0.0.1:\(ports.a)
                server b 127.0.0.1:\(ports.b)
            """
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try (configuration + "\n").write(toFile: root + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let haproxy = try ChildProcess("/usr/sbin/haproxy", ["-db", "-f", root + "/haproxy.cfg"])
        defer { haproxy.send(SIGKILL) }
        var warmed = false
        var last = 0
        for _ in 0..<100 where !warmed {
            last = try await Self.write("warm-up", port: ports.front, key: key).status
            warmed = last == 201
            if !warmed { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(warmed, "no write went through HAProxy (last status \(last)): \(haproxy.output)")

        func load(
            _ label: String, workers: Int, during: Duration, event: @escaping @Sendable () async -> Void
        ) async
            -> [(name: String, status: Int, id: String?)]
        {
            await Self.writeLoad(label, workers: workers, port: ports.front, key: key, during: during, event: event)
        }

        // 1. Host B drains on SIGTERM: HAProxy stops sending to it before it stops; nothing fails.
        let draining = hostB
        let drainPort = ports.b
        let duringDrain = DrainObservations()
        let drained = await load("drain", workers: 4, during: .seconds(10)) {
            draining.send(SIGTERM)
            try? await Task.sleep(for: .milliseconds(500))
            // Draining: not ready (so HAProxy takes it out), yet still serving what reaches it.
            for path in ["/readyz", "/portal/sign-in"] {
                let probe = try? ChildProcess(
                    "/usr/bin/curl",
                    ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "https://acme.localhost:\(drainPort)\(path)"])
                _ = await probe?.waitForExit(timeout: .seconds(10))
                await duringDrain.record(path, probe?.output ?? "")
            }
        }
        // (A drain of 8 s leaves the probes time on a loaded machine; 3 s once was not enough.)
        let observed = await duringDrain.statuses
        #expect(observed == ["/readyz": "503", "/portal/sign-in": "200"], "\(observed)")
        #expect(await hostB.waitForExit(timeout: .seconds(20)) == 0, "\(hostB.output.suffix(2000))")
        #expect(hostB.output.contains("draining before stopping"))
        let drainFailures = drained.filter { $0.status != 201 }
        #expect(drained.count > 20, "only \(drained.count) writes")
        #expect(
            drainFailures.isEmpty,
            "\(drainFailures.count) of \(drained.count) failed during the drain: \(drainFailures.map { "\($0.name) \($0.status)" })"
        )

        // 2. B back; then A killed outright under load.
        hostB = try await startB()
        try await Task.sleep(for: .seconds(2))  // HAProxy sees B up again (rise 2 × 500 ms).
        let workers = 4
        let killed = await load("kill", workers: workers, during: .seconds(6)) { hostA.send(SIGKILL) }
        let acknowledged = killed.filter { $0.status == 201 }
        let failed = killed.filter { $0.status != 201 }
        #expect(acknowledged.count > 20, "only \(acknowledged.count) acknowledged writes")
        // At most the requests in flight on A when it died: one per worker.
        #expect(
            failed.count <= workers,
            "\(failed.count) of \(killed.count) failed: \(failed.map { "\($0.name) \($0.status)" })")

        // Every acknowledged write is there, read through the survivor.
        let stored = try await Self.accounts(port: ports.front, key: key)
        let lost = (drained + killed).filter { $0.status == 201 }.compactMap(\.id).filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged writes missing: \(lost)")

        // The hosts saw the clients' address (the PROXY header), not HAProxy's.
        #expect(hostB.output.contains(#""remote":"127.0.0.2""#), "\(hostB.output.suffix(1500))")
        #expect(!hostB.output.contains(#""method":"POST","path":"/api/enterprise/accounts","remote":"127.0.0.1""#))

        // The survivor serves every tenant.
        for tenant in ["acme", "zenith"] {
            let probe = try ChildProcess(
                "/usr/bin/curl",
                [
                    "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                    "https://\(tenant).localhost:\(ports.front)/portal/sign-in",
                ])
            _ = await probe.waitForExit(timeout: .seconds(20))
            #expect(probe.output == "200", "\(tenant): \(probe.output)")
        }
    }
}

extension ScaleOutTests {
    @Test(.timeLimit(.minutes(4)))
    func twoHostsShareOneRateLimitWithinTheDocumentedBound() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-shared-limits-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = ["SCRYPTEX_DATA_DIR": root + "/database", "LOG_LEVEL": "warning"]
        let (started, startOutput) = try await Self.run(["db", "start"], environment: database)
        try #require(started == 0, "\(startOutput)")
        do {
            let (_, urlOutput) = try await Self.run(["db", "url"], environment: database)
            let url = try #require(urlOutput.split(separator: "\n").last { $0.hasPrefix("postgres") }.map(String.init))
            let masterKey = SecureRandom.hexToken(byteCount: 32)
            // 5 requests a second with a burst of 10 per API key, shared every 250 ms.
            func environment(_ name: String, https: Int) throws -> [String: String] {
                [
                    "DATABASE_URL": url, "SCRYPTEX_MASTER_KEY": masterKey, "SCRYPTEX_DATA_DIR": root + "/" + name,
                    "HTTPS_LISTEN": "127.0.0.1:\(https)", "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
                    "LOG_LEVEL": "warning", "SCRYPTEX_TENANTS_DIR": Self.project + "/tenants",
                    "SCRYPTEX_TEMPLATES_DIR": Self.project + "/templates", "SCRYPTEX_EVENT_LOOPS": "1",
                    "SCRYPTEX_SPARE_TENANT_SCHEMAS": "0", "RATE_LIMIT_API_KEY": "5/s:10",
                    "RATE_LIMIT_TENANT": "100000/s:100000", "RATE_LIMIT_SHARE_MS": "250",
                ]
            }
            let ports = [try FreePort.tcp(), try FreePort.tcp()]
            var hosts: [ChildProcess] = []
            defer { for host in hosts { host.send(SIGKILL) } }
            for (index, port) in ports.enumerated() {
                let host = try ChildProcess(
                    executable, ["serve"], environment: try environment("h\(index)", https: port))
                hosts.append(host)
                for _ in 0..<240 {
                    let probe = try ChildProcess(
                        "/usr/bin/curl",
                        ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "https://localhost:\(port)/readyz"])
                    _ = await probe.waitForExit(timeout: .seconds(5))
                    if probe.output == "200" { break }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            let (_, keyOutput) = try await Self.run(
                ["apikey", "create", "--tenant", "acme", "--role", "owner"],
                environment: try environment("h0", https: 1))
            let key = try #require(keyOutput.split(separator: "\n").first { $0.hasPrefix("sxk_") }.map(String.init))
            // Four clients alternating between the two hosts, 30 requests each, as fast as curl goes
            // (a fixed count, not a fixed time: a loaded machine sends fewer per second).
            let begin = ContinuousClock.now
            let statuses = await withTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var seen: [String] = []
                        var index = worker
                        for _ in 0..<30 {
                            guard
                                let probe = try? ChildProcess(
                                    "/usr/bin/curl",
                                    [
                                        "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                        "Authorization: Bearer \(key)",
                                        "https://acme.localhost:\(ports[index % 2])/api/enterprise/auth/me",
                                    ])
                            else { break }
                            _ = await probe.waitForExit(timeout: .seconds(5))
                            seen.append(probe.output)
                            index += 1
                        }
                        return seen
                    }
                }
                var all: [String] = []
                for await part in group { all += part }
                return all
            }
            let counts = Dictionary(statuses.map { ($0, 1) }, uniquingKeysWith: +)
            let index = statuses.count
            let elapsed = ContinuousClock.now - begin
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let allowed = counts["200"] ?? 0
            // One limit for both: burst + rate × time, plus the documented bound
            // (N − 1) × (burst + rate × interval) and two for rounding. Per-host limits would admit
            // up to 2 × (10 + 5 × time), more than the requests sent unless the run took 12 s.
            let bound = 10 + 5 * seconds + 1 * (10 + 5 * 0.25) + 2
            #expect(index == 120, "\(counts)")
            #expect(Double(allowed) <= bound, "\(allowed) allowed of \(index) in \(seconds) s: \(counts)")
            #expect(allowed >= 10, "not even the burst was admitted: \(counts)")
            #expect((counts["429"] ?? 0) + allowed == index, "\(counts)")
        } catch {
            Issue.record("\(error)")
        }
        _ = try? await Self.run(["db", "stop"], environment: database)
    }
}

/// The writes of a load: each one's name, status and id.
private actor Outcomes {
    var results: [(name: String, status: Int, id: String?)] = []
    var stopped = false
    func add(_ result: (name: String, status: Int, id: String?)) { results.append(result) }
    func stop() { stopped = true }
}

/// What a draining host answered, by path.
private actor DrainObservations {
    var statuses: [String: String] = [:]
    func record(_ path: String, _ status: String) { statuses[path] = status }
}
