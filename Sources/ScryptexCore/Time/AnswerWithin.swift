import Synchronization

/// The result of `operation`, or `TimeLimitExceeded` once `limit` has passed, whichever comes
/// first; the operation is then cancelled and left to end by itself.
///
/// Unlike a task group, which waits for every child, this returns on time even when the
/// operation ignores cancellation for a while (a statement on a stalled database, bounded by
/// its own deadline): for answers with a budget, such as a readiness probe.
@discardableResult
public func answer<Result: Sendable>(
    within limit: Duration, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
        let pending = ResumedOnce(continuation)
        let work = Task {
            let result: Swift.Result<Result, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            pending.take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: limit)
            guard let waiting = pending.take() else { return }
            work.cancel()
            waiting.resume(throwing: TimeLimitExceeded(limit: limit))
        }
    }
}

/// An operation did not finish within its time limit.
public struct TimeLimitExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    public let limit: Duration

    public var description: String { "no answer within \(limit)" }
}

/// A continuation that the first of several racers takes and resumes.
private final class ResumedOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, any Error>?>

    init(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func take() -> CheckedContinuation<Value, any Error>? {
        continuation.withLock { $0.take() }
    }
}
