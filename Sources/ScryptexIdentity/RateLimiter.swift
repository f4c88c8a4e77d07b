import Synchronization

/// Token buckets by key (an API key, a user, a tenant), shared by every event loop of the
/// process: one lock, a few nanoseconds per check.
///
/// A bucket holds up to `burst` tokens and refills at `ratePerSecond`; each request takes one.
/// When a bucket is empty the answer says how long until a token is back (`Retry-After`).
public final class RateLimiter: Sendable {
    public struct Limit: Sendable, Equatable {
        public var ratePerSecond: Double
        public var burst: Double

        public init(ratePerSecond: Double, burst: Double) {
            precondition(
                ratePerSecond > 0 && burst >= 1, "a rate limit needs a positive rate and a burst of at least 1")
            self.ratePerSecond = ratePerSecond
            self.burst = burst
        }

        /// Parses `RATE/s` or `RATE/s:BURST` (`50/s:100`), or `RATE/m` per minute.
        public init?(parsing text: String) {
            let parts = text.split(separator: ":")
            guard (1...2).contains(parts.count) else { return nil }
            let rate = parts[0].split(separator: "/")
            guard rate.count == 2, let amount = Double(rate[0]), amount > 0 else { return nil }
            let perSecond: Double
            switch rate[1] {
            case "s": perSecond = amount
            case "m": perSecond = amount / 60
            default: return nil
            }
            let burst = parts.count == 2 ? Double(parts[1]) : max(1, amount)
            guard let burst, burst >= 1 else { return nil }
            self.init(ratePerSecond: perSecond, burst: burst)
        }
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Seconds until the next token, rounded up (at least 1).
        case limited(retryAfterSeconds: Int)
    }

    private struct Bucket {
        /// Nil until this host first takes from it (full then).
        var tokens: Double?
        var updated: ContinuousClock.Instant
        /// Tokens other hosts took before this host first used the bucket (``deduct(_:)``).
        var debt: Double = 0
        /// The limit it was last taken under (nil before).
        var limit: Limit?

        /// The tokens at `now`: refilled since `updated`, never above the burst.
        func tokens(at now: ContinuousClock.Instant, under limit: Limit) -> Double {
            let elapsed =
                Double((now - updated).components.seconds) + Double((now - updated).components.attoseconds) / 1e18
            return min(limit.burst, (tokens ?? limit.burst) + elapsed * limit.ratePerSecond)
        }
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        /// Tokens this host took since ``drainTaken()`` last ran, by key.
        var taken: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()
    /// Buckets untouched this long are full again and are dropped, so memory stays bounded.
    private let idleExpiry: Duration = .seconds(600)
    private let sweepEvery = 4096
    private let counter = Atomic<Int>(0)

    /// Whether this host tells others what it took (``drainTaken()`` is then called regularly;
    /// without it the record would only grow).
    private let recordsUsage: Bool

    /// - Parameter sharesUsage: Record what is taken for ``drainTaken()`` (a `RateLimitExchange`).
    public init(sharesUsage: Bool = false) {
        recordsUsage = sharesUsage
    }

    /// Takes one token from the bucket `key` under `limit`.
    public func take(_ key: String, limit: Limit) -> Decision {
        let now = clock.now
        if counter.add(1, ordering: .relaxed).newValue % sweepEvery == 0 { sweep(now: now) }
        return state.withLock { state in
            var bucket = state.buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            let tokens = bucket.tokens(at: now, under: limit) - bucket.debt
            bucket.debt = 0
            bucket.limit = limit
            bucket.updated = now
            if tokens >= 1 {
                bucket.tokens = tokens - 1
                state.buckets[key] = bucket
                if recordsUsage { state.taken[key, default: 0] += 1 }
                return .allowed
            }
            bucket.tokens = tokens
            state.buckets[key] = bucket
            let wait = (1 - tokens) / limit.ratePerSecond
            return .limited(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
        }
    }

    /// What this host took since the last call, by key (for the other hosts), and starts again.
    public func drainTaken() -> [String: Int] {
        state.withLock { state in
            defer { state.taken = [:] }
            return state.taken
        }
    }

    /// Takes off what other hosts took (`usage`, by key), so every host's buckets count the
    /// whole platform's requests; a bucket may go below zero and then refills from there.
    public func deduct(_ usage: [String: Int]) {
        let now = clock.now
        state.withLock { state in
            for (key, count) in usage where count > 0 {
                guard var bucket = state.buckets[key], let limit = bucket.limit else {
                    state.buckets[key, default: Bucket(tokens: nil, updated: now)].debt += Double(count)
                    continue
                }
                // Refilled up to now first, as if the other hosts' requests had come here now.
                bucket.tokens = bucket.tokens(at: now, under: limit) - Double(count)
                bucket.updated = now
                state.buckets[key] = bucket
            }
        }
    }

    private func sweep(now: ContinuousClock.Instant) {
        state.withLock { state in
            state.buckets = state.buckets.filter { now - $0.value.updated < idleExpiry }
        }
    }

    /// How many buckets are held (for tests and metrics).
    public var bucketCount: Int { state.withLock { $0.buckets.count } }
}

/// Back-off after failed logins: after `freeAttempts` failures an account is locked for
/// `baseLockout`, doubling with each further failure up to `maximumLockout`.
public struct LoginBackoff: Sendable {
    public var freeAttempts: Int = 5
    public var baseLockout: Duration = .seconds(30)
    public var maximumLockout: Duration = .seconds(3600)

    public init() {}

    /// The lock to apply after `failures` consecutive failures, or nil for none yet.
    public func lockout(afterFailures failures: Int) -> Duration? {
        guard failures >= freeAttempts else { return nil }
        let doublings = min(failures - freeAttempts, 20)
        let seconds = min(Int64(baseLockout.components.seconds) << Int64(doublings), maximumLockout.components.seconds)
        return .seconds(seconds)
    }
}
