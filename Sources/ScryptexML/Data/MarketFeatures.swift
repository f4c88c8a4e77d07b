import Foundation
import ScryptexCore
public import ScryptexMarketData

/// What a market-data dataset's rows hold. Row t uses bars up to t's close only; its target is
/// about bar t + 1.
public struct MarketFeatures: Sendable, Equatable, Codable {
    /// k: the simple returns r_t, r_{t−1}, … r_{t−k+1} (r_t = C_t / C_{t−1} − 1).
    public var laggedReturns: Int?
    /// Windows n: the sample standard deviation of the n returns ending at t.
    public var volatility: [Int]?
    /// Periods n: Wilder's RSI over n (averages seeded with the first n changes' mean, then
    /// smoothed by (n − 1)/n).
    public var rsi: [Int]?
    /// Windows n: C_t / SMA_n(C)_t − 1.
    public var movingAverageGaps: [Int]?
    /// k: ln((V_t + 1) / (V_{t−1} + 1)) for the last k bars.
    public var volumeChanges: Int?

    public init(
        laggedReturns: Int? = nil, volatility: [Int]? = nil, rsi: [Int]? = nil, movingAverageGaps: [Int]? = nil,
        volumeChanges: Int? = nil
    ) {
        self.laggedReturns = laggedReturns
        self.volatility = volatility
        self.rsi = rsi
        self.movingAverageGaps = movingAverageGaps
        self.volumeChanges = volumeChanges
    }

    /// What the target of row t is.
    public enum Target: String, Sendable, Codable, CaseIterable {
        /// 1 when r_{t+1} > 0, else 0 (a flat bar counts as down).
        case nextDirection
        /// r_{t+1}.
        case nextReturn
    }

    public func validated(field: String = "dataset.features") throws -> MarketFeatures {
        func check(_ value: Int?, _ name: String, _ range: ClosedRange<Int>) throws {
            if let value, !range.contains(value) {
                throw ServiceError(
                    .invalidInput, "field '\(field).\(name)': \(range.lowerBound) to \(range.upperBound)")
            }
        }
        try check(laggedReturns, "laggedReturns", 1...200)
        try check(volumeChanges, "volumeChanges", 1...200)
        for (name, windows) in [("volatility", volatility), ("rsi", rsi), ("movingAverageGaps", movingAverageGaps)] {
            guard let windows else { continue }
            guard (1...10).contains(windows.count) else {
                throw ServiceError(.invalidInput, "field '\(field).\(name)': 1 to 10 windows")
            }
            for window in windows { try check(window, name, 2...1_000) }
        }
        guard
            laggedReturns != nil || volatility != nil || rsi != nil || movingAverageGaps != nil || volumeChanges != nil
        else {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': at least one of laggedReturns, volatility, rsi, movingAverageGaps, volumeChanges")
        }
        return self
    }

    public var names: [String] {
        var names: [String] = []
        if let k = laggedReturns { names += (0..<k).map { $0 == 0 ? "return[t]" : "return[t-\($0)]" } }
        for n in volatility ?? [] { names.append("volatility[\(n)]") }
        for n in rsi ?? [] { names.append("rsi[\(n)]") }
        for n in movingAverageGaps ?? [] { names.append("maGap[\(n)]") }
        if let k = volumeChanges { names += (0..<k).map { $0 == 0 ? "volumeChange[t]" : "volumeChange[t-\($0)]" } }
        return names
    }

    /// The first bar index every feature is defined at.
    var firstRow: Int {
        var first = 1
        if let k = laggedReturns { first = max(first, k) }
        for n in volatility ?? [] { first = max(first, n) }
        for n in rsi ?? [] { first = max(first, n) }
        for n in movingAverageGaps ?? [] { first = max(first, n - 1) }
        if let k = volumeChanges { first = max(first, k) }
        return first
    }

