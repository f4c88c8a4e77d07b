import Foundation

/// κ from trades: the rate λ(δ) at which market orders reach a quote δ away from the mid is fitted
/// as A·e^(−κ·δ) (Avellaneda and Stoikov's exponential order-book model). For distances
/// δ_k = k·`step` (k = 0 … `buckets` − 1), λ(δ_k) is the number of observed trades at least δ_k
/// from the mid per second of observation; ln λ = ln A − κ·δ is fitted by least squares over the
/// buckets with at least one trade.
public enum IntensityFit {
    public struct Fit: Sendable, Equatable, Codable {
        public var intensityAtMid: Double
        public var kappa: Double
        public var buckets: Int
    }

    /// - Parameters:
    ///   - distances: |trade price − mid at the time| of each trade.
    ///   - seconds: How long the trades were observed.
    /// - Returns: nil with fewer than two non-empty buckets or a non-decreasing fit.
    public static func fit(distances: [Double], seconds: Double, step: Double, buckets: Int = 20) -> Fit? {
        guard seconds > 0, step > 0, buckets >= 2 else { return nil }
        let sorted = distances.filter { $0.isFinite && $0 >= 0 }.sorted()
        var xs: [Double] = []
        var ys: [Double] = []
        var index = 0
        for k in 0..<buckets {
            let delta = Double(k) * step
            while index < sorted.count && sorted[index] < delta { index += 1 }
            let reaching = sorted.count - index
            guard reaching > 0 else { break }
            xs.append(delta)
            ys.append(log(Double(reaching) / seconds))
        }
        guard xs.count >= 2 else { return nil }
        let n = Double(xs.count)
        let meanX = xs.reduce(0, +) / n
        let meanY = ys.reduce(0, +) / n
        var covariance = 0.0
        var variance = 0.0
        for (x, y) in zip(xs, ys) {
            covariance += (x - meanX) * (y - meanY)
            variance += (x - meanX) * (x - meanX)
        }
        let slope = covariance / variance
        guard slope < 0, slope.isFinite else { return nil }
        return Fit(intensityAtMid: exp(meanY - slope * meanX), kappa: -slope, buckets: xs.count)
    }
}

/// The market trades a strategy has seen: each one's distance from the mid at the time (the
/// latest `capacity`), and the span of time they cover.
public struct ObservedTrades: Sendable, Equatable, Codable {
    public static let capacity = 5_000
    public private(set) var distances: [Double] = []
    public private(set) var since: Double?
    public private(set) var last: Double?
    /// `kappa` as of the last batch of trades, kept so quoting reads one number instead of
    /// fitting again on every quote.
    public var estimatedKappa: Double?

    public init() {}

    public mutating func add(distance: Double, at time: Double) {
        guard distance.isFinite, distance >= 0 else { return }
        distances.append(distance)
        if distances.count > Self.capacity { distances.removeFirst(distances.count - Self.capacity) }
        since = min(since ?? time, time)
        last = max(last ?? time, time)
    }

    /// κ by `IntensityFit` over 20 buckets spanning up to the 95th percentile distance; nil with
    /// fewer than 20 trades or under a second of observation.
    public var kappa: Double? {
        guard distances.count >= 20, let since, let last, last - since >= 1 else { return nil }
        let sorted = distances.sorted()
        let reach = sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        guard reach > 0 else { return nil }
        return IntensityFit.fit(distances: distances, seconds: last - since, step: reach / 20, buckets: 20)?.kappa
    }
}
