import Foundation
import ScryptexCore
public import ScryptexMarketData

/// Risk of a return series (a weighted basket rebalanced each bar, or returns given as they are):
/// the statistics of `ReturnStatistics`, beta and correlation to a benchmark, and sizing helpers.
public struct RiskReport: Sendable, Codable, Equatable {
    public struct Sizing: Sendable, Codable, Equatable {
        /// Fixed fractional: the share of equity a position may take so that a stop
        /// `stopDistance` away loses `riskPerTrade` of equity (riskPerTrade / stopDistance).
        public var fixedFractional: Double?
        /// Volatility targeting: targetVolatility / annualised volatility.
        public var volatilityTarget: Double?
        /// The Kelly fraction μ/σ² of the per-bar returns, and half of it (the usual cap).
        public var kelly: Double?
        public var halfKelly: Double?
    }

    public var statistics: ReturnStatistics
    public var benchmark: String?
    /// cov(r, b) / var(b), sample moments.
    public var beta: Double?
    public var correlation: Double?
    public var sizing: Sizing

    public init(
        returns: [Double], periodsPerYear: Double, benchmark: (name: String, returns: [Double])?, alpha: Double,
        riskPerTrade: Double?, stopDistance: Double?, targetVolatility: Double?
    ) throws {
        guard returns.count >= 3 else {
            throw ServiceError(.invalidInput, "field 'returns': at least 3 returns (\(returns.count) given)")
        }
        guard returns.allSatisfy({ $0.isFinite && $0 > -1 }) else {
            throw ServiceError(.invalidInput, "field 'returns': finite simple returns above -1")
        }
        statistics = ReturnStatistics(returns: returns, periodsPerYear: periodsPerYear, alpha: alpha)
        if let benchmark {
            guard benchmark.returns.count == returns.count else {
                throw ServiceError(
                    .invalidInput,
                    "field 'benchmarkReturns': \(benchmark.returns.count) returns for \(returns.count) of the series")
            }
            self.benchmark = benchmark.name
            let (meanA, deviationA) = ReturnStatistics.meanAndDeviation(returns)
            let (meanB, deviationB) = ReturnStatistics.meanAndDeviation(benchmark.returns)
            var covariance = 0.0
            for index in returns.indices { covariance += (returns[index] - meanA) * (benchmark.returns[index] - meanB) }
            covariance /= Double(returns.count - 1)
            beta = deviationB > 0 ? covariance / (deviationB * deviationB) : nil
            correlation = deviationA > 0 && deviationB > 0 ? covariance / (deviationA * deviationB) : nil
        }
        let (mean, deviation) = ReturnStatistics.meanAndDeviation(returns)
        var sizing = Sizing()
        if let riskPerTrade, let stopDistance {
            guard riskPerTrade > 0 && riskPerTrade <= 1, stopDistance > 0 && stopDistance <= 1 else {
                throw ServiceError(
                    .invalidInput, "field 'riskPerTrade' and 'stopDistance': fractions above 0 and at most 1")
            }
            sizing.fixedFractional = riskPerTrade / stopDistance
        }
        if let targetVolatility {
            guard targetVolatility > 0 && targetVolatility <= 10 else {
                throw ServiceError(.invalidInput, "field 'targetVolatility': above 0 and at most 10")
            }
            sizing.volatilityTarget =
                statistics.annualVolatility > 0 ? targetVolatility / statistics.annualVolatility : nil
        }
        if deviation > 0 {
            sizing.kelly = mean / (deviation * deviation)
            sizing.halfKelly = sizing.kelly.map { $0 / 2 }
        }
        self.sizing = sizing
    }

    /// Each series' simple returns on the times every series has.
    public static func alignedReturns(_ series: [BarSeries]) throws -> [[Double]] {
        let closes = PortfolioOptimizer.aligned(series)
        guard closes[0].count >= 4 else {
            throw ServiceError(
                .invalidInput, "the assets have \(closes[0].count) bars in common in the period; 4 at least")
        }
        return closes.map { column in (1..<column.count).map { column[$0] / column[$0 - 1] - 1 } }
    }

    /// The per-bar returns of a basket rebalanced to `weights` every bar, and the benchmark's,
    /// on the times every series (the benchmark's included) has.
    public static func basketReturns(
        _ series: [BarSeries], weights: [Double], benchmark: BarSeries? = nil
    ) throws
        -> (returns: [Double], benchmark: [Double]?)
    {
        guard series.count == weights.count else {
            throw ServiceError(.invalidInput, "field 'weights': \(weights.count) weights for \(series.count) assets")
        }
        guard weights.allSatisfy(\.isFinite), abs(weights.reduce(0, +) - 1) < 1e-9 else {
            throw ServiceError(.invalidInput, "field 'weights': finite numbers adding up to 1")
        }
        let closes = PortfolioOptimizer.aligned(series + (benchmark.map { [$0] } ?? []))
        guard closes[0].count >= 4 else {
            throw ServiceError(
                .invalidInput, "the assets have \(closes[0].count) bars in common in the period; 4 at least")
        }
        var returns: [Double] = []
        var benchmarkReturns: [Double] = []
        for t in 1..<closes[0].count {
            var sum = 0.0
            for asset in weights.indices {
                let change: Double = closes[asset][t] / closes[asset][t - 1] - 1
                sum += weights[asset] * change
            }
            returns.append(sum)
            if benchmark != nil {
                let last = closes[closes.count - 1]
                benchmarkReturns.append(last[t] / last[t - 1] - 1)
            }
        }
        return (returns, benchmark == nil ? nil : benchmarkReturns)
    }
}
