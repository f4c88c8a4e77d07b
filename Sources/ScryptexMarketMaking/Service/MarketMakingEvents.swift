public import Foundation
import ScryptexCore
public import ScryptexPostgres
import Synchronization

/// One event of a strategy's stream: quotes, a fill with the positions after it, a status change.
public struct MarketMakingEvent: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    /// The event's JSON.
    public var data: String

    public init(id: Int64, kind: String, data: String) {
        self.id = id
        self.kind = kind
        self.data = data
    }

    /// As Server-Sent Events frame it (the JSON is one line).
    public var frame: [UInt8] { Array("id: \(id)\nevent: \(kind)\ndata: \(data)\n\n".utf8) }
}

/// The stored event log: appended in the transaction that made the change, read back by a
/// client resuming after the last id it saw.
public struct MarketMakingEventLog: Sendable {
    public init() {}

    public func append(
        _ kind: String, data: PostgresJSON, strategy id: UUID, in transaction: PostgresTransaction
    ) async throws -> MarketMakingEvent {
        let row = try await transaction.query(
            """
            INSERT INTO market_making_events (strategy_id, kind, data) VALUES (\(id), \(kind), \(data)::jsonb)
            RETURNING id
            """
        ).firstRow
        return MarketMakingEvent(id: try row.decode("id", as: Int64.self), kind: kind, data: data.text)
    }

    /// The events after `lastID`, oldest first, at most `limit`.
    public func events(
        of id: UUID, after lastID: Int64, limit: Int = 1_000, in transaction: PostgresTransaction
    ) async throws -> [MarketMakingEvent] {
        try await transaction.query(
            """
            SELECT id, kind, data::text AS data FROM market_making_events
            WHERE strategy_id = \(id) AND id > \(lastID) ORDER BY id LIMIT \(limit)
            """
        ).map {
            MarketMakingEvent(
                id: try $0.decode("id", as: Int64.self), kind: try $0.decode("kind", as: String.self),
                data: try $0.decode("data", as: String.self))
        }
    }
}

/// Live events handed to open streams in this process, after the transaction that logged them
/// committed. A stream that falls `backlog` events behind is ended: its client reconnects with
/// `Last-Event-ID` and reads the rest from the log. Waiting streams hold no thread.
public final class MarketMakingStreams: Sendable {
    public static let shared = MarketMakingStreams()
    public static let backlog = 1_000

    public enum Item: Sendable {
        case event(MarketMakingEvent)
        case heartbeat
    }

    private let subscribers = Mutex<[String: [UInt64: AsyncStream<Item>.Continuation]]>([:])
    private let nextID = Atomic<UInt64>(0)

    public init() {}

    /// Open streams, for metrics and tests.
    public var count: Int { subscribers.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// A subscription to the events of `key` (the tenant's schema and the strategy), with a
    /// heartbeat every `heartbeat` so proxies keep the connection open. It ends when finished,
    /// when the task reading it is cancelled, or when it is released.
    public func subscribe(_ key: String, heartbeat: Duration = .seconds(15)) -> Subscription {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(Self.backlog))
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if Task.isCancelled { break }
                if case .terminated = continuation.yield(.heartbeat) { break }
            }
        }
        continuation.onTermination = { [weak self] _ in
            beat.cancel()
            self?.subscribers.withLock { subscribers in
                subscribers[key]?[id] = nil
                if subscribers[key]?.isEmpty == true { subscribers[key] = nil }
            }
        }
        subscribers.withLock { $0[key, default: [:]][id] = continuation }
        return Subscription(stream: stream, continuation: continuation)
    }

    /// An open stream's events. Finishing it (or releasing it) unsubscribes at once, whatever
    /// became of the reader.
    public final class Subscription: Sendable {
        public let stream: AsyncStream<Item>
        let continuation: AsyncStream<Item>.Continuation

        init(stream: AsyncStream<Item>, continuation: AsyncStream<Item>.Continuation) {
            self.stream = stream
            self.continuation = continuation
        }

        public func finish() { continuation.finish() }

        deinit { continuation.finish() }
    }

    public func publish(_ event: MarketMakingEvent, to key: String) {
        let targets = subscribers.withLock { Array(($0[key] ?? [:]).values) }
        for continuation in targets {
            if case .dropped = continuation.yield(.event(event)) {
                // Too far behind: end it; the client resumes from the log.
                continuation.finish()
            }
        }
    }
}
