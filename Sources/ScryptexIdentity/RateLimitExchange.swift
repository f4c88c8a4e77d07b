public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Rate limits shared by every host on one database: each host keeps its own token buckets
/// (a request never waits on the database for them) and, every `interval`, tells the others
/// what it took, by key, with `NOTIFY`; each host takes the others' usage off its own buckets.
///
/// The bound on the error: a host learns of the others' requests at most `interval` (plus the
/// notification's delivery) late, so with N hosts a key can be admitted at most
/// (N − 1) × (burst + rate × interval) beyond its limit — in the first moments of a burst, when
/// every host still has its full bucket — and never less than its limit. A host that misses
/// notifications (its listening connection dropped) only under-counts for that time.
public struct RateLimitExchange: Sendable {
    public static let channel = "scryptex_rate_usage"
    /// PostgreSQL takes payloads under 8,000 bytes.
    static let largestPayload = 7_000

    let limiter: RateLimiter
    let pool: PostgresConnectionPool
    let configuration: PostgresConfiguration
    let interval: Duration
    let host: String
    let logger: Logger

    /// - Parameters:
    ///   - configuration: For the listening connection (its own, outside the pool).
    ///   - interval: How often usage is published (`RATE_LIMIT_SHARE_MS`).
    ///   - host: This host's name in the notifications (its own are ignored).
    public init(
        limiter: RateLimiter, pool: PostgresConnectionPool, configuration: PostgresConfiguration, interval: Duration,
        host: String = UUID().uuidString.lowercased(), logger: Logger
    ) {
        self.limiter = limiter
        self.pool = pool
        self.configuration = configuration
        self.interval = interval
        self.host = host
        self.logger = logger
    }

    /// Publishes and applies usage until the task is cancelled.
    public func run() async throws {
        let listener = try PostgresNotificationListener(
            configuration: configuration, channels: [Self.channel], logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await listener.run() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    await publish()
                }
            }
            for await event in listener.events {
                guard case .notification(let notification) = event,
                    let (sender, usage) = Self.decode(notification.payload), sender != host
                else { continue }
                limiter.deduct(usage)
            }
            group.cancelAll()
        }
    }

    /// Sends what this host took since the last time, in as many notifications as it needs.
    func publish() async {
        let taken = limiter.drainTaken()
        guard !taken.isEmpty else { return }
        for payload in Self.encode(taken, from: host) {
            do {
                try await pool.query("SELECT pg_notify(\(Self.channel), \(payload))")
            } catch {
                // The other hosts under-count for this interval; the next one goes on.
                logger.warning("could not share rate-limit usage", ["error": String(describing: error)])
                return
            }
        }
    }

    /// `host` on the first line, then `key<TAB>count` lines, each payload under the limit. Keys
    /// with a tab or a line break (none the host makes) are left out.
    public static func encode(_ usage: [String: Int], from host: String) -> [String] {
        var payloads: [String] = []
        var current = host
        for (key, count) in usage.sorted(by: { $0.key < $1.key })
        where !key.contains(where: { $0 == "\t" || $0 == "\n" }) && key.utf8.count < 1_000 {
            let line = "\n\(key)\t\(count)"
            if current.utf8.count + line.utf8.count > largestPayload {
                payloads.append(current)
                current = host
            }
            current += line
        }
        if current != host { payloads.append(current) }
        return payloads
    }

    public static func decode(_ payload: String) -> (host: String, usage: [String: Int])? {
        var lines = payload.split(separator: "\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { return nil }
        let host = String(lines.removeFirst())
        var usage: [String: Int] = [:]
        for line in lines {
            let parts = line.split(separator: "\t")
            guard parts.count == 2, let count = Int(parts[1]), count > 0 else { continue }
            usage[String(parts[0]), default: 0] += count
        }
        return (host, usage)
    }
}
