import ScryptexCore
import ScryptexHTTP

/// A server already listening: on shutdown it stops accepting, lets requests in flight finish
/// within `gracePeriod`, and closes.
struct ServerService: LifecycleService {
    let name: String
    let server: HTTPServer
    let gracePeriod: Duration

    func run(until shutdown: OneShotEvent) async throws {
        await shutdown.wait()
        await server.shutdown(gracePeriod: gracePeriod)
    }
}

/// Work that loops on its own (sleeping between rounds, stopping when its task is cancelled): it
/// runs in a child task that is cancelled on shutdown, and the service returns once it has ended.
/// An error it throws before shutdown fails the service, which stops the host (a follower that
/// cannot listen must not leave revocations unheard); what it throws once cancelled is not one.
struct BackgroundService: LifecycleService {
    let name: String
    let body: @Sendable () async throws -> Void

    func run(until shutdown: OneShotEvent) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask { await shutdown.wait() }
            // The first to end: the body (its error, if any, is rethrown here) or the shutdown.
            // Leaving the group then cancels the other and waits for it, dropping what it throws.
            try await group.next()
            group.cancelAll()
        }
    }
}

/// `round` now, then every `interval` until shutdown (a round in progress is cancelled).
struct PeriodicService: LifecycleService {
    let name: String
    let interval: Duration
    let round: @Sendable () async -> Void

    func run(until shutdown: OneShotEvent) async throws {
        try await BackgroundService(name: name) {
            while !Task.isCancelled {
                await round()
                try? await Task.sleep(for: interval)
            }
        }.run(until: shutdown)
    }
}
