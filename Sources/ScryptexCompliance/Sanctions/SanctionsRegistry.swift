import Foundation
public import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// The screener for the active list versions, shared by every request of the process. It checks
/// at most every few seconds whether another version became active (on any host) and then
/// rebuilds the index in the background, serving the previous one meanwhile.
public final class SanctionsRegistry: Sendable {
    private struct State {
        var screener = SanctionsScreener(lists: [])
        var lastCheck: ContinuousClock.Instant?
        var rebuilding = false
    }

    private let pool: PostgresConnectionPool
    private let logger: Logger
    private let state = Mutex(State())
    private let checkInterval: Duration

    public init(pool: PostgresConnectionPool, logger: Logger, checkInterval: Duration = .seconds(5)) {
        self.pool = pool
        self.logger = logger
        self.checkInterval = checkInterval
    }

    /// Loads the active lists now (at start-up).
    public func load() async throws {
        let lists = try await SanctionsStore().lists(on: pool)
        let screener = SanctionsScreener(lists: lists)
        state.withLock {
            $0.screener = screener
            $0.lastCheck = .now
        }
        logger.info(
            "sanctions lists loaded",
            [
                "lists": lists.map { "\($0.source.rawValue)=\($0.version)" }.joined(separator: ","),
                "entries": String(screener.entryCount),
            ])
    }

    /// The current screener; starts a refresh when the active versions may have changed.
    public func screener() -> SanctionsScreener {
        let now = ContinuousClock.now
        let (screener, due) = state.withLock { state -> (SanctionsScreener, Bool) in
            let due = !state.rebuilding && (state.lastCheck.map { now - $0 >= checkInterval } ?? true)
            if due {
                state.lastCheck = now
                state.rebuilding = true
            }
            return (state.screener, due)
        }
        if due {
            Task.detached { [self] in
                defer { state.withLock { $0.rebuilding = false } }
                do {
                    let active = Dictionary(
                        uniqueKeysWithValues: try await SanctionsStore().versions(on: pool).filter(\.active).map {
                            ($0.source, $0.id)
                        })
                    if active != screener.versions { try await load() }
                } catch {
                    logger.warning("sanctions list refresh failed", ["error": String(describing: error)])
                }
            }
        }
        return screener
    }
}
