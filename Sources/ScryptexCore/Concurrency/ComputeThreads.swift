import Foundation

/// CPU-bound work on threads of its own: a long computation (a forest's trees, an SVM's solver)
/// must never occupy the cooperative pool that serves requests and fires deadlines.
public enum ComputeThreads {
    /// One worker per core.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Runs `body(worker)` for each worker in `0..<workers`, each on a thread of its own, and
    /// returns when all of them have (the caller's thread waits; one worker runs on it).
    public static func runBlocking(workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard workers > 1 else {
            body(0)
            return
        }
        let group = DispatchGroup()
        for worker in 1..<workers {
            group.enter()
            let thread = Thread {
                body(worker)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        body(0)
        group.wait()
    }

    /// Runs `work` on a thread of its own and resumes the calling task with its result; the
    /// task's thread is free meanwhile.
    public static func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
