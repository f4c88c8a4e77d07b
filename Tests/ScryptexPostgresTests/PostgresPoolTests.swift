import ScryptexEmbeddedPostgres
import ScryptexPostgres
import ScryptexTestSupport
import Synchronization
import Testing

@Suite("Connection pool")
struct PostgresPoolTests {
    @Test func boundsOpenConnectionsAndQueuesCallers() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration,
                options: .init(maximumConnections: 3, acquireTimeout: .seconds(20)),
                logger: TestDatabase.logger
            )
            let peak = PeakCounter()
            try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            peak.enter()
                            defer { peak.leave() }
                            try await connection.query("SELECT pg_sleep(0.05)")
                            return connection.backendProcessID
                        }
                    }
                }
                var backends = Set<Int32>()
                for try await backend in group { backends.insert(backend) }
                #expect(backends.count <= 3)
            }
            #expect(peak.highest <= 3)
            #expect(pool.statistics.open <= 3)
            #expect(pool.statistics.waiting == 0)
            await pool.close()
        }
    }

    @Test func connectionsPastTheirLifetimeAreRetired() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration,
                // Generous: the whole suite runs in parallel on two cores, where a few hundred
                // milliseconds can pass between two uses of a young connection.
                options: .init(maximumConnections: 1, maximumLifetime: .seconds(3)),
                logger: TestDatabase.logger
            )
            let opened = ContinuousClock.now
            let first = try await pool.withConnection { $0.backendProcessID }
            let second = try await pool.withConnection { $0.backendProcessID }
            // Reused while young — when it still was: on a loaded CI machine more than the whole
            // lifetime once passed between these two uses (the pool was right to retire it).
            if ContinuousClock.now - opened < .seconds(3) { #expect(second == first) }
            try await Task.sleep(for: .milliseconds(3_500))
            _ = try await pool.withConnection { $0.backendProcessID }  // old: closed when it comes back
            #expect(try await pool.withConnection { $0.backendProcessID } != first)
            await pool.close()
        }
    }

    @Test func acquireTimesOutWhenAllConnectionsAreBusy() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration,
                options: .init(maximumConnections: 1, acquireTimeout: .milliseconds(300)),
                logger: TestDatabase.logger
            )
            let holder = Task { try await pool.withConnection { try await $0.query("SELECT pg_sleep(2)") } }
            try await Task.sleep(for: .milliseconds(200))
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error?.code == .poolTimeout)
            _ = try await holder.value
            #expect(try await pool.query("SELECT 1 AS one").first?.decode("one", as: Int.self) == 1)
            await pool.close()
            let closed = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(closed?.code == .poolClosed)
        }
    }

    @Test func connectionLeftInATransactionIsNotReused() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1), logger: TestDatabase.logger
            )
            let first = try await pool.withConnection { connection in
                try await connection.executeScript("BEGIN")
                return connection.backendProcessID
            }
            let second = try await pool.withConnection { connection in
                // Outside a transaction, SAVEPOINT fails: this connection carries no open transaction.
                let error = await #expect(throws: PostgresError.self) {
                    try await connection.executeScript("SAVEPOINT probe")
                }
                #expect(error?.sqlState == SQLState(rawValue: "25P01"))
                return connection.backendProcessID
            }
            #expect(first != second)
            await pool.close()
        }
    }
}

/// Counts how many callers are inside at once, and the most there ever were.
final class PeakCounter: Sendable {
    private let state = Mutex((current: 0, highest: 0))

    func enter() {
        state.withLock { state in
            state.current += 1
            state.highest = max(state.highest, state.current)
        }
    }

    func leave() {
        state.withLock { $0.current -= 1 }
    }

    var highest: Int { state.withLock { $0.highest } }
}

/// Tests that stop and restart a server use a private cluster, so other tests are unaffected.
@Suite("Surviving a server restart", .serialized)
struct PostgresRestartTests {
    @Test func poolAndListenerRecoverAfterRestart() async throws {
        let cluster = TestDatabase.makeScratchCluster()
        do {
            try await cluster.start()
            let configuration = cluster.configuration
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 2), logger: TestDatabase.logger
            )
            let listener = try PostgresNotificationListener(
                configuration: configuration, channels: ["tenant_changes"], logger: TestDatabase.logger
            )
            let listening = Task { await listener.run() }
            var events = listener.events.makeAsyncIterator()
            #expect(await events.next() == .listening)

            try await pool.execute("SELECT pg_notify('tenant_changes', 'acme')")
            let first = await events.next()
            guard case .notification(let notification) = first else {
                Issue.record("expected a notification, got \(String(describing: first))")
                return
            }
            #expect(notification.channel == "tenant_changes")
            #expect(notification.payload == "acme")

            let before = try await pool.withConnection { $0.backendProcessID }
            try await cluster.stop()
            try await cluster.start()

            // The idle pooled connection is broken; the pool notices and reconnects.
            let after = try await pool.withConnection { connection in
                try await connection.query("SELECT 1")
                return connection.backendProcessID
            }
            #expect(before != after)

            #expect(await events.next() == .disconnected)
            #expect(await events.next() == .reconnected)
            let sender = try await pool.withConnection { connection in
                try await connection.notify(channel: "tenant_changes", payload: "after restart")
                return connection.backendProcessID
            }
            #expect(
                await events.next()
                    == .notification(
                        PostgresNotification(
                            channel: "tenant_changes", payload: "after restart", senderProcessID: sender)
                    ))
            listening.cancel()
            await listening.value
            #expect(await events.next() == nil)
            await pool.close()
        } catch {
            await TestDatabase.removeScratchCluster(cluster)
            throw error
        }
        await TestDatabase.removeScratchCluster(cluster)
    }
}
