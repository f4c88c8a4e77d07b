import Foundation
public import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// The screener for the active list versions, shared by every request of the process. The host
/// runs `follow()`, which checks every few seconds whether another version became active (on any
/// host) and then rebuilds the index, serving the previous one meanwhile.
public final class SanctionsRegistry: Sendable {
    private struct State {
        var screener = SanctionsScreener(lists: [])
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
        state.withLock { $0.screener = screener }
        logger.info(
            "sanctions lists loaded",
            [
                "lists": lists.map { "\($0.source.rawValue)=\($0.version)" }.joined(separator: ","),
                "entries": String(screener.entryCount),
            ])
    }

    /// The screener for the active versions as last loaded.
    public func screener() -> SanctionsScreener {
        state.withLock { $0.screener }
    }

    /// Follows the active versions until cancelled: every check interval, asks which versions
    /// are active (another host may have loaded one) and rebuilds the index when they changed,
    /// serving the previous one meanwhile. Failures are logged and tried again next time.
    /// - Parameter changed: Runs after the index was rebuilt for other active versions (the host
    ///   screens every account's names again: a new entry may match a name that was clean).
    public func follow(whenChanged changed: (@Sendable () async -> Void)? = nil) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: checkInterval)
            guard !Task.isCancelled else { return }
            if await refresh() { await changed?() }
        }
    }

    /// Reloads the lists when the active versions differ from the served ones.
    /// - Returns: Whether they did.
    @discardableResult
    func refresh() async -> Bool {
        do {
            let active = Dictionary(
                uniqueKeysWithValues: try await SanctionsStore().versions(on: pool).filter(\.active).map {
                    ($0.source, $0.id)
                })
            guard active != screener().versions else { return false }
            try await load()
            return true
        } catch {
            logger.warning("sanctions list refresh failed", ["error": String(describing: error)])
            return false
        }
    }
}
