import CLinux
import Foundation
import Glibc
import ScryptexCore
import Synchronization

/// Something registered with an event loop for readiness events.
public protocol EventLoopSource: AnyObject {
    func handle(events: UInt32)
    /// Called about four times a second on the loop, for coarse timeouts.
    func tick(now: ContinuousClock.Instant)
}

extension EventLoopSource {
    public func tick(now: ContinuousClock.Instant) {}
}

/// Readiness event bits (`epoll`), for `register` and `handle(events:)`.
public enum EventLoopEvents {
    public static let readable = SCRYPTEX_EPOLLIN
    public static let writable = SCRYPTEX_EPOLLOUT
    public static let error = SCRYPTEX_EPOLLERR
    public static let hangUp = SCRYPTEX_EPOLLHUP
    public static let peerClosed = SCRYPTEX_EPOLLRDHUP
}

/// One thread running `epoll_wait`, owning the sockets registered with it: the HTTP server's
/// connections and the PostgreSQL client's connections alike.
///
/// Work from other threads arrives through `execute`; Swift tasks that prefer the loop as their
/// executor (`EventLoop` is a `TaskExecutor`) run their jobs here too, so a request handler and
/// the database connection it waits on can share one thread without a single hop. Timers
/// (`schedule(at:_:)`) fire on the loop; `epoll_wait` sleeps until the earliest one.
///
/// `@unchecked Sendable` is sound because the mutable state (`sources`, `nextToken`, the timers,
/// `scratch`) is touched only on the loop's own thread — the entry points from other threads,
/// `execute` and `enqueue`, go through the `Mutex`-protected queue and the eventfd wake-up — and
/// the descriptors are immutable after `init`.
public final class EventLoop: @unchecked Sendable {
    private typealias Work = @Sendable () -> Void

    public let index: Int
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
    private var timers = TimerQueue()
    /// A read buffer shared by all sources of this loop (only one reads at a time).
    public var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var cachedStamp = (second: -1, text: "")
    /// The time when the loop last woke up: precise enough for timeouts, and one clock read per
    /// wake-up instead of several per request.
    public private(set) var now = ContinuousClock.now

