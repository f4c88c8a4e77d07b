/// The pool's decisions, with no I/O: which idle connection a caller gets, when to open one,
/// who waits, and what happens to a connection coming back. `PostgresConnectionPool` feeds it
/// events under a lock and carries out the actions it returns; the tests drive it alone.
///
/// Generic over the connection (any identity) and the waiter (a continuation in the pool).
struct PoolStateMachine<Connection, Waiter> {
    struct Options {
        var maximumConnections: Int
        var pingAfterIdle: Duration
        var maximumLifetime: Duration
    }

    struct Idle {
        var connection: Connection
        var loop: Int
        var since: ContinuousClock.Instant
        var openedAt: ContinuousClock.Instant
    }

    enum AcquireAction {
        /// Use this connection; ping it first when it has been idle long.
        case use(Connection, openedAt: ContinuousClock.Instant, ping: Bool)
        /// Open a new connection (already counted).
        case open
        /// Wait; the waiter was queued under this id.
        case wait(UInt64)
        case closed
    }

    enum ReleaseAction {
        /// Hand the connection to a waiting caller.
        case handOver(Connection, to: Waiter)
        /// Kept idle.
        case keep
        /// Close it (broken, in a transaction, past its lifetime, or the pool is closed); then
        /// report `closed`.
        case close(Connection)
    }

    enum SlotAction {
        /// A waiter may open a connection in the freed slot.
        case openFor(Waiter)
        case none
    }

    let options: Options
    private(set) var idle: [Idle] = []
    private(set) var openCount = 0
    private var waiters: [(id: UInt64, loop: Int, waiter: Waiter)] = []
    private var nextWaiterID: UInt64 = 0
    private(set) var isClosed = false

    init(options: Options) {
        self.options = options
    }

    var waitingCount: Int { waiters.count }

    /// A caller on `loop` wants a connection: an idle one of its loop (most recently used first,
    /// so the rest can age out), else a new one while there is room (opened on its loop), else an
    /// idle one of another loop, else it waits.
    mutating func acquire(loop: Int, waiter: () -> Waiter, now: ContinuousClock.Instant) -> AcquireAction {
        if isClosed { return .closed }
        if let index = idle.lastIndex(where: { $0.loop == loop }) {
            return use(idle.remove(at: index), now: now)
        }
        if openCount < options.maximumConnections {
            openCount += 1
            return .open
        }
        if !idle.isEmpty {
            return use(idle.removeLast(), now: now)
        }
        nextWaiterID += 1
        waiters.append((nextWaiterID, loop, waiter()))
        return .wait(nextWaiterID)
    }

    private func use(_ entry: Idle, now: ContinuousClock.Instant) -> AcquireAction {
        .use(entry.connection, openedAt: entry.openedAt, ping: now - entry.since > options.pingAfterIdle)
    }

    /// A connection comes back. `healthy`: open and outside any transaction.
    mutating func release(
        _ connection: Connection, loop: Int, healthy: Bool, openedAt: ContinuousClock.Instant,
        now: ContinuousClock.Instant
    ) -> ReleaseAction {
        guard healthy, !isClosed, now - openedAt <= options.maximumLifetime else { return .close(connection) }
        // The longest-waiting caller of the connection's loop, else the longest-waiting one.
        if let index = waiters.firstIndex(where: { $0.loop == loop }) ?? (waiters.isEmpty ? nil : 0) {
            return .handOver(connection, to: waiters.remove(at: index).waiter)
        }
        idle.append(Idle(connection: connection, loop: loop, since: now, openedAt: openedAt))
        return .keep
    }

    /// A connection was closed, or opening one failed: its slot is free.
    mutating func closed() -> SlotAction {
        if !waiters.isEmpty && !isClosed {
            return .openFor(waiters.removeFirst().waiter)
        }
        openCount -= 1
        return .none
    }

    /// A waiter gave up (timeout, cancellation): its entry if it was still waiting.
    mutating func removeWaiter(_ id: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).waiter
    }

    /// The pool closes: the idle connections to close and the waiters to fail.
    mutating func close() -> (idle: [Connection], waiters: [Waiter]) {
        isClosed = true
        defer {
            idle.removeAll()
            waiters.removeAll()
        }
        return (idle.map(\.connection), waiters.map(\.waiter))
    }
}
