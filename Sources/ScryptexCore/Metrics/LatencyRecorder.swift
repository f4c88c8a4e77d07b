import Synchronization

/// A histogram of durations as Prometheus exposes one: cumulative counts per upper bound (in
/// seconds; the last count is the unbounded bucket's, so the total) and the sum.
public struct LatencyHistogram: Sendable, Equatable {
    public var upperBounds: [Double]
    public var cumulativeCounts: [Int]
    public var sumSeconds: Double
    public var count: Int { cumulativeCounts.last ?? 0 }

    public init(upperBounds: [Double], cumulativeCounts: [Int], sumSeconds: Double) {
        self.upperBounds = upperBounds
        self.cumulativeCounts = cumulativeCounts
        self.sumSeconds = sumSeconds
    }

    /// The `q` quantile (0…1) estimated as Prometheus' `histogram_quantile` does: linear within
    /// the bucket it falls in; the largest finite bound when it falls in the unbounded one; nil
    /// when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = q * Double(count)
        var previousCount = 0
        var previousBound = 0.0
        for (index, cumulative) in cumulativeCounts.enumerated() {
            if Double(cumulative) >= rank {
                guard index < upperBounds.count else { return upperBounds.last }
                let inBucket = cumulative - previousCount
                guard inBucket > 0 else { return upperBounds[index] }
                return previousBound + (upperBounds[index] - previousBound) * (rank - Double(previousCount))
                    / Double(inBucket)
            }
            previousCount = cumulative
            if index < upperBounds.count { previousBound = upperBounds[index] }
        }
        return upperBounds.last
    }

    /// The counts of both, bucket by bucket (same bounds).
    public func adding(_ other: LatencyHistogram) -> LatencyHistogram {
        guard other.upperBounds == upperBounds else { return self }
        return LatencyHistogram(
            upperBounds: upperBounds, cumulativeCounts: zip(cumulativeCounts, other.cumulativeCounts).map { $0 + $1 },
            sumSeconds: sumSeconds + other.sumSeconds)
    }
}

/// Records durations into histogram buckets with atomic counters: safe and cheap from any
/// thread, read as a `LatencyHistogram` at any time.
public final class LatencyRecorder: Sendable {
    /// From half a millisecond to ten seconds.
    public static let standardBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    public let upperBounds: [Double]
    private let buckets: [Counter]
    private let totalMicroseconds = Atomic<Int>(0)

    public init(upperBounds: [Double] = LatencyRecorder.standardBounds) {
        self.upperBounds = upperBounds
        buckets = (0...upperBounds.count).map { _ in Counter() }
    }

    public func record(_ duration: Duration) {
        record(seconds: Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
    }

    public func record(seconds: Double) {
        let index = upperBounds.firstIndex { seconds <= $0 } ?? upperBounds.count
        buckets[index].value.add(1, ordering: .relaxed)
        totalMicroseconds.add(Int(max(0, seconds) * 1_000_000), ordering: .relaxed)
    }

    public var histogram: LatencyHistogram {
        var cumulative: [Int] = []
        var running = 0
        for bucket in buckets {
            running += bucket.value.load(ordering: .relaxed)
            cumulative.append(running)
        }
        return LatencyHistogram(
            upperBounds: upperBounds, cumulativeCounts: cumulative,
            sumSeconds: Double(totalMicroseconds.load(ordering: .relaxed)) / 1_000_000)
    }
}