    /// Every bar's feature row (NaN where not yet defined), as columns.
    func columns(_ bars: BarSeries) -> [[Double]] {
        let n = bars.count
        let close = bars.close
        var returns = [Double](repeating: .nan, count: n)
        for t in 1..<max(1, n) { returns[t] = close[t] / close[t - 1] - 1 }
        func lagged(_ series: [Double], _ lag: Int) -> [Double] {
            (0..<n).map { $0 - lag >= 0 ? series[$0 - lag] : .nan }
        }
        var columns: [[Double]] = []
        if let k = laggedReturns { for lag in 0..<k { columns.append(lagged(returns, lag)) } }
        for window in volatility ?? [] {
            var column = [Double](repeating: .nan, count: n)
            if n > window {
                for t in window..<n {
                    let slice = returns[(t - window + 1)...t]
                    let mean = slice.reduce(0, +) / Double(window)
                    let variance = slice.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(window - 1)
                    column[t] = variance.squareRoot()
                }
            }
            columns.append(column)
        }
        for period in rsi ?? [] { columns.append(Self.relativeStrength(close, period: period)) }
        for window in movingAverageGaps ?? [] {
            var column = [Double](repeating: .nan, count: n)
            var sum = 0.0
            for t in 0..<n {
                sum += close[t]
                if t >= window { sum -= close[t - window] }
                if t >= window - 1 {
                    // The window's sum again from scratch every 1,000 bars, so rounding cannot drift.
                    if t % 1_000 == 0 { sum = close[(t - window + 1)...t].reduce(0, +) }
                    column[t] = close[t] / (sum / Double(window)) - 1
                }
            }
            columns.append(column)
        }
        if let k = volumeChanges {
            var changes = [Double](repeating: .nan, count: n)
            for t in 1..<max(1, n) { changes[t] = log((bars.volume[t] + 1) / (bars.volume[t - 1] + 1)) }
            for lag in 0..<k { columns.append(lagged(changes, lag)) }
        }
        return columns
    }

    static func relativeStrength(_ close: [Double], period: Int) -> [Double] {
        var result = [Double](repeating: .nan, count: close.count)
        guard close.count > period else { return result }
        var gain = 0.0
        var loss = 0.0
        for t in 1...period {
            let change = close[t] - close[t - 1]
            if change > 0 { gain += change } else { loss -= change }
        }
        gain /= Double(period)
        loss /= Double(period)
        func value() -> Double { loss == 0 ? (gain == 0 ? 50 : 100) : 100 - 100 / (1 + gain / loss) }
        result[period] = value()
        for t in (period + 1)..<close.count {
            let change = close[t] - close[t - 1]
            gain = (gain * Double(period - 1) + max(change, 0)) / Double(period)
            loss = (loss * Double(period - 1) + max(-change, 0)) / Double(period)
            result[t] = value()
        }
        return result
    }

    /// Rows from the first bar every feature is defined at to the last bar with a next bar.
    public func dataset(_ bars: BarSeries, target: Target) throws -> LabelledData {
        let columns = columns(bars)
        let first = firstRow
        guard bars.count > first + 1 else {
            throw ServiceError(
                .invalidInput,
                "the data has \(bars.count) bars of \(bars.symbol); these features need more than \(first + 1)")
        }
        var values: [Double] = []
        values.reserveCapacity((bars.count - first - 1) * columns.count)
        var targets: [Double] = []
        for t in first..<(bars.count - 1) {
            for column in columns { values.append(column[t]) }
            let next = bars.close[t + 1] / bars.close[t] - 1
            targets.append(target == .nextDirection ? (next > 0 ? 1 : 0) : next)
        }
        return LabelledData(
            features: FeatureMatrix(names: names, values: values), targets: targets,
            times: Array(bars.times[first..<(bars.count - 1)]),
            persistenceColumn: target == .nextReturn && laggedReturns != nil ? 0 : nil)
    }

    /// The feature rows of the latest `count` bars (whose next bar is not known yet, for the
    /// last), oldest first, with their times.
    public func latestRows(_ bars: BarSeries, count: Int) throws -> (features: FeatureMatrix, times: [Int64]) {
        let columns = columns(bars)
        let first = max(firstRow, bars.count - count)
        guard first < bars.count else {
            throw ServiceError(
                .invalidInput, "the data has \(bars.count) bars of \(bars.symbol); too few for these features")
        }
        var values: [Double] = []
        for t in first..<bars.count { for column in columns { values.append(column[t]) } }
        return (FeatureMatrix(names: names, values: values), Array(bars.times[first..<bars.count]))
    }
}
