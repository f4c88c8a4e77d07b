import Testing

@testable import ScryptexPostgres

/// The pool's decisions, without a server: connections are strings, waiters numbers.
@Suite("Pool state machine")
struct PoolStateMachineTests {
    typealias Machine = PoolStateMachine<String, Int>
    let start = ContinuousClock.now

    func machine(maximum: Int = 2) -> Machine {
        Machine(
            options: .init(maximumConnections: maximum, pingAfterIdle: .seconds(30), maximumLifetime: .seconds(600)))
    }

    @Test func opensUpToTheLimitThenWaitsInOrder() {
        var pool = machine()
        guard case .open = pool.acquire(loop: 0, waiter: { 1 }, now: start),
            case .open = pool.acquire(loop: 1, waiter: { 2 }, now: start),
            case .wait(let first) = pool.acquire(loop: 0, waiter: { 3 }, now: start),
            case .wait = pool.acquire(loop: 1, waiter: { 4 }, now: start)
        else {
            Issue.record("expected two opens, then two waits")
            return
        }
        #expect(pool.openCount == 2 && pool.waitingCount == 2)
        // A connection of loop 1 goes to the waiter of loop 1, though the other waited longer.
        guard case .handOver("b", to: 4) = pool.release("b", loop: 1, healthy: true, openedAt: start, now: start)
        else {
            Issue.record("expected the hand-over to the waiter on the same loop")
            return
        }
        // Then to the longest-waiting caller, whatever its loop.
        guard case .handOver("a", to: 3) = pool.release("a", loop: 0, healthy: true, openedAt: start, now: start)
        else {
            Issue.record("expected the hand-over to the first waiter")
            return
        }
        #expect(pool.removeWaiter(first) == nil)  // already served
    }

    @Test func prefersAnIdleConnectionOfTheCallersLoop() {
        var pool = machine(maximum: 2)
        _ = pool.acquire(loop: 0, waiter: { 0 }, now: start)
        _ = pool.acquire(loop: 1, waiter: { 0 }, now: start)
        #expect(isKeep(pool.release("zero", loop: 0, healthy: true, openedAt: start, now: start)))
        #expect(isKeep(pool.release("one", loop: 1, healthy: true, openedAt: start, now: start)))
        guard case .use("zero", _, ping: false) = pool.acquire(loop: 0, waiter: { 0 }, now: start) else {
            Issue.record("expected loop 0's connection")
            return
        }
        // No idle one of loop 0 and no room: loop 1's is lent rather than waiting.
        guard case .use("one", _, _) = pool.acquire(loop: 0, waiter: { 0 }, now: start) else {
            Issue.record("expected the other loop's connection")
            return
        }
    }

    @Test func opensOnItsOwnLoopBeforeBorrowingAnotherLoopsConnection() {
        var pool = machine(maximum: 2)
        _ = pool.acquire(loop: 1, waiter: { 0 }, now: start)
        _ = pool.release("one", loop: 1, healthy: true, openedAt: start, now: start)
        guard case .open = pool.acquire(loop: 0, waiter: { 0 }, now: start) else {
            Issue.record("expected a new connection on loop 0 while there is room")
            return
        }
    }

    @Test func brokenOldOrLateConnectionsAreClosedAndTheirSlotsPassOn() {
        var pool = machine(maximum: 1)
        _ = pool.acquire(loop: 0, waiter: { 0 }, now: start)
        guard case .wait(let waiting) = pool.acquire(loop: 0, waiter: { 7 }, now: start) else {
            Issue.record("expected a wait")
            return
        }
        guard case .close("x") = pool.release("x", loop: 0, healthy: false, openedAt: start, now: start) else {
            Issue.record("a broken connection is closed")
            return
        }
        // Its slot goes to the waiter, who opens a connection of its own.
        guard case .openFor(7) = pool.closed() else {
            Issue.record("the freed slot goes to the waiter")
            return
        }
        #expect(pool.openCount == 1)
        #expect(pool.removeWaiter(waiting) == nil)
        let late = start + .seconds(601)
        guard case .close("y") = pool.release("y", loop: 0, healthy: true, openedAt: start, now: late) else {
            Issue.record("a connection past its lifetime is closed")
            return
        }
        guard case .none = pool.closed() else {
            Issue.record("no one waits")
            return
        }
        #expect(pool.openCount == 0)
    }

    @Test func aLongIdleConnectionIsPingedAndAClosedPoolRefuses() {
        var pool = machine()
        _ = pool.acquire(loop: 0, waiter: { 0 }, now: start)
        _ = pool.release("a", loop: 0, healthy: true, openedAt: start, now: start)
        guard case .use("a", _, ping: true) = pool.acquire(loop: 0, waiter: { 0 }, now: start + .seconds(31)) else {
            Issue.record("expected a ping after 30 s idle")
            return
        }
        _ = pool.release("a", loop: 0, healthy: true, openedAt: start, now: start + .seconds(31))
        _ = pool.acquire(loop: 1, waiter: { 0 }, now: start + .seconds(31))  // opens the second
        _ = pool.acquire(loop: 1, waiter: { 0 }, now: start + .seconds(31))  // borrows "a"
        guard case .wait = pool.acquire(loop: 1, waiter: { 9 }, now: start + .seconds(31)),
            case .wait = pool.acquire(loop: 1, waiter: { 10 }, now: start + .seconds(31))
        else {
            Issue.record("expected waits")
            return
        }
        let (idle, waiters) = pool.close()
        #expect(idle.isEmpty && waiters == [9, 10])
        guard case .closed = pool.acquire(loop: 0, waiter: { 0 }, now: start) else {
            Issue.record("a closed pool refuses")
            return
        }
        guard case .close("b") = pool.release("b", loop: 1, healthy: true, openedAt: start, now: start) else {
            Issue.record("a connection coming back to a closed pool is closed")
            return
        }
    }

    private func isKeep(_ action: Machine.ReleaseAction) -> Bool {
        if case .keep = action { return true }
        return false
    }
}
