public import Foundation
public import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// A job's state as stored in `platform.tenant_jobs`.
public struct TenantJob: Sendable, Equatable {
    public enum Status: String, Sendable {
        case queued, running, succeeded, failed, cancelled
        /// Interrupted twice while running (its host stopped each time): never claimed again.
        case quarantined
    }

    public var id: UUID
    public var tenantID: UUID
    public var kind: String
    public var status: Status
    public var attempts: Int
    public var progress: Int
    public var result: PostgresJSON?
    public var error: String?
}

/// What a job handler gets: its tenant, its payload, a tenant-scoped database, and ways to report
/// progress and notice cancellation.
public struct TenantJobContext: Sendable {
    public let jobID: UUID
    public let tenant: Tenant
    public let payload: PostgresJSON
    public let attempt: Int
    let pool: PostgresConnectionPool

    /// Runs SQL as the tenant (its role and schema), like a request would.
    @discardableResult
    public func withTenantTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction(isolationLevel: isolationLevel, body)
    }

    /// The queue, for a job that queues follow-up work (a report's webhook after the report).
    public var queue: TenantJobQueue { TenantJobQueue(pool: pool) }

    /// Records progress in percent (0–100).
    public func report(progress: Int) async throws {
        try await pool.execute(
            "UPDATE platform.tenant_jobs SET progress = \(min(100, max(0, progress))) WHERE id = \(jobID)"
        )
    }
}

/// A durable queue of tenant-bound jobs in PostgreSQL. Each job runs inside its tenant's role and
/// search path, so background work can never lose its tenant.
///
/// Workers claim jobs with `FOR UPDATE SKIP LOCKED` and hold a lease that a heartbeat extends;
/// a job whose lease expires (its host died) is claimed again by another worker. Failures retry
/// with exponential back-off up to `max_attempts`; a job that runs past its timeout fails that
/// attempt; cancellation stops a queued job at once and a running one at its next heartbeat.
public struct TenantJobQueue: Sendable {
    public typealias Handler = @Sendable (TenantJobContext) async throws -> PostgresJSON?

    private let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    /// Queues a job for a tenant.
    @discardableResult
    public func enqueue(
        _ kind: String,
        for tenant: Tenant,
        payload: PostgresJSON = PostgresJSON(text: "{}"),
        maxAttempts: Int = 3,
        timeout: Duration = .seconds(3600)
    ) async throws -> UUID {
        let rows = try await pool.query(
            """
            INSERT INTO platform.tenant_jobs (tenant_id, kind, payload, max_attempts, timeout_seconds)
            VALUES (\(tenant.id), \(kind), \(payload), \(maxAttempts), \(Int(max(1, timeout.components.seconds))))
            RETURNING id
            """
        )
        return try rows.firstRow.decode("id", as: UUID.self)
    }

    /// The job's current state.
    public func job(_ id: UUID) async throws -> TenantJob? {
        let rows = try await pool.query(
            "SELECT id, tenant_id, kind, status, attempts, progress, result, error FROM platform.tenant_jobs WHERE id = \(id)"
        )
        return try rows.first.map { row in
            TenantJob(
                id: try row.decode("id", as: UUID.self), tenantID: try row.decode("tenant_id", as: UUID.self),
                kind: try row.decode("kind", as: String.self),
                status: TenantJob.Status(rawValue: try row.decode("status", as: String.self)) ?? .failed,
                attempts: try row.decode("attempts", as: Int.self), progress: try row.decode("progress", as: Int.self),
                result: try row.decode("result", as: PostgresJSON?.self),
                error: try row.decode("error", as: String?.self)
            )
        }
    }

    /// A tenant's queue: jobs waiting and running now, and over the last 24 hours the jobs
    /// that finished, failed, and their mean run time in seconds.
    public struct Depth: Sendable, Equatable {
        public var queued: Int
        public var running: Int
        public var finishedLastDay: Int
        public var failedLastDay: Int
        public var meanSecondsLastDay: Double?
    }

    public func depth(for tenant: UUID) async throws -> Depth {
        let row = try await pool.query(
            """
            SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
                count(*) FILTER (WHERE status = 'running') AS running,
                count(*) FILTER (WHERE finished_at > now() - interval '1 day') AS finished,
                count(*) FILTER (WHERE finished_at > now() - interval '1 day' AND status IN ('failed', 'quarantined'))
                    AS failed,
                avg(extract(epoch FROM finished_at - started_at)::float8)
                    FILTER (WHERE finished_at > now() - interval '1 day' AND started_at IS NOT NULL) AS mean_seconds
            FROM platform.tenant_jobs
            WHERE tenant_id = \(tenant) AND (status IN ('queued', 'running') OR finished_at > now() - interval '1 day')
            """
        ).firstRow
        return Depth(
            queued: try row.decode("queued", as: Int.self), running: try row.decode("running", as: Int.self),
            finishedLastDay: try row.decode("finished", as: Int.self),
            failedLastDay: try row.decode("failed", as: Int.self),
            meanSecondsLastDay: try row.decode("mean_seconds", as: Double?.self))
    }