    /// The loop whose thread is running the caller, if any.
    public static var current: EventLoop? {
        guard let raw = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<EventLoop>.fromOpaque(raw).takeUnretainedValue()
    }

    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    public init(index: Int) throws {
        self.index = index
        epoll = scryptex_epoll_create()
        wakeDescriptor = scryptex_eventfd_create()
        guard epoll >= 0, wakeDescriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            if epoll >= 0 { close(epoll) }
            if wakeDescriptor >= 0 { close(wakeDescriptor) }
            throw EventLoopError(message: "cannot create epoll or eventfd: \(reason)")
        }
        _ = scryptex_epoll_add(epoll, wakeDescriptor, SCRYPTEX_EPOLLIN, Self.wakeToken)
    }

    deinit {
        close(epoll)
        close(wakeDescriptor)
    }

    /// Starts the loop's thread, named `<name>-<index>`.
    public func start(name: String = "scryptex-loop") {
        let threadName = "\(name)-\(index)"
        let thread = Thread { [self] in
            scryptex_name_thread(threadName)
            self.run()
        }
        thread.name = threadName
        thread.stackSize = 1 << 20
        thread.start()
    }

    public var inEventLoop: Bool {
        threadIdentity.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    // MARK: Work from other threads

    /// Runs `work` on the loop thread after what is running now — also when called on the loop,
    /// so it never runs re-entrantly inside its caller. (Work queued from the loop's own thread
    /// runs in the same turn, with no wake-up.) To act at once when already on the loop, a
    /// caller says so: `LoopBound.withValue`.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        submit(work)
    }

    private func submit(_ work: @escaping Work) {
        queue.withLock { $0.append(work) }
        // The loop drains its queue after every wake-up, so work queued from its own thread
        // needs no wake-up call.
        if !inEventLoop { wake() }
    }

    private func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            _ = scryptex_eventfd_signal(wakeDescriptor)
        }
    }

    /// Asks the loop to stop after its current iteration and waits until it has.
    public func stop() async {
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
    public func register(_ source: any EventLoopSource, descriptor: Int32, events: UInt32) -> UInt64 {
        let token = nextToken
        nextToken += 1
        sources[token] = source
        _ = scryptex_epoll_add(epoll, descriptor, events, token)
        return token
    }

    public func modify(token: UInt64, descriptor: Int32, events: UInt32) {
        _ = scryptex_epoll_modify(epoll, descriptor, events, token)
    }

    public func deregister(token: UInt64, descriptor: Int32) {
        _ = scryptex_epoll_remove(epoll, descriptor)
        sources.removeValue(forKey: token)
    }

    public var registeredSourceCount: Int { sources.count }

    public func forEachSource(_ body: (any EventLoopSource) -> Void) {
        for source in Array(sources.values) { body(source) }
    }

    // MARK: Timers (loop thread only)

    /// Runs `work` on the loop at `deadline` (or soon after), unless cancelled first.
    @discardableResult
    public func schedule(at deadline: ContinuousClock.Instant, _ work: @escaping () -> Void) -> EventLoopTimer {
        timers.add(deadline: deadline, work: work)
    }

    /// Cancels a timer that has not fired; a fired or cancelled one is ignored.
    public func cancel(_ timer: EventLoopTimer) {
        timers.remove(timer)
    }

    /// `format(secondsSinceEpoch)` for the current second, computed once per second (the `Date`
    /// header of every response).
    public func perSecondText(_ format: (Int) -> String) -> String {
        let second = Int(Date().timeIntervalSince1970)
        if second != cachedStamp.second {
            cachedStamp = (second, format(second))
        }
        return cachedStamp.text
    }

    // MARK: The loop

    private func run() {
        threadIdentity.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(self).toOpaque())
        LogOutput.adoptThreadBuffer()
        var events = [scryptex_epoll_event](repeating: scryptex_epoll_event(), count: 256)
        var lastTick = ContinuousClock.now
        while !stopRequested.load(ordering: .acquiring) {
            var timeout = 250
            if let earliest = timers.earliestDeadline {
                let remaining = earliest - now
                timeout = remaining <= .zero ? 0 : min(timeout, Int(remaining.wholeMillisecondsRoundedUp))
            }
            if queue.withLock({ !$0.isEmpty }) { timeout = 0 }
            let count = events.withUnsafeMutableBufferPointer {
                scryptex_epoll_wait(epoll, $0.baseAddress, 256, Int32(timeout))
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
            // Taken out first and run afterwards: a timer's work may schedule or cancel others.
            for work in timers.takeDue(upTo: now) { work() }
            // What this iteration logged leaves in one batch (nothing while logging is unbuffered).
            LogOutput.standardError.flushCurrentThread()
            if now - lastTick >= .milliseconds(250) {
                lastTick = now
                forEachSource { $0.tick(now: now) }
            }
        }
        runQueuedWork()
        LogOutput.standardError.flushCurrentThread()
        pthread_setspecific(Self.currentKey, nil)
        let waiters = finished.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = nil }
            return waiters ?? []
        }
        waiters.forEach { $0.resume() }
    }

    private func runQueuedWork() {
        // Work may queue more work while running: take batches until none is left, but at most
        // a few rounds, so a task that keeps re-enqueueing itself cannot starve the sockets.
        for _ in 0..<16 {
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

extension EventLoop: TaskExecutor {
    /// Runs a job of a task that prefers this loop (`Task(executorPreference:)`), always after
    /// what is running now.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        submit { [self] in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// A timer scheduled on an event loop.
public struct EventLoopTimer: Hashable, Sendable {
    fileprivate let id: UInt64
}

public struct EventLoopError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Timers ordered by deadline in a binary heap; cancelled ones are dropped lazily.
private struct TimerQueue {
    private var heap: [(deadline: ContinuousClock.Instant, id: UInt64)] = []
    private var work: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    var earliestDeadline: ContinuousClock.Instant? {
        mutating get {
            while let first = heap.first, work[first.id] == nil { popFirst() }
            return heap.first?.deadline
        }
    }

    mutating func add(deadline: ContinuousClock.Instant, work body: @escaping () -> Void) -> EventLoopTimer {
        let id = nextID
        nextID += 1
        work[id] = body
        heap.append((deadline, id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
        return EventLoopTimer(id: id)
    }

    mutating func remove(_ timer: EventLoopTimer) {
        work.removeValue(forKey: timer.id)
        if work.isEmpty { heap.removeAll(keepingCapacity: true) }
    }

    mutating func takeDue(upTo now: ContinuousClock.Instant) -> [() -> Void] {
        var due: [() -> Void] = []
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let body = work.removeValue(forKey: first.id) { due.append(body) }
        }
        return due
    }

    private mutating func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

extension Duration {
    fileprivate var wholeMillisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 == 0 ? milliseconds : milliseconds + 1
    }
}

/// Carries a loop-confined object into a `@Sendable` closure that will only touch it on that
/// loop. `@unchecked Sendable` is sound because the value is reachable only through `withValue`
/// (which runs its body on the loop thread: at once when called there, else queued with
/// `EventLoop.execute`) and `assumingOnLoop()` (which stops the process when called on any
/// other thread): never off its loop.
public struct LoopBound<Value: AnyObject>: @unchecked Sendable {
    private let value: Value
    public let loop: EventLoop

    public init(value: Value, loop: EventLoop) {
        self.value = value
        self.loop = loop
    }

    /// Runs `body` with the value on its loop: now when called there (the caller is between two
    /// of the value's own steps, never inside one), else in the loop's next turn.
    public func withValue(_ body: @escaping (Value) -> Void) {
        if loop.inEventLoop {
            body(value)
            return
        }
        let bound = UncheckedBox(body)
        let box = UncheckedBox(value)
        loop.execute { bound.value(box.value) }
    }

    /// The value, for code that is on its loop by construction (a task whose executor is the loop).
    /// - Precondition: called on the loop's thread.
    public func assumingOnLoop() -> Value {
        precondition(loop.inEventLoop, "a loop-bound value was touched off its loop")
        return value
    }
}

/// See `LoopBound`: only unwrapped on the owning loop thread.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
