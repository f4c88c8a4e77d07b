import Foundation
import Testing

@testable import ScryptexQuant

/// Each metric on five returns worked out by hand (the arithmetic is in docs/QUANT.md; empyrical
/// 0.5.5 gives the same figures).
@Suite("Performance metrics")
struct MetricsTests {
    static let returns = [0.10, -0.05, 0.02, -0.10, 0.04]

    static func close(_ value: Double?, _ expected: Double, _ tolerance: Double = 1e-12) -> Bool {
        guard let value else { return false }
        return abs(value - expected) <= tolerance
    }

    @Test func handCheckedFigures() {
        let statistics = ReturnStatistics(returns: Self.returns, periodsPerYear: 365)
        // Wealth 1.1, 1.045, 1.0659, 0.95931, 0.9976824.
        #expect(Self.close(statistics.totalReturn, 0.9976824 - 1))
        // 0.9976824^(365/5) − 1.
        #expect(Self.close(statistics.annualReturn, -0.15581292388753232, 1e-12))
        // Mean 0.002, sample variance 0.02448/4 = 0.00612.
        #expect(Self.close(statistics.annualVolatility, (0.00612 * 365).squareRoot()))
        #expect(Self.close(statistics.sharpeRatio, 0.002 / 0.00612.squareRoot() * 365.0.squareRoot()))
        // Downside deviation √((0.05² + 0.10²)/5) = 0.05, annualised ·√365; mean·365 = 0.73.
        #expect(Self.close(statistics.sortinoRatio, 0.73 / (0.05 * 365.0.squareRoot())))
        // Peak 1.1, trough 0.95931; under water from the second return to the end.
        #expect(Self.close(statistics.maxDrawdown, 0.95931 / 1.1 - 1))
        #expect(statistics.maxDrawdownDuration == 4)
        #expect(Self.close(statistics.calmarRatio, -0.15581292388753232 / (1 - 0.95931 / 1.1), 1e-12))
        // Sorted −0.10, −0.05, 0.02, 0.04, 0.10: the 5 % point is 0.2 of the way from the first
        // to the second; k = ⌊4 · 0.05⌋ = 0, so the shortfall is the worst return.
        #expect(Self.close(statistics.historicalVaR, -0.10 + 0.2 * 0.05))
        #expect(Self.close(statistics.historicalExpectedShortfall, -0.10))
        let sigma = 0.00612.squareRoot()
        #expect(Self.close(statistics.parametricVaR, 0.002 - 1.6448536269514722 * sigma, 1e-12))
        #expect(
            Self.close(
                statistics.parametricExpectedShortfall, 0.002 - sigma * 0.10313564037537128 / 0.05, 1e-12))
    }

    @Test func theNormalQuantileInvertsTheDistribution() {
        #expect(abs(NormalDistribution.quantile(0.05) + 1.6448536269514722) < 1e-14)
        #expect(abs(NormalDistribution.quantile(0.975) - 1.959963984540054) < 1e-14)
        #expect(abs(NormalDistribution.quantile(1e-10) + 6.361340902404056) < 1e-9)
        for p in stride(from: 0.001, to: 1, by: 0.0137) {
            #expect(abs(NormalDistribution.cumulative(NormalDistribution.quantile(p)) - p) < 1e-15)
        }
    }

    @Test func tradeStatistics() {
        let statistics = TradeStatistics(profits: [100, -50, 30, -20], returns: [0.1, -0.05, 0.03, -0.02])
        #expect(statistics.winRate == 0.5)
        #expect(statistics.profitFactor == 130.0 / 70.0)
        // Mean 15; squared deviations 85², 65², 15², 35² sum to 12,900: SQN = √4 · 15 / √(12900/3).
        #expect(Self.close(statistics.systemQualityNumber, 2 * 15 / (12_900.0 / 3).squareRoot()))
    }

    @Test func selectionFindsPercentilesWithoutSorting() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let values = (0..<Int.random(in: 1...300, using: &generator)).map { _ in
                Double.random(in: -1...1, using: &generator)
            }
            let sorted = values.sorted()
            for q in [0.0, 0.01, 0.05, 0.5, 0.99, 1.0] {
                var scratch = values
                let position = q * Double(sorted.count - 1)
                let below = Int(position.rounded(.down))
                let above = min(below + 1, sorted.count - 1)
                let expected = sorted[below] + (sorted[above] - sorted[below]) * (position - Double(below))
                #expect(abs(ReturnStatistics.percentile(selectingIn: &scratch, q) - expected) < 1e-15)
            }
        }
    }

    @Test func rollingIndicatorsMatchTheirDirectDefinitions() {
        var generator = SystemRandomNumberGenerator()
        var prices = [1000.0]
        for _ in 0..<5_000 { prices.append(prices.last! * (1 + Double.random(in: -0.03...0.03, using: &generator))) }
        let n = 20
        let z = RollingStatistics.zScore(prices, window: n)
        let mean = RollingStatistics.mean(prices, window: n)
        let high = RollingStatistics.priorMaximum(prices, window: n)
        for index in [20, 21, 1_023, 1_024, 1_025, 4_999] {
            let window = Array(prices[(index - n + 1)...index])
            let (m, s) = ReturnStatistics.meanAndDeviation(window)
            #expect(abs(mean[index] - m) < 1e-9 * m)
            #expect(abs(z[index] - (prices[index] - m) / s) < 1e-8)
            #expect(high[index] == prices[(index - n)..<index].max())
        }
        #expect(z[18].isNaN && mean[18].isNaN && high[19].isNaN)
    }
}
