public import ScryptexCore
public import ScryptexEventLoops
import Synchronization

/// A bounded pool of connections, each tied to one event loop.
///
/// - At most `maximumConnections` are open; a caller that finds none free waits up to
///   `acquireTimeout`, then gets `PostgresError.Code.poolTimeout`.
/// - A caller running on an event loop gets a connection of that loop when one is idle, so its
///   statements are sent and answered on its own thread.
/// - Checking a connection costs no round trip: the loop notices a closed socket as it happens,
///   and a connection knows whether it is inside a transaction. One idle longer than
///   `pingAfterIdle` is pinged before use. A broken one is closed and replaced, so the pool
///   recovers by itself after the server restarts.
/// - A connection returned inside a transaction, broken or past its lifetime is closed.
/// - The decisions live in `PoolStateMachine`; this type carries them out.
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
        case connection(PostgresConnection, ping: Bool)
        /// Room to open a new connection (already counted as open).
        case openSlot
    }

    private typealias Machine = PoolStateMachine<PostgresConnection, CheckedContinuation<Grant, any Error>>

    public let configuration: PostgresConfiguration
    public let options: Options
    public let eventLoops: EventLoopGroup
    private let logger: Logger
    private let state: Mutex<Machine>
    private let clock = ContinuousClock()
    private let routing = Mutex<(any PostgresPoolRouter)?>(nil)

    public init(
        configuration: PostgresConfiguration, options: Options = Options(), eventLoops: EventLoopGroup = .shared,
        logger: Logger
    ) {
        self.configuration = configuration
        self.options = options
        self.eventLoops = eventLoops
        self.logger = logger
        state = Mutex(
            Machine(
                options: .init(
                    maximumConnections: options.maximumConnections, pingAfterIdle: options.pingAfterIdle,
                    maximumLifetime: options.maximumLifetime)))
    }

    /// Statistics for monitoring.
    public struct Statistics: Sendable, Equatable {
        public var open: Int
        public var idle: Int
        public var waiting: Int
    }

    /// How long callers waited for a connection, and each request's round trip on the pool's
    /// connections.
    public let timings = PostgresTimings()

    public var statistics: Statistics {
        state.withLock { Statistics(open: $0.openCount, idle: $0.idle.count, waiting: $0.waitingCount) }
    }

    // MARK: Routing

    /// Sends work keyed to another database through `router` from now on: the pool of a control
    /// plane whose tenants live on several clusters hands each tenant's work to its cluster's pool.
    /// Set once by whoever owns the pools (the host, a command), before the work starts.
    public func route(through router: any PostgresPoolRouter) {
        routing.withLock { $0 = router }
    }

    /// The router set with `route(through:)`, if any.
    public var router: (any PostgresPoolRouter)? { routing.withLock { $0 } }

    /// The pool for work keyed by `key` (a tenant's slug): this one unless a router says otherwise.
    /// - Throws: The router's error when `key` belongs to a database this process cannot reach.
    public func pool(for key: String) throws -> PostgresConnectionPool {
        guard let router = routing.withLock({ $0 }) else { return self }
        return try router.pool(for: key) ?? self
    }

    /// The pool of the database the router knows as `name`; this one for the router's name of it.
    /// - Throws: The router's error for a name it does not know, or a `.invalidArgument`
    ///   `PostgresError` when there is no router and `name` is not this pool's own.
    public func pool(named name: String) throws -> PostgresConnectionPool {
        guard let router = routing.withLock({ $0 }) else {
            guard name == PostgresPoolRouting.ownDatabase else {
                throw PostgresError(
                    code: .invalidArgument,
                    message: "no database named '\(name)' is configured (only '\(PostgresPoolRouting.ownDatabase)')")
            }
            return self
        }
        return try router.pool(named: name) ?? self
    }

    // MARK: Use

    /// Lends `body` a connection of its own to the pool's database, outside the pool's limit, and
    /// closes it afterwards: for work that must not queue behind the pool's users — a tenant move
    /// holds locks that those users wait on, connection in hand.
    @discardableResult
    public func withDedicatedConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await PostgresConnection.withConnection(configuration: configuration, logger: logger, body)
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens. The lease
    /// ends with `body`: the connection must not be kept beyond it.
    @discardableResult
    public func withConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction on a pooled connection (see
    /// `PostgresConnection.withTransaction(isolationLevel:readOnly:statementTimeout:opening:_:)`).
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        readOnly: Bool = false,
        statementTimeout: Duration? = nil,
        opening: PostgresTransactionOpening? = nil,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.withTransaction(
                isolationLevel: isolationLevel, readOnly: readOnly, statementTimeout: statementTimeout,
                opening: opening, body)
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

    /// Takes a healthy connection, opening one if there is room, else waiting for one.
    func acquire() async throws -> PostgresConnection {
        let started = ContinuousClock.now
        defer { timings.acquisitions.record(.now - started) }
        let loop = eventLoops.preferredLoop()
        while true {
            switch try await grant(preferring: loop) {
            case .connection(let connection, let ping):
                if connection.isHealthy {
                    if !ping { return connection }
                    if await connection.ping() { return connection }
                }
                await discard(connection, reason: "broken or stale on checkout")
            case .openSlot:
                return try await openConnection(on: loop)
            }
        }
    }

    /// What the state machine decides for one caller: an idle connection, room to open one, or
    /// (after waiting) a connection handed over or a slot freed by another caller.
    private func grant(preferring loop: EventLoop) async throws -> Grant {
        let waiting = Mutex<UInt64?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let action = state.withLock { machine in
                    machine.acquire(loop: loop.index, waiter: { continuation }, now: clock.now)
                }
                switch action {
                case .closed:
                    continuation.resume(
                        throwing: PostgresError(code: .poolClosed, message: "the connection pool is closed"))
                case .use(let connection, _, let ping):
                    continuation.resume(returning: .connection(connection, ping: ping))
                case .open:
                    continuation.resume(returning: .openSlot)
                case .wait(let id):
                    waiting.withLock { $0 = id }
                    let timeout = options.acquireTimeout
                    let limit = options.maximumConnections
                    loop.execute { [weak self] in
                        loop.schedule(at: loop.now + timeout) {
                            self?.failWaiter(
                                id,
                                with: PostgresError(
                                    code: .poolTimeout,
                                    message: "no database connection became free within \(timeout) (pool of \(limit))"))
                        }
                    }
                    if Task.isCancelled {
                        // The cancellation handler may have run before the waiter was queued.
                        failWaiter(
                            id,
                            with: PostgresError(code: .cancelled, message: "cancelled while waiting for a connection"))
                    }
                }
            }
        } onCancel: {
            if let id = waiting.withLock({ $0 }) {
                failWaiter(
                    id, with: PostgresError(code: .cancelled, message: "cancelled while waiting for a connection"))
            }
        }
    }

    private func failWaiter(_ id: UInt64, with error: PostgresError) {
        state.withLock { $0.removeWaiter(id) }?.resume(throwing: error)
    }

    /// Gives a connection back: to a waiting caller, to the idle list, or closed if unusable.
    func release(_ connection: PostgresConnection) {
        let action = state.withLock { machine in
            machine.release(
                connection, loop: connection.loop.index, healthy: connection.isHealthy,
                openedAt: connection.openedAt, now: clock.now)
        }
        switch action {
        case .handOver(let connection, let waiter):
            waiter.resume(returning: .connection(connection, ping: false))
        case .keep:
            break
        case .close(let connection):
            logger.debug(
                "closing pooled connection", ["reason": "returned broken, inside a transaction, or past its lifetime"])
            connection.close { [self] in slotFreed() }
        }
    }

    /// Closes every idle connection and fails every waiter; connections in use are closed when
    /// they come back.
    public func close() async {
        let (idle, waiters) = state.withLock { $0.close() }
        for waiter in waiters {
            waiter.resume(throwing: PostgresError(code: .poolClosed, message: "the connection pool is closed"))
        }
        for connection in idle {
            await discard(connection, reason: "pool closed")
        }
    }

    private func openConnection(on loop: EventLoop) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                configuration: configuration, on: loop, logger: logger, timings: timings)
        } catch {
            slotFreed()
            throw error
        }
    }

    private func discard(_ connection: PostgresConnection, reason: String) async {
        logger.debug("closing pooled connection", ["reason": reason])
        await connection.close()
        slotFreed()
    }

    /// One fewer connection is open: hand the room to a waiter, if any.
    private func slotFreed() {
        if case .openFor(let waiter) = state.withLock({ $0.closed() }) {
            waiter.resume(returning: .openSlot)
        }
    }
}

