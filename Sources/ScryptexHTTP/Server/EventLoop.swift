import CLinux
import Foundation
import Glibc
import Synchronization

/// Something registered with an event loop for readiness events.
protocol EventLoopSource: AnyObject {
    func handle(events: UInt32)
    /// Called about four times a second on the loop, for timeouts.
    func tick(now: ContinuousClock.Instant)
}

/// One thread running `epoll_wait`, owning the sockets registered with it.
///
/// Work from other threads (a response whose handler finished elsewhere) arrives through
/// `execute`.
///
/// `@unchecked Sendable` is sound because the mutable state (`sources`, `nextToken`) is touched
/// only on the loop's own thread — the one entry point from other threads, `execute`, goes
/// through the `Mutex`-protected queue and the eventfd wake-up — and the descriptors are
/// immutable after `init`.
final class EventLoop: @unchecked Sendable {
    private typealias Work = @Sendable () -> Void

    let index: Int
    private let epoll: Int32
    private let wakeDescriptor: Int32
    private let queue = Mutex<[Work]>([])
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let threadIdentity = Atomic<UInt>(0)
    private let finished = Mutex<[CheckedContinuation<Void, Never>]?>([])

    // Loop-thread state.
    private var sources: [UInt64: any EventLoopSource] = [:]
    private var nextToken: UInt64 = 1
    private static let wakeToken: UInt64 = 0
    /// A read buffer shared by all connections of this loop (only one reads at a time).
    var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var cachedDate = (second: -1, text: "")
    /// The time when the loop last woke up: precise enough for timeouts, and one clock read per
    /// wake-up instead of several per request.
    private(set) var now = ContinuousClock.now

    init(index: Int) throws {
        self.index = index
        epoll = scryptex_epoll_create()
        wakeDescriptor = scryptex_eventfd_create()
        guard epoll >= 0, wakeDescriptor >= 0 else {
            throw Socket.Failure(message: "cannot create epoll or eventfd: \(Socket.errorText())")
        }
        _ = scryptex_epoll_add(epoll, wakeDescriptor, SCRYPTEX_EPOLLIN, Self.wakeToken)
    }

    deinit {
        close(epoll)
        close(wakeDescriptor)
    }

    /// Starts the loop's thread.
    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "scryptex-loop-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    var inEventLoop: Bool {
        threadIdentity.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    // MARK: Work from other threads

    /// Runs `work` on the loop thread: now if already there, else soon.
    func execute(_ work: @escaping @Sendable () -> Void) {
        if inEventLoop {
            work()
            return
        }
        queue.withLock { $0.append(work) }
        wake()
    }

    private func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            _ = scryptex_eventfd_signal(wakeDescriptor)
        }
    }

    /// Asks the loop to stop after its current iteration and waits until it has.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyFinished = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if alreadyFinished {
                continuation.resume()
                return
            }
            stopRequested.store(true, ordering: .releasing)
            wake()
        }
    }

    // MARK: Registration (loop thread only)

    @discardableResult
    func register(_ source: any EventLoopSource, descriptor: Int32, events: UInt32) -> UInt64 {
        let token = nextToken
        nextToken += 1
        sources[token] = source
        _ = scryptex_epoll_add(epoll, descriptor, events, token)
        return token
    }

    func modify(token: UInt64, descriptor: Int32, events: UInt32) {
        _ = scryptex_epoll_modify(epoll, descriptor, events, token)
    }

    func deregister(token: UInt64, descriptor: Int32) {
        _ = scryptex_epoll_remove(epoll, descriptor)
        sources.removeValue(forKey: token)
    }

    var registeredSourceCount: Int { sources.count }

    func forEachSource(_ body: (any EventLoopSource) -> Void) {
        for source in Array(sources.values) { body(source) }
    }

    /// The IMF-fixdate for now, formatted once per second.
    var currentDate: String {
        let second = Int(Date().timeIntervalSince1970)
        if second != cachedDate.second {
            cachedDate = (second, HTTPDate.format(secondsSinceEpoch: second))
        }
        return cachedDate.text
    }

    // MARK: The loop

    private func run() {
        threadIdentity.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        var events = [scryptex_epoll_event](repeating: scryptex_epoll_event(), count: 256)
        var lastTick = ContinuousClock.now
        while !stopRequested.load(ordering: .acquiring) {
            let count = events.withUnsafeMutableBufferPointer {
                scryptex_epoll_wait(epoll, $0.baseAddress, 256, 250)
            }
            now = ContinuousClock.now
            if count > 0 {
                for event in events[0..<Int(count)] {
                    if event.data == Self.wakeToken {
                        _ = scryptex_eventfd_drain(wakeDescriptor)
                        wakePending.store(false, ordering: .releasing)
                    } else if let source = sources[event.data] {
                        source.handle(events: event.events)
                    }
                }
            }
            runQueuedWork()
            if now - lastTick >= .milliseconds(250) {
                lastTick = now
                forEachSource { $0.tick(now: now) }
            }
        }
        runQueuedWork()
        let waiters = finished.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = nil }
            return waiters ?? []
        }
        waiters.forEach { $0.resume() }
    }

    private func runQueuedWork() {
        while true {
            // Work may queue more work while running: take batches until none is left.
            // An empty queue (the usual case, once per wake-up) is left as it is: taking a copy
            // and emptying the original would allocate fresh storage every time.
            let batch = queue.withLock { queue -> [Work] in
                if queue.isEmpty { return [] }
                defer { queue = [] }
                return queue
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }
}

/// Carries a loop-confined object into a `@Sendable` closure that will only touch it on that
/// loop (through `EventLoop.execute`). `@unchecked Sendable` is sound because `value` is never
/// dereferenced off its loop: `EventLoop.execute` runs the closure on the loop thread.
struct LoopBound<Value: AnyObject>: @unchecked Sendable {
    let value: Value
    let loop: EventLoop

    func withValue(_ body: @escaping (Value) -> Void) {
        let value = self.value
        let bound = UncheckedBox(body)
        let box = UncheckedBox(value)
        loop.execute { bound.value(box.value) }
    }
}

/// See `LoopBound`: only unwrapped on the owning loop thread.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
