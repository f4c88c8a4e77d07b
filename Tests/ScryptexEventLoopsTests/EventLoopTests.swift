import Synchronization
import Testing

@testable import ScryptexEventLoops

@Suite("Event loops")
struct EventLoopTests {
    @Test("timers fire in deadline order, cancelled ones never")
    func timersFireInOrder() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "test-timers")
        defer { Task { await group.shutdown() } }
        let loop = group.loops[0]
        let fired = Mutex<[Int]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                let start = loop.now
                for (number, delay) in [(3, 30), (1, 10), (4, 40), (2, 20)] {
                    loop.schedule(at: start + .milliseconds(delay)) { fired.withLock { $0.append(number) } }
                }
                let cancelled = loop.schedule(at: start + .milliseconds(15)) { fired.withLock { $0.append(99) } }
                loop.cancel(cancelled)
                loop.schedule(at: start + .milliseconds(60)) { done.resume() }
            }
        }
        #expect(fired.withLock { $0 } == [1, 2, 3, 4])
    }

    @Test("a timer wakes a loop that has no other work, and may schedule another")
    func timerWakesIdleLoop() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "test-wake")
        defer { Task { await group.shutdown() } }
        let loop = group.loops[0]
        let firedOnTime = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            loop.execute {
                let first = loop.now + .milliseconds(5)
                loop.schedule(at: first) {
                    let second = loop.now + .milliseconds(5)
                    loop.schedule(at: second) { done.resume(returning: loop.now >= second) }
                }
            }
        }
        #expect(firedOnTime)
    }

    @Test("a task preferring the loop runs on its thread, and EventLoop.current names it")
    func taskExecutorPreference() async throws {
        let group = try EventLoopGroup(loopCount: 2, name: "test-executor")
        defer { Task { await group.shutdown() } }
        let loop = group.loops[1]
        let observations = await Task(executorPreference: loop) { () -> [Bool] in
            var seen = [loop.inEventLoop, EventLoop.current === loop]
            try? await Task.sleep(for: .milliseconds(1))
            seen += [loop.inEventLoop, EventLoop.current === loop, group.preferredLoop() === loop]
            return seen
        }.value
        #expect(observations == [true, true, true, true, true])
        #expect(EventLoop.current == nil)
    }

    @Test("work queued from the loop runs after the current work, not inside it")
    func executeIsNeverReentrant() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "test-order")
        defer { Task { await group.shutdown() } }
        let loop = group.loops[0]
        let order = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.execute {
                    order.withLock { $0.append("later") }
                    done.resume()
                }
                order.withLock { $0.append("now") }
            }
        }
        #expect(order.withLock { $0 } == ["now", "later"])
    }

    @Test("a loop-bound value is used at once on its loop, queued from elsewhere, never off it")
    func loopBoundValuesStayOnTheirLoop() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "test-bound")
        defer { Task { await group.shutdown() } }
        let loop = group.loops[0]
        final class Counter { var value = 0 }
        let bound = LoopBound(value: Counter(), loop: loop)
        let seen = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // From another thread: queued, and run on the loop.
            bound.withValue { counter in
                counter.value += 1
                seen.withLock { $0.append("queued on loop: \(loop.inEventLoop)") }
                // On the loop: at once, before the next line.
                bound.withValue { counter in
                    counter.value += 1
                    seen.withLock { $0.append("at once: \(counter.value)") }
                }
                seen.withLock { $0.append("after: \(bound.assumingOnLoop().value)") }
                done.resume()
            }
        }
        #expect(seen.withLock { $0 } == ["queued on loop: true", "at once: 2", "after: 2"])
    }
}