    /// Jobs waiting and running now, by kind, across every tenant (for `/metrics`).
    public func depthByKind() async throws -> [(kind: String, status: String, count: Int)] {
        try await pool.query(
            """
            SELECT kind, status, count(*) AS count FROM platform.tenant_jobs
            WHERE status IN ('queued', 'running') GROUP BY kind, status ORDER BY kind, status
            """
        ).map {
            (
                try $0.decode("kind", as: String.self), try $0.decode("status", as: String.self),
                try $0.decode("count", as: Int.self)
            )
        }
    }

    /// Cancels a job: a queued one at once, a running one at its next heartbeat.
    public func cancel(_ id: UUID) async throws {
        try await pool.execute(
            """
            UPDATE platform.tenant_jobs SET cancel_requested = true,
                status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
            WHERE id = \(id) AND status IN ('queued', 'running')
            """
        )
    }
}

/// Claims and runs jobs.
public struct TenantJobWorker: Sendable {
    public let owner: String
    public let lease: Duration
    /// The wait before retry number `attempt` (1 after the first failure).
    public let retryDelay: @Sendable (Int) -> Duration
    private let pool: PostgresConnectionPool
    private let handlers: [String: TenantJobQueue.Handler]
    private let logger: Logger
    /// Each attempt's duration and ending, by kind (for `/metrics`).
    public let metrics: TenantJobMetrics

    public init(
        pool: PostgresConnectionPool,
        handlers: [String: TenantJobQueue.Handler],
        owner: String,
        lease: Duration = .seconds(30),
        retryDelay: @escaping @Sendable (Int) -> Duration = { .seconds(1 << min($0, 10)) },
        metrics: TenantJobMetrics = TenantJobMetrics(),
        logger: Logger
    ) {
        self.pool = pool
        self.handlers = handlers
        self.owner = owner
        self.lease = lease
        self.retryDelay = retryDelay
        self.metrics = metrics
        self.logger = logger
    }

    private enum Ending {
        case succeeded(PostgresJSON?)
        case failed(String)
        case cancelled
    }

    /// Claims one ready job (or one whose lease expired) and runs it to an end.
    /// - Returns: Whether a job was run.
    @discardableResult
    public func runOnce() async throws -> Bool {
        let leaseSeconds = lease.secondsValue
        try await endInterruptedJobs()
        // A running job with an expired lease was interrupted (its host stopped); it runs again
        // only while it has attempts left and has not been interrupted before.
        let claimed = try await pool.query(
            """
            UPDATE platform.tenant_jobs j SET status = 'running', attempts = j.attempts + 1, lease_owner = \(owner),
                interruptions = j.interruptions + CASE WHEN j.status = 'running' THEN 1 ELSE 0 END,
                lease_expires_at = now() + make_interval(secs => \(leaseSeconds)), started_at = coalesce(j.started_at, now())
            FROM platform.tenants t
            WHERE t.id = j.tenant_id AND j.id = (
                SELECT id FROM platform.tenant_jobs
                WHERE ((status = 'queued' AND run_after <= now())
                       OR (status = 'running' AND lease_expires_at < now() AND attempts < max_attempts
                           AND interruptions + 1 < \(Self.interruptionsBeforeQuarantine)))
                    AND NOT cancel_requested
                ORDER BY run_after FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.timeout_seconds, t.id AS tenant_id, t.slug AS tenant_slug,
                t.display_name AS tenant_display_name, t.status AS tenant_status
            """
        )
        guard let row = claimed.first else { return false }
        let id = try row.decode("id", as: UUID.self)
        let kind = try row.decode("kind", as: String.self)
        let attempt = try row.decode("attempts", as: Int.self)
        let maxAttempts = try row.decode("max_attempts", as: Int.self)
        let timeout = Duration.seconds(try row.decode("timeout_seconds", as: Int.self))
        let tenant = try Tenant(row: row, prefix: "tenant_")
        let context = TenantJobContext(
            jobID: id, tenant: tenant, payload: try row.decode("payload", as: PostgresJSON.self), attempt: attempt,
            pool: pool
        )
        let ending: Ending
        let started = ContinuousClock.now
        if let handler = handlers[kind] {
            ending = await run(handler, context: context, timeout: timeout)
        } else {
            ending = .failed("no handler for job kind '\(kind)'")
        }
        let outcome =
            switch ending {
            case .succeeded: "succeeded"
            case .failed: "failed"
            case .cancelled: "cancelled"
            }
        metrics.record(kind: kind, outcome: outcome, duration: .now - started)
        try await finish(id, ending: ending, attempt: attempt, maxAttempts: maxAttempts)
        return true
    }

    /// A job whose run stopped its host this many times is quarantined, so one poisoned job
    /// cannot crash every host that picks it up, after every restart.
    public static let interruptionsBeforeQuarantine = 2

