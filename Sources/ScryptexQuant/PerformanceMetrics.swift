import Foundation

/// Performance and risk of a series of per-bar simple returns, with empyrical's definitions
/// (docs/QUANT.md writes each one down). `periodsPerYear` is N: 365 for daily crypto bars, 8,760
/// for hourly.
public struct ReturnStatistics: Sendable, Codable, Equatable {
    public var periods: Int
    /// Π(1 + r) − 1.
    public var totalReturn: Double
    /// (1 + total)^(N / n) − 1.
    public var annualReturn: Double
    /// Sample standard deviation (n − 1) · √N.
    public var annualVolatility: Double
    /// mean(r − rf) / sample std(r − rf) · √N; nil when the deviation is 0.
    public var sharpeRatio: Double?
    /// mean(r − rf) · N / (√(mean(min(r − rf, 0)²)) · √N), the downside over all periods; nil
    /// without a loss.
    public var sortinoRatio: Double?
    /// The worst fall of wealth (starting at 1) from its running peak, as a negative fraction.
    public var maxDrawdown: Double
    /// The longest time, in periods, from a peak until wealth is back above it (or the end).
    public var maxDrawdownDuration: Int
    /// annualReturn / |maxDrawdown|; nil without a drawdown.
    public var calmarRatio: Double?
    /// The α-quantile of the returns, linearly interpolated (numpy's default percentile).
    public var historicalVaR: Double
    /// The mean of the k + 1 worst returns, k = ⌊(n − 1)·α⌋.
    public var historicalExpectedShortfall: Double
    /// μ + σ·Φ⁻¹(α), with the sample mean and standard deviation.
    public var parametricVaR: Double
    /// μ − σ·φ(Φ⁻¹(α))/α.
    public var parametricExpectedShortfall: Double
    public var confidenceLevel: Double

    /// - Parameters:
    ///   - returns: Simple returns per period (at least 2).
    ///   - alpha: The tail probability of VaR and expected shortfall (0.05: the 95 % level).
    public init(returns: [Double], periodsPerYear: Double, riskFree: Double = 0, alpha: Double = 0.05) {
        let n = returns.count
        periods = n
        confidenceLevel = 1 - alpha
        var wealth = 1.0
        var peak = 1.0
        var worst = 0.0
        var longest = 0
        var underwaterSince: Int?
        for (index, value) in returns.enumerated() {
            wealth *= 1 + value
            if wealth >= peak {
                peak = wealth
                if let start = underwaterSince { longest = max(longest, index - start) }
                underwaterSince = nil
            } else {
                if underwaterSince == nil { underwaterSince = index }
                worst = min(worst, (wealth - peak) / peak)
            }
        }
        if let start = underwaterSince { longest = max(longest, n - start) }
        totalReturn = wealth - 1
        maxDrawdown = worst
        maxDrawdownDuration = longest
        let years = Double(n) / periodsPerYear
        annualReturn = n == 0 ? 0 : pow(wealth, 1 / years) - 1
        let (mean, deviation) = Self.meanAndDeviation(returns)
        annualVolatility = deviation * periodsPerYear.squareRoot()
        // Subtracting a constant moves the mean and leaves the deviation (up to rounding).
        let excessMean = mean - riskFree
        let excessDeviation = deviation
        sharpeRatio = excessDeviation > 0 ? excessMean / excessDeviation * periodsPerYear.squareRoot() : nil
        var downside = 0.0
        for value in returns where value < riskFree { downside += (value - riskFree) * (value - riskFree) }
        let downsideDeviation = n > 0 ? (downside / Double(n)).squareRoot() * periodsPerYear.squareRoot() : 0
        sortinoRatio = downsideDeviation > 0 ? excessMean * periodsPerYear / downsideDeviation : nil
        calmarRatio = worst < 0 ? annualReturn / -worst : nil
        // Selection instead of a sort: O(n) for a million returns.
        var scratch = returns
        historicalVaR = Self.percentile(selectingIn: &scratch, alpha)
        let cutoff = Int((Double(n - 1) * alpha).rounded(.down))
        if n > 0 {
            Self.select(cutoff, in: &scratch)
            historicalExpectedShortfall = scratch[0...cutoff].reduce(0, +) / Double(cutoff + 1)
        } else {
            historicalExpectedShortfall = 0
        }
        let z = NormalDistribution.quantile(alpha)
        parametricVaR = mean + deviation * z
        parametricExpectedShortfall = mean - deviation * NormalDistribution.density(z) / alpha
    }

    /// The sample mean and standard deviation (n − 1), in two passes (the deviations summed
    /// about the mean, so no cancellation).
    public static func meanAndDeviation(_ values: [Double]) -> (mean: Double, deviation: Double) {
        guard !values.isEmpty else { return (0, 0) }
        var sum = 0.0
        for value in values { sum += value }
        let mean = sum / Double(values.count)
        var squares = 0.0
        var residual = 0.0
        for value in values {
            let delta = value - mean
            squares += delta * delta
            residual += delta
        }
        // The corrected two-pass formula: the residual removes the mean's own rounding error.
        squares -= residual * residual / Double(values.count)
        return (mean, values.count > 1 ? (max(squares, 0) / Double(values.count - 1)).squareRoot() : 0)
    }

    /// numpy's `percentile(values, 100·q)` with linear interpolation (reorders `values`).
    public static func percentile(selectingIn values: inout [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let position = q * Double(values.count - 1)
        let below = Int(position.rounded(.down))
        select(below, in: &values)
        let lower = values[below]
        guard below + 1 < values.count else { return lower }
        let upper = values[(below + 1)...].min()!
        return lower + (upper - lower) * (position - Double(below))
    }

    /// Reorders `values` so that `values[k]` is the k-th smallest, everything before it no larger
    /// and everything after no smaller (Hoare's selection with median-of-three pivots).
    public static func select(_ k: Int, in values: inout [Double]) {
        var low = 0
        var high = values.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            if values[middle] < values[low] { values.swapAt(middle, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[middle] { values.swapAt(high, middle) }
            let pivot = values[middle]
            var i = low
            var j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return
            }
        }
    }
}

/// Trade statistics: win rate, profit factor and System Quality Number (√n · mean / sample std of
/// the trades' P&L).
public struct TradeStatistics: Sendable, Codable, Equatable {
    public var trades: Int
    public var winRate: Double?
    public var profitFactor: Double?
    public var systemQualityNumber: Double?
    public var averageTradeReturn: Double?
    public var bestTradeReturn: Double?
    public var worstTradeReturn: Double?

    public init(profits: [Double], returns: [Double]) {
        trades = profits.count
        guard !profits.isEmpty else { return }
        winRate = Double(profits.filter { $0 > 0 }.count) / Double(profits.count)
        let gains = profits.filter { $0 > 0 }.reduce(0, +)
        let losses = -profits.filter { $0 < 0 }.reduce(0, +)
        profitFactor = losses > 0 ? gains / losses : nil
        let (mean, deviation) = ReturnStatistics.meanAndDeviation(profits)
        systemQualityNumber = deviation > 0 ? Double(profits.count).squareRoot() * mean / deviation : nil
        averageTradeReturn = returns.reduce(0, +) / Double(returns.count)
        bestTradeReturn = returns.max()
        worstTradeReturn = returns.min()
    }
}
