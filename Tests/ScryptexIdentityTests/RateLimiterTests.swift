import ScryptexIdentity
import Testing

@Suite("Rate limits and login back-off")
struct RateLimiterTests {
    @Test func aBucketAllowsItsBurstThenSaysHowLongToWait() {
        let limiter = RateLimiter()
        let limit = RateLimiter.Limit(ratePerSecond: 1.0 / 60, burst: 3)
        for _ in 0..<3 { #expect(limiter.take("key", limit: limit) == .allowed) }
        guard case .limited(let seconds) = limiter.take("key", limit: limit) else {
            Issue.record("the fourth request within the burst was allowed")
            return
        }
        #expect((55...60).contains(seconds))
        // Buckets are independent per key.
        #expect(limiter.take("other", limit: limit) == .allowed)
        #expect(limiter.bucketCount == 2)
    }

    @Test func bucketsRefillAtTheirRate() async throws {
        let limiter = RateLimiter()
        // A token every 250 ms: the second take right after the first finds the bucket empty
        // even if this task is descheduled for a while.
        let limit = RateLimiter.Limit(ratePerSecond: 4, burst: 1)
        #expect(limiter.take("key", limit: limit) == .allowed)
        #expect(limiter.take("key", limit: limit) != .allowed)
        try await Task.sleep(for: .milliseconds(400))
        #expect(limiter.take("key", limit: limit) == .allowed)
    }

    @Test func limitsHoldAcrossConcurrentCallers() async {
        let limiter = RateLimiter()
        let limit = RateLimiter.Limit(ratePerSecond: 0.001, burst: 100)
        let allowed = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<50 where limiter.take("shared", limit: limit) == .allowed { count += 1 }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 100)
    }

    @Test(arguments: [
        ("50/s:100", 50.0, 100.0), ("10/m", 10.0 / 60, 10.0), ("5/s", 5.0, 5.0), ("0.5/s:1", 0.5, 1.0),
    ])
    func limitsParse(text: String, rate: Double, burst: Double) {
        #expect(RateLimiter.Limit(parsing: text) == RateLimiter.Limit(ratePerSecond: rate, burst: burst))
    }

    @Test(arguments: ["", "50", "50/h", "-1/s", "0/s", "5/s:0", "5/s:x", "a/s"])
    func badLimitsAreRefused(text: String) {
        #expect(RateLimiter.Limit(parsing: text) == nil)
    }

    @Test func loginLockoutDoublesAfterTheFreeAttemptsUpToTheMaximum() {
        let backoff = LoginBackoff()
        #expect(backoff.lockout(afterFailures: 4) == nil)
        #expect(backoff.lockout(afterFailures: 5) == .seconds(30))
        #expect(backoff.lockout(afterFailures: 6) == .seconds(60))
        #expect(backoff.lockout(afterFailures: 9) == .seconds(480))
        #expect(backoff.lockout(afterFailures: 50) == .seconds(3600))
    }
}

@Suite("Rate limits shared between hosts")
struct SharedRateLimitTests {
    @Test func anotherHostsRequestsAreTakenOffThisHostsBuckets() {
        let limit = RateLimiter.Limit(ratePerSecond: 0.001, burst: 10)
        let here = RateLimiter(sharesUsage: true)
        let there = RateLimiter(sharesUsage: true)
        for _ in 0..<4 { #expect(there.take("key", limit: limit) == .allowed) }
        // A limiter that shares nothing keeps no record (it would only grow).
        let alone = RateLimiter()
        #expect(alone.take("key", limit: limit) == .allowed)
        #expect(alone.drainTaken().isEmpty)
        #expect(here.take("key", limit: limit) == .allowed)
        let usage = there.drainTaken()
        #expect(usage == ["key": 4])
        #expect(there.drainTaken().isEmpty)
        here.deduct(usage)
        // 10 − 1 here − 4 there: five more, then limited.
        for _ in 0..<5 { #expect(here.take("key", limit: limit) == .allowed) }
        guard case .limited = here.take("key", limit: limit) else {
            Issue.record("the other host's requests were not counted")
            return
        }
        // Usage of a key this host never saw waits for its first request here.
        here.deduct(["new": 9])
        #expect(here.take("new", limit: limit) == .allowed)
        guard case .limited = here.take("new", limit: limit) else {
            Issue.record("a deduction before the first request here was lost")
            return
        }
    }

    @Test func usageTravelsInPayloadsUnderPostgresLimit() throws {
        var usage: [String: Int] = [:]
        for index in 0..<2_000 { usage["apikey:sxk_\(String(index, radix: 16))"] = index + 1 }
        usage["bad\tkey"] = 3
        let payloads = RateLimitExchange.encode(usage, from: "host-a")
        #expect(payloads.count > 1 && payloads.allSatisfy { $0.utf8.count <= 7_000 })
        var back: [String: Int] = [:]
        for payload in payloads {
            let (host, part) = try #require(RateLimitExchange.decode(payload))
            #expect(host == "host-a")
            back.merge(part) { $0 + $1 }
        }
        usage["bad\tkey"] = nil
        #expect(back == usage)
    }
}