/// Durations a pool records: waits for a connection (from asking to having one, opening it
/// included) and statements (each request's round trip: one statement, or one pipeline).
public final class PostgresTimings: Sendable {
    public let acquisitions = LatencyRecorder()
    public let statements = LatencyRecorder()

    public init() {}
}

/// Decides which pool work keyed by an owner (a tenant) runs on, for a pool that routes
/// (`PostgresConnectionPool.route(through:)`).
public protocol PostgresPoolRouter: Sendable {
    /// The pool for work keyed by `key`, or nil for the routing pool's own database.
    func pool(for key: String) throws -> PostgresConnectionPool?

    /// The pool of the database called `name`, or nil for the routing pool's own database.
    func pool(named name: String) throws -> PostgresConnectionPool?
}

public enum PostgresPoolRouting {
    /// The name of the routing pool's own database.
    public static let ownDatabase = "primary"
}

/// The database that holds the platform's shared reference data (the control plane: market data
/// series, for one), for code that runs inside a transaction on another database — a tenant's
/// transaction on a tenant cluster. Set for the duration of such a transaction by whoever opened
/// it there (`TenantScope`); nil when the transaction's own database holds the reference data.
public enum ReferenceDatabase {
    @TaskLocal public static var pool: PostgresConnectionPool?
}
