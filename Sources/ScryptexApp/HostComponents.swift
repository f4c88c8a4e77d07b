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
struct BackgroundService: LifecycleService {
    let name: String
    let body: @Sendable () async -> Void

    func run(until shutdown: OneShotEvent) async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await body() }
            group.addTask { await shutdown.wait() }
            await group.next()
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
