import ScryptexCore
public import ScryptexHTTP
public import ScryptexPostgres
import Synchronization

/// Whether the host takes new work: false from the moment it starts shutting down, so a load
/// balancer's health check takes it out of rotation while it still serves.
public final class HostReadiness: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    public func beginDraining() { draining.store(true, ordering: .relaxed) }
}

/// Routes every host name answers, before any tenant is looked at: liveness and readiness.
public enum HealthRoutes {
    /// `GET /healthz` (immediate: no task, no database) and `GET /readyz` (the database answers,
    /// and the host is not draining).
    public static func add(to router: inout Router, pool: PostgresConnectionPool, readiness: HostReadiness) {
        // Built once: each request gets a copy of the same bytes.
        let alive = HTTPResponse.json(#"{"status":"ok"}"#)
        router.get("/healthz", immediately: { _, _ in alive })
        router.get("/readyz") { _, context in
            guard !readiness.isDraining else {
                throw HTTPProblem(
                    .serviceUnavailable, type: .notReady,
                    detail: "the host is shutting down: it finishes what it has and takes nothing new")
            }
            do {
                // Answered within the probe's 2 s budget even when the database is stalled (the
                // statement itself is given up on 3 s after it was sent, its connection dropped).
                try await answer(within: .milliseconds(1800)) {
                    try await pool.query("SELECT 1", timeout: .milliseconds(1000))
                }
                return .json(#"{"status":"ready","database":"reachable"}"#)
            } catch {
                context.logger.warning("readiness check failed", ["error": String(describing: error)])
                throw HTTPProblem(.serviceUnavailable, type: .notReady, detail: unreadiness(error))
            }
        }
    }

    /// Why the host is not ready, for an operator: what failed, never credentials.
    static func unreadiness(_ error: any Error) -> String {
        switch error {
        case is TimeLimitExceeded:
            return "the database did not answer within 1.8 s (stopped, overloaded or unreachable)"
        case let error as PostgresError where error.code == .poolTimeout:
            return "the database is not reachable: every pooled connection is busy (\(error.message))"
        case let error as PostgresError:
            return "the database is not reachable: \(error.code): \(error.message)"
        default:
            return "the database is not reachable"
        }
    }
}
