import Foundation
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

@Suite("Tenant background jobs")
struct TenantJobQueueTests {
    @Test func jobsRunAsTheirTenantAndRetryWithBackOff() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let queue = TenantJobQueue(pool: pool)
            let failuresLeft = Mutex(1)
            let handlers: [String: TenantJobQueue.Handler] = [
                "whoami": { context in
                    if failuresLeft.withLock({ left in
                        defer { left -= 1 }; return left > 0
                    }) {
                        struct Flaky: Error {}
                        throw Flaky()
                    }
                    try await context.report(progress: 50)
                    let schema = try await context.withTenantTransaction { transaction in
                        try await transaction.query("SELECT current_schema() AS name").first!.decode(
                            "name", as: String.self)
                    }
                    return try PostgresJSON(encoding: ["schema": schema, "attempt": String(context.attempt)])
                }
            ]
            let worker = TenantJobWorker(
                pool: pool, handlers: handlers, owner: "host-a", retryDelay: { _ in .milliseconds(10) },
                logger: TestDatabase.logger
            )
            let id = try await queue.enqueue("whoami", for: acme)
            #expect(try await worker.runOnce())
            #expect(try await queue.job(id)?.status == .queued)  // first attempt failed, retry queued
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await worker.runOnce())
            let job = try #require(try await queue.job(id))
            #expect(job.status == .succeeded)
            #expect(job.attempts == 2)
            #expect(job.progress == 100)
            #expect(try job.result?.decode([String: String].self) == ["schema": "t_acme", "attempt": "2"])
            #expect(try await worker.runOnce() == false)
        }
    }

    @Test func failuresAreFinalAfterTheLastAttemptAndTimeoutsFail() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let queue = TenantJobQueue(pool: pool)
            let worker = TenantJobWorker(
                pool: pool,
                handlers: [
                    "broken": { _ in throw CocoaError(.fileNoSuchFile) },
                    "slow": { _ in
                        try await Task.sleep(for: .seconds(30))
                        return nil
                    },
                ],
                owner: "host-a", retryDelay: { _ in .zero }, logger: TestDatabase.logger
            )
            let broken = try await queue.enqueue("broken", for: acme, maxAttempts: 2)
            try await worker.runOnce()
            try await worker.runOnce()
            #expect(try await queue.job(broken)?.status == .failed)
            #expect(try await queue.job(broken)?.attempts == 2)

            let slow = try await queue.enqueue("slow", for: acme, maxAttempts: 1, timeout: .seconds(1))
            let started = ContinuousClock.now
            try await worker.runOnce()
            #expect(ContinuousClock.now - started < .seconds(10))
            let job = try await queue.job(slow)
            #expect(job?.status == .failed)
            #expect(job?.error?.contains("timed out") == true)
        }
    }

    @Test func aJobHeldByADeadHostIsPickedUpAndCancellationWorks() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let queue = TenantJobQueue(pool: pool)
            let worker = TenantJobWorker(
                pool: pool,
                handlers: [
                    "work": { _ in try PostgresJSON(encoding: ["done": "yes"]) },
                    "long": { _ in
                        try await Task.sleep(for: .seconds(30))
                        return nil
                    },
                ],
                owner: "host-b", lease: .milliseconds(300), logger: TestDatabase.logger
            )
            // A host claimed this job and died: its lease ran out.
            let orphan = try await queue.enqueue("work", for: acme)
            try await pool.execute(
                "UPDATE platform.tenant_jobs SET status = 'running', attempts = 1, lease_owner = 'host-dead', lease_expires_at = now() - interval '1 second' WHERE id = \(orphan)"
            )
            #expect(try await worker.runOnce())
            #expect(try await queue.job(orphan)?.status == .succeeded)

            // Cancelling a queued job ends it at once.
            let queued = try await queue.enqueue("work", for: acme)
            try await queue.cancel(queued)
            #expect(try await queue.job(queued)?.status == .cancelled)
            #expect(try await worker.runOnce() == false)

            // A running job stops at its next heartbeat.
            let long = try await queue.enqueue("long", for: acme)
            let running = Task { try await worker.runOnce() }
            try await Task.sleep(for: .milliseconds(150))
            try await queue.cancel(long)
            _ = try await running.value
            #expect(try await queue.job(long)?.status == .cancelled)
        }
    }

    /// A job whose run crashed its host (seen: attempts 4 of 3, the host dying 25 s after every
    /// start) is never claimed beyond its attempts, and is quarantined after two interruptions.
    @Test func aJobThatKeepsStoppingItsHostIsQuarantined() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let queue = TenantJobQueue(pool: pool)
            let ran = Mutex(0)
            let worker = TenantJobWorker(
                pool: pool,
                handlers: [
                    "poison": { _ in
                        ran.withLock { $0 += 1 }
                        return nil
                    }
                ],
                owner: "host-b", lease: .seconds(30), logger: TestDatabase.logger)
            func interrupt(_ id: UUID, attempts: Int, interruptions: Int) async throws {
                try await pool.execute(
                    """
                    UPDATE platform.tenant_jobs SET status = 'running', attempts = \(attempts),
                        interruptions = \(interruptions), lease_owner = 'host-dead',
                        lease_expires_at = now() - interval '1 second'
                    WHERE id = \(id)
                    """
                )
            }
            // Its last attempt was interrupted: failed, with the reason, and not run again.
            let exhausted = try await queue.enqueue("poison", for: acme)
            try await interrupt(exhausted, attempts: 3, interruptions: 0)
            #expect(try await worker.runOnce() == false)
            let failed = try #require(try await queue.job(exhausted))
            #expect(failed.status == .failed)
            #expect(failed.error?.contains("last attempt (3 of 3)") == true, "\(failed.error ?? "")")

            // Interrupted once with attempts left: it runs again.
            let once = try await queue.enqueue("poison", for: acme)
            try await interrupt(once, attempts: 1, interruptions: 0)
            #expect(try await worker.runOnce())
            #expect(try await queue.job(once)?.status == .succeeded)

            // Interrupted a second time: quarantined, never claimed.
            let twice = try await queue.enqueue("poison", for: acme)
            try await interrupt(twice, attempts: 2, interruptions: 1)
            #expect(try await worker.runOnce() == false)
            let quarantined = try #require(try await queue.job(twice))
            #expect(quarantined.status == .quarantined)
            #expect(quarantined.error?.hasPrefix("quarantined") == true)
            #expect(ran.withLock { $0 } == 1)
        }
    }
}
