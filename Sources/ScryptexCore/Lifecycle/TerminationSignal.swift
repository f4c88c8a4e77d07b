import Dispatch
import Glibc
import Synchronization

/// Waits for SIGINT or SIGTERM.
public enum TerminationSignal {
    /// The first signal's delivery: the waiter, and the signal sources kept alive until then.
    /// Dispatch sources are thread-safe (they may be resumed and cancelled from any thread); both
    /// live behind the mutex.
    private final class Delivery: Sendable {
        // @unchecked: DispatchSourceSignal is not marked Sendable, but dispatch sources may be
        // resumed and cancelled from any thread, and this state is only touched under the mutex.
        private struct State: @unchecked Sendable {
            var done = false
            var waiter: CheckedContinuation<Int32?, Never>?
            var sources: [any DispatchSourceSignal] = []
        }

        private let state = Mutex(State())

        func wait(_ waiter: CheckedContinuation<Int32?, Never>) {
            let cancelled = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiter = waiter
                return false
            }
            if cancelled { waiter.resume(returning: nil) }
        }

        func keep(_ source: any DispatchSourceSignal) {
            let late = state.withLock { state -> Bool in
                if !state.done { state.sources.append(source) }
                return state.done
            }
            if late { source.cancel() }
        }

        /// Hands `number` (nil: cancelled) to the waiter, once; stops listening.
        func deliver(_ number: Int32?) {
            let (waiter, sources) = state.withLock {
                state -> (CheckedContinuation<Int32?, Never>?, [any DispatchSourceSignal]) in
                guard !state.done else { return (nil, []) }
                state.done = true
                defer { state.waiter = nil }
                return (state.waiter, state.sources)
            }
            sources.forEach { $0.cancel() }
            waiter?.resume(returning: number)
        }
    }

    /// Returns the number of the first termination signal received, or nil when the task is
    /// cancelled first.
    public static func next() async -> Int32? {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let delivery = Delivery()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                delivery.wait(continuation)
                for number in [SIGINT, SIGTERM] {
                    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                    source.setEventHandler { delivery.deliver(number) }
                    delivery.keep(source)
                    source.resume()
                }
            }
        } onCancel: {
            delivery.deliver(nil)
        }
    }
}
