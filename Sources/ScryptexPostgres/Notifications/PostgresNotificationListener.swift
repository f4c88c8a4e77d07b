public import ScryptexCore
import Synchronization

/// Listens on PostgreSQL channels (`LISTEN`) on a dedicated connection and delivers what
/// arrives as an `AsyncStream`.
///
/// The connection is driven by its event loop like any other: a notification is yielded the
/// moment its bytes arrive, with no polling interval. When the connection breaks (the server
/// restarts, say), the listener reconnects with back-off, listens again and yields
/// `.reconnected`: notifications sent in between were missed, so a consumer reloads its state
/// then.
///
/// ```swift
/// let listener = try PostgresNotificationListener(configuration: configuration, channels: ["tenants"], logger: logger)
/// await withDiscardingTaskGroup { group in
///     group.addTask { await listener.run() }  // until the task is cancelled
///     for await event in listener.events { ... }
/// }
/// ```
public final class PostgresNotificationListener: Sendable {
    public enum Event: Sendable, Equatable {
        /// Listening has begun (first connection).
        case listening
        case notification(PostgresNotification)
        /// The connection was lost; the listener is reconnecting.
        case disconnected
        /// Listening again after a lost connection; notifications may have been missed.
        case reconnected
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let configuration: PostgresConfiguration
    private let channels: [SQLIdentifier]
    private let logger: Logger

    /// - Parameters:
    ///   - channels: Channel names; each must be a valid SQL identifier.
    /// - Throws: `PostgresError` with `.invalidArgument` for an invalid channel name.
    public init(
        configuration: PostgresConfiguration,
        channels: [String],
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.channels = try channels.map { try SQLIdentifier($0) }
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Listens (reconnecting as needed) until the task is cancelled, then finishes `events`.
    public func run() async {
        defer { continuation.finish() }
        var connectedBefore = false
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(configuration: configuration, logger: logger)
                for channel in channels {
                    try await connection.executeScript("LISTEN \(channel.quoted)")
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("notification listener cannot connect; retrying", ["error": String(describing: error)])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                continue
            }
            delay = .milliseconds(100)
            continuation.yield(connectedBefore ? .reconnected : .listening)
            connectedBefore = true
            // The loop yields each notification as it arrives and says when the connection breaks.
            let (closedSignal, closedContinuation) = AsyncStream.makeStream(of: Void.self)
            let events = continuation
            await connection.observe(
                notifications: { events.yield(.notification($0)) },
                closed: { closedContinuation.finish() })
            await withTaskCancellationHandler {
                for await _ in closedSignal {}
            } onCancel: {
                closedContinuation.finish()
            }
            await connection.close()
            if !Task.isCancelled {
                logger.warning("notification listener lost its connection; reconnecting")
                continuation.yield(.disconnected)
            }
        }
    }
}