    /// Ends the jobs whose lease expired and that may not run again: failed when their last
    /// attempt was interrupted, quarantined when interrupted too often. Each ending is logged.
    func endInterruptedJobs() async throws {
        let ended = try await pool.query(
            """
            UPDATE platform.tenant_jobs SET
                interruptions = interruptions + 1,
                status = CASE WHEN interruptions + 1 >= \(Self.interruptionsBeforeQuarantine) THEN 'quarantined'
                              ELSE 'failed' END,
                error = CASE WHEN interruptions + 1 >= \(Self.interruptionsBeforeQuarantine)
                    THEN 'quarantined: its host stopped while running it ' || (interruptions + 1) || ' times'
                    ELSE 'its host stopped while running its last attempt (' || attempts || ' of ' || max_attempts || ')'
                    END,
                finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
            WHERE status = 'running' AND lease_expires_at < now()
              AND (attempts >= max_attempts OR interruptions + 1 >= \(Self.interruptionsBeforeQuarantine))
            RETURNING id, kind, status, error
            """
        )
        for row in ended {
            logger.error(
                "tenant job ended after interruptions",
                [
                    "job": try row.decode("id", as: UUID.self).uuidString.lowercased(),
                    "kind": try row.decode("kind", as: String.self),
                    "status": try row.decode("status", as: String.self),
                    "error": try row.decode("error", as: String.self),
                ])
        }
    }

    /// Runs the handler with a heartbeat that extends the lease and watches for cancellation,
    /// and a timeout.
    private func run(
        _ handler: @escaping TenantJobQueue.Handler, context: TenantJobContext, timeout: Duration
    ) async -> Ending {
        let pool = self.pool
        let lease = self.lease
        let owner = self.owner
        return await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                do {
                    return .succeeded(try await handler(context))
                } catch is CancellationError {
                    return nil
                } catch {
                    return .failed(String(describing: error))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failed("timed out after \(timeout)")
            }
            group.addTask {
                let leaseSeconds = lease.secondsValue
                while !Task.isCancelled {
                    try? await Task.sleep(for: lease / 3)
                    if Task.isCancelled { return nil }
                    let rows = try? await pool.query(
                        """
                        UPDATE platform.tenant_jobs SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                        WHERE id = \(context.jobID) AND lease_owner = \(owner) RETURNING cancel_requested
                        """
                    )
                    if let cancelled = try? rows?.first?.decode("cancel_requested", as: Bool.self), cancelled {
                        return .cancelled
                    }
                }
                return nil
            }
            var ending: Ending = .failed("the job ended without a result")
            for await result in group {
                if let result {
                    ending = result
                    break
                }
            }
            group.cancelAll()
            return ending
        }
    }

    private func finish(_ id: UUID, ending: Ending, attempt: Int, maxAttempts: Int) async throws {
        switch ending {
        case .succeeded(let result):
            try await pool.execute(
                """
                UPDATE platform.tenant_jobs SET status = 'succeeded', result = \(result), progress = 100, error = NULL,
                    finished_at = now(), lease_owner = NULL, lease_expires_at = NULL WHERE id = \(id)
                """
            )
        case .cancelled:
            try await pool.execute(
                "UPDATE platform.tenant_jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL WHERE id = \(id)"
            )
        case .failed(let error):
            logger.warning("job attempt failed", ["job": id.uuidString, "attempt": String(attempt), "error": error])
            if attempt < maxAttempts {
                let delay = retryDelay(attempt)
                let seconds = delay.secondsValue
                try await pool.execute(
                    """
                    UPDATE platform.tenant_jobs SET status = 'queued', error = \(error), lease_owner = NULL, lease_expires_at = NULL,
                        run_after = now() + make_interval(secs => \(seconds)) WHERE id = \(id)
                    """
                )
            } else {
                try await pool.execute(
                    """
                    UPDATE platform.tenant_jobs SET status = 'failed', error = \(error), finished_at = now(),
                        lease_owner = NULL, lease_expires_at = NULL WHERE id = \(id)
                    """
                )
            }
        }
    }
}

/// What a worker's attempts took, by job kind, and how they ended.
public final class TenantJobMetrics: Sendable {
    public struct Kind: Sendable {
        public var durations: LatencyHistogram
        /// By ending: succeeded, failed, cancelled.
        public var outcomes: [String: Int]
    }

    private let kinds = Mutex<[String: (LatencyRecorder, [String: Int])]>([:])

    public init() {}

    func record(kind: String, outcome: String, duration: Duration) {
        let recorder = kinds.withLock { kinds -> LatencyRecorder in
            var entry = kinds[kind] ?? (LatencyRecorder(upperBounds: Self.bounds), [:])
            entry.1[outcome, default: 0] += 1
            kinds[kind] = entry
            return entry.0
        }
        recorder.record(duration)
    }

    /// Seconds to an hour.
    static let bounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]

    public var snapshot: [(kind: String, figures: Kind)] {
        kinds.withLock { kinds in
            kinds.sorted { $0.key < $1.key }.map {
                ($0.key, Kind(durations: $0.value.0.histogram, outcomes: $0.value.1))
            }
        }
    }
}
