public import ScryptexCore
import Synchronization

/// A bounded pool of connections.
///
/// - At most `maximumConnections` are open; a caller that finds none free waits up to
///   `acquireTimeout`, then gets `PostgresError.Code.poolTimeout`.
/// - A connection is checked when it is taken: pending input is read (so a restarted server is
///   noticed at no cost), and one idle longer than `pingAfterIdle` is pinged. A broken one is
///   closed and replaced, so the pool recovers by itself after the server restarts.
/// - A connection returned inside a transaction, or broken, is closed instead of reused.
///
/// ```swift
/// let tenants = try await pool.withConnection { connection in
///     try await connection.query("SELECT slug FROM tenants")
/// }
/// ```
public final class PostgresConnectionPool: Sendable {
    public struct Options: Sendable {
        public var maximumConnections: Int
        public var acquireTimeout: Duration
        public var pingAfterIdle: Duration
        /// A connection older than this is closed when it comes back instead of reused. A
        /// PostgreSQL backend keeps the catalog entries of every schema it has touched; with
        /// thousands of tenant schemas, retiring connections keeps that memory bounded.
        public var maximumLifetime: Duration

        public init(
            maximumConnections: Int = 10, acquireTimeout: Duration = .seconds(10),
            pingAfterIdle: Duration = .seconds(30), maximumLifetime: Duration = .seconds(30 * 60)
        ) {
            precondition(maximumConnections > 0, "a pool needs at least one connection")
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.pingAfterIdle = pingAfterIdle
            self.maximumLifetime = maximumLifetime
        }
    }

    /// What a waiting caller is handed.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        /// Room to open a new connection (already counted as open).
        case openSlot
    }

    private struct IdleConnection {
        var connection: PostgresConnection
        var since: ContinuousClock.Instant
    }

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [IdleConnection] = []
        var openCount = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isClosed = false
    }

    public let configuration: PostgresConfiguration
    public let options: Options
    private let logger: Logger
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    public init(configuration: PostgresConfiguration, options: Options = Options(), logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
    }

    /// Statistics for monitoring.
    public struct Statistics: Sendable, Equatable {
        public var open: Int
        public var idle: Int
        public var waiting: Int
    }

    public var statistics: Statistics {
        state.withLock { Statistics(open: $0.openCount, idle: $0.idle.count, waiting: $0.waiters.count) }
    }

    // MARK: Use

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    @discardableResult
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a pooled connection.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        statementTimeout: Duration? = nil,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await withTransaction(
            isolationLevel: isolationLevel, statementTimeout: statementTimeout, beginningWith: nil
        ) { transaction, _ in
            try await body(transaction)
        }
    }

    /// Runs `body` in a transaction on a pooled connection, with `script` sent together with
    /// `BEGIN` (see `PostgresConnection.withTransaction(isolationLevel:statementTimeout:beginningWith:_:)`).
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        statementTimeout: Duration? = nil,
        beginningWith script: String?,
        _ body: (PostgresTransaction, PostgresRows) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.withTransaction(
                isolationLevel: isolationLevel, statementTimeout: statementTimeout, beginningWith: script, body)
        }
    }

    /// Runs one statement on a pooled connection.
    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query, timeout: timeout) }
    }

    @discardableResult
    public func execute(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> Int {
        try await withConnection { try await $0.execute(query, timeout: timeout) }
    }

    // MARK: Acquire and release

    private enum Decision {
        case reuse(IdleConnection)
        case open
        case wait
        case closed
    }

    /// Takes a healthy connection, opening one if there is room, else waiting for one.
    public func acquire() async throws -> PostgresConnection {
        while true {
            let decision: Decision = state.withLock { state in
                if state.isClosed { return .closed }
                if let idle = state.idle.popLast() { return .reuse(idle) }
                if state.openCount < options.maximumConnections {
                    state.openCount += 1
                    return .open
                }
                return .wait
            }
            switch decision {
            case .closed:
                throw PostgresError(code: .poolClosed, message: "the connection pool is closed")
            case .reuse(let idle):
                if await isUsable(idle) { return idle.connection }
                await discard(idle.connection, reason: "broken or stale on checkout")
            case .open:
                return try await openConnection()
            case .wait:
                switch try await waitForGrant() {
                case .connection(let connection):
                    if await isUsable(IdleConnection(connection: connection, since: clock.now)) { return connection }
                    await discard(connection, reason: "broken on hand-over")
                case .openSlot:
                    return try await openConnection()
                }
            }
        }
    }

    /// Gives a connection back: to a waiting caller, to the idle list, or closed if unusable.
    public func release(_ connection: PostgresConnection) async {
        // An abandoned connection's queue is blocked: do not ask it anything.
        guard !connection.isClosed, await connection.isHealthy() else {
            await discard(connection, reason: "returned broken or inside a transaction")
            return
        }
        if clock.now - connection.openedAt > options.maximumLifetime {
            await discard(connection, reason: "past its lifetime")
            return
        }
        let waiter: Waiter? = state.withLock { state in
            if state.isClosed { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(IdleConnection(connection: connection, since: clock.now))
            return nil
        }
        if let waiter {
            waiter.continuation.resume(returning: .connection(connection))
        } else if state.withLock({ $0.isClosed }) {
            await discard(connection, reason: "pool closed")
        }
    }

    /// Closes every idle connection and fails every waiter; connections in use are closed when
    /// they come back.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(
                throwing: PostgresError(code: .poolClosed, message: "the connection pool is closed"))
        }
        for entry in idle {
            await discard(entry.connection, reason: "pool closed")
        }
    }

    private func isUsable(_ idle: IdleConnection) async -> Bool {
        guard await idle.connection.isHealthy() else { return false }
        if clock.now - idle.since > options.pingAfterIdle {
            return await idle.connection.ping()
        }
        return true
    }

    private func openConnection() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, logger: logger)
        } catch {
            giveUpSlot()
            throw error
        }
    }

    private func discard(_ connection: PostgresConnection, reason: String) async {
        logger.debug("closing pooled connection", ["reason": reason])
        await connection.close()
        giveUpSlot()
    }

    /// One fewer connection is open: hand the room to a waiter, if any.
    private func giveUpSlot() {
        let waiter: Waiter? = state.withLock { state in
            guard !state.waiters.isEmpty, !state.isClosed else {
                state.openCount -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: .openSlot)
    }

    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = options.acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.failWaiter(
                id,
                with: PostgresError(
                    code: .poolTimeout,
                    message:
                        "no database connection became free within \(timeout) (pool of \(self?.options.maximumConnections ?? 0))"
                )
            )
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let stillOpen = state.withLock { state in
                    guard !state.isClosed else { return false }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                if !stillOpen {
                    continuation.resume(
                        throwing: PostgresError(code: .poolClosed, message: "the connection pool is closed"))
                } else if Task.isCancelled {
                    // The cancellation handler may have run before the waiter was registered.
                    failWaiter(
                        id, with: PostgresError(code: .cancelled, message: "cancelled while waiting for a connection"))
                }
            }
        } onCancel: {
            failWaiter(id, with: PostgresError(code: .cancelled, message: "cancelled while waiting for a connection"))
        }
    }

    private func failWaiter(_ id: UInt64, with error: PostgresError) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }
}
