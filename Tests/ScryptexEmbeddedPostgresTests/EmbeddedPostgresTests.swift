import Foundation
import Glibc
import ScryptexCrypto
import ScryptexEmbeddedPostgres
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("Embedded PostgreSQL cluster", .serialized)
struct EmbeddedPostgresTests {
    @Test func createsStartsReusesAndStops() async throws {
        let cluster = TestDatabase.makeScratchCluster()
        #expect(cluster.status() == .notInitialized)
        #expect(try await cluster.start() == .started(initialized: true))
        guard case .running = cluster.status() else {
            Issue.record("expected running, got \(cluster.status())")
            return
        }
        #expect(try await cluster.start() == .alreadyRunning)

        let connection = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        try await connection.executeScript(
            "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('survives restarts');")
        #expect(
            try await connection.query("SELECT current_user AS name").first?.decode("name", as: String.self)
                == "scryptex")
        await connection.close()

        #expect(try await cluster.stop())
        #expect(cluster.status() == .stopped)
        #expect(try await cluster.stop() == false)
        #expect(try await cluster.start() == .started(initialized: false))
        let reopened = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        #expect(
            try await reopened.query("SELECT value FROM kept").first?.decode("value", as: String.self)
                == "survives restarts")
        await reopened.close()

        // The URL works for libpq clients such as psql.
        let reparsed = try PostgresConfiguration(url: cluster.configuration.url())
        #expect(reparsed.host == cluster.socketDirectory)
        if geteuid() == 0 {
            // Running as root, the server runs as an unprivileged user.
            let owner =
                try FileManager.default.attributesOfItem(atPath: cluster.dataDirectory)[.ownerAccountName] as? String
            #expect(owner != "root")
        }
        await TestDatabase.removeScratchCluster(cluster)
    }

    /// Issue 18: cloned into `/root` (mode 0700) and run as root, the README's first command
    /// failed: PostgreSQL's user cannot pass through `/root`. The cluster's files then go where
    /// that user can reach them, and the cluster runs.
    @Test func aDataFolderClosedToPostgresUsersStillGetsACluster() async throws {
        let closed = "/tmp/scryptex-closed-" + SecureRandom.hexToken(byteCount: 6)
        try FileManager.default.createDirectory(atPath: closed + "/project", withIntermediateDirectories: true)
        chmod(closed, 0o700)
        defer { try? FileManager.default.removeItem(atPath: closed) }
        let cluster = EmbeddedPostgres(
            options: .init(rootDirectory: closed + "/project/.scryptex", isDurable: false), logger: TestDatabase.logger)
        guard geteuid() == 0 else {
            // Not root: PostgreSQL runs as this user, who can reach its own folders.
            #expect(cluster.dataDirectory == closed + "/project/.scryptex/postgres")
            return
        }
        #expect(cluster.dataDirectory.hasPrefix(EmbeddedPostgres.reachableClusters + "/"), "\(cluster.dataDirectory)")
        #expect(try await cluster.start() == .started(initialized: true))
        let connection = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        #expect(try await connection.query("SELECT 1 AS one").first?.decode("one", as: Int.self) == 1)
        await connection.close()
        // The next run finds the same cluster.
        let again = EmbeddedPostgres(
            options: .init(rootDirectory: closed + "/project/.scryptex", isDurable: false), logger: TestDatabase.logger)
        #expect(again.dataDirectory == cluster.dataDirectory)
        #expect(try await again.start() == .alreadyRunning)
        await TestDatabase.removeScratchCluster(cluster)
    }

    @Test func recoversAfterTheServerIsKilled() async throws {
        let cluster = TestDatabase.makeScratchCluster(durable: true)
        try await cluster.start()
        let connection = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        try await connection.executeScript(
            "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 100);")
        try await connection.executeScript("CHECKPOINT")
        try await connection.execute("INSERT INTO orders VALUES (101)")
        await connection.close()

        guard case .running(let processID) = cluster.status() else {
            Issue.record("expected a running cluster")
            await TestDatabase.removeScratchCluster(cluster)
            return
        }
        kill(processID, SIGKILL)
        // Wait for the postmaster to be gone; its pid file stays behind.
        for _ in 0..<50 where kill(processID, 0) == 0 || errno != ESRCH {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(FileManager.default.fileExists(atPath: cluster.dataDirectory + "/postmaster.pid"))
        #expect(cluster.status() == .stopped)

        #expect(try await cluster.start() == .started(initialized: false))
        let reopened = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        #expect(try await reopened.query("SELECT count(*) AS n FROM orders").first?.decode("n", as: Int.self) == 101)
        await reopened.close()
        await TestDatabase.removeScratchCluster(cluster)
    }

    @Test func aStalePidFileNamingAnotherProcessIsRemoved() async throws {
        let cluster = TestDatabase.makeScratchCluster()
        try await cluster.start()
        try await cluster.stop()
        // After a reboot the recorded number can belong to an unrelated live process: this one.
        let stale =
            "\(getpid())\n\(cluster.dataDirectory)\n1700000000\n5432\n\(cluster.socketDirectory)\n\n  5432001         0\nready   \n"
        try stale.write(toFile: cluster.dataDirectory + "/postmaster.pid", atomically: true, encoding: .utf8)
        #expect(cluster.status() == .stopped)
        #expect(try await cluster.start() == .started(initialized: false))
        guard case .running(let processID) = cluster.status() else {
            Issue.record("expected a running cluster")
            await TestDatabase.removeScratchCluster(cluster)
            return
        }
        #expect(processID != getpid())
        await TestDatabase.removeScratchCluster(cluster)
    }

    @Test func refusesAFolderThatIsNotACluster() async throws {
        let cluster = TestDatabase.makeScratchCluster()
        try FileManager.default.createDirectory(atPath: cluster.dataDirectory, withIntermediateDirectories: true)
        try "precious".write(toFile: cluster.dataDirectory + "/notes.txt", atomically: true, encoding: .utf8)
        let error = await #expect(throws: EmbeddedPostgresError.self) { try await cluster.start() }
        #expect(error?.message.contains("holds no PostgreSQL cluster") == true)
        #expect(try String(contentsOfFile: cluster.dataDirectory + "/notes.txt", encoding: .utf8) == "precious")
        await TestDatabase.removeScratchCluster(cluster)
    }

    @Test func longPathsGetAShortSocketFolder() {
        let deep = "/tmp/" + String(repeating: "nested-folder/", count: 8)
        let cluster = EmbeddedPostgres(options: .init(rootDirectory: deep), logger: TestDatabase.logger)
        #expect(cluster.socketDirectory.hasPrefix("/tmp/scryptex-"))
        #expect(cluster.socketDirectory.utf8.count < 40)
        let short = EmbeddedPostgres(options: .init(rootDirectory: "/tmp/s"), logger: TestDatabase.logger)
        #expect(short.socketDirectory == "/tmp/s/postgres")
    }
}
