import Synchronization

/// A one-shot event: set once, awaited by any number of tasks (those that wait after it was set
/// return at once; a waiting task that is cancelled stops waiting).
public final class OneShotEvent: Sendable {
    private struct State {
        var isSet = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isSet: Bool { state.withLock { $0.isSet } }

    /// Sets the event and wakes every waiter; later calls do nothing.
    public func set() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.isSet else { return [] }
            state.isSet = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the event is set, or when the task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isSet || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps for `duration` or until the event is set, whichever comes first; true when set.
    @discardableResult
    public func wait(atMost duration: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: duration) }
            await group.next()
            group.cancelAll()
        }
        return isSet
    }
}

/// A long-running part of a process — a server, a listener, a periodic job, a pool — that the
/// `ServiceGroup` starts together with the others and stops in order.
public protocol LifecycleService: Sendable {
    /// Names the service in the log.
    var name: String { get }

    /// Does the service's work until `shutdown` is set, then tears down and returns. Returning
    /// early (or throwing) stops the whole group.
    func run(until shutdown: OneShotEvent) async throws
}

/// Runs services in one task group until a trigger (a termination signal) or the first service
/// to end; then stops them one at a time in the reverse of their order, each after the one that
/// came after it has finished: the teardown runs once, in one place.
public struct ServiceGroup: Sendable {
    private let services: [any LifecycleService]
    private let logger: Logger

    public init(_ services: [any LifecycleService], logger: Logger) {
        self.services = services
        self.logger = logger
    }

    /// - Parameter trigger: Returns when the services should stop (a termination signal), or
    ///   when its task is cancelled (after the services ended on their own).
    /// - Returns: the first error a service threw, or nil.
    @discardableResult
    public func run(until trigger: @escaping @Sendable () async -> Void) async -> (any Error)? {
        let shutdowns = services.map { _ in OneShotEvent() }
        let finished = services.map { _ in OneShotEvent() }
        let stopping = OneShotEvent()
        let firstError = FirstError()
        await withTaskGroup(of: Void.self) { group in
            for (index, service) in services.enumerated() {
                group.addTask { [logger] in
                    do {
                        try await service.run(until: shutdowns[index])
                    } catch {
                        logger.error("service failed", ["service": service.name, "error": "\(error)"])
                        firstError.keep(error)
                    }
                    if !shutdowns[index].isSet {
                        logger.warning("service ended on its own; stopping the others", ["service": service.name])
                    }
                    finished[index].set()
                    stopping.set()
                }
            }
            group.addTask {
                await trigger()
                stopping.set()
            }
            await stopping.wait()
            for index in services.indices.reversed() {
                shutdowns[index].set()
                await finished[index].wait()
            }
            group.cancelAll()
            await group.waitForAll()
        }
        return firstError.value
    }
}

/// The first error of several tasks.
private final class FirstError: Sendable {
    private let error = Mutex<(any Error)?>(nil)

    func keep(_ error: any Error) { self.error.withLock { $0 = $0 ?? error } }

    var value: (any Error)? { error.withLock { $0 } }
}

/// Work to undo, in the reverse of the order it was done: start-up pushes a step for each
/// resource it opens, and one `unwind` closes them all — after a failed start as after a stop.
public struct TeardownSteps: Sendable {
    private var steps: [(name: String, step: @Sendable () async -> Void)] = []

    public init() {}

    public mutating func push(_ name: String, _ step: @escaping @Sendable () async -> Void) {
        steps.append((name, step))
    }

    /// Runs every step, last first, and forgets them.
    public mutating func unwind() async {
        while let last = steps.popLast() { await last.step() }
    }
}
