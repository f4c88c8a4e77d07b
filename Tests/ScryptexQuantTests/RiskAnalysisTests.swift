import Foundation
import ScryptexCore
import ScryptexMarketData
import Testing

@testable import ScryptexQuant

@Suite("Risk analysis")
struct RiskAnalysisTests {
    @Test func betaCorrelationAndSizingByHand() throws {
        // b: 0.01, −0.02, 0.03, 0.00 (mean 0.005); r = 2b + 0.001: beta 2, correlation 1.
        let benchmark = [0.01, -0.02, 0.03, 0.0]
        let returns = benchmark.map { 2 * $0 + 0.001 }
        let report = try RiskReport(
            returns: returns, periodsPerYear: 365, benchmark: ("B", benchmark), alpha: 0.05, riskPerTrade: 0.01,
            stopDistance: 0.05, targetVolatility: 0.2)
        #expect(abs(report.beta! - 2) < 1e-12 && abs(report.correlation! - 1) < 1e-12)
        #expect(abs(report.sizing.fixedFractional! - 0.2) < 1e-15)
        // r: mean 0.011; deviations 0.01, −0.05, 0.05, −0.01: s² = 0.0052/3.
        let variance = 0.0052 / 3
        #expect(abs(report.sizing.kelly! - 0.011 / variance) < 1e-9)
        #expect(abs(report.sizing.volatilityTarget! - 0.2 / (variance * 365).squareRoot()) < 1e-12)
        let mismatch = #expect(throws: ServiceError.self) {
            try RiskReport(
                returns: returns, periodsPerYear: 365, benchmark: ("B", [0.1]), alpha: 0.05, riskPerTrade: nil,
                stopDistance: nil, targetVolatility: nil)
        }
        #expect(mismatch?.message.contains("1 returns for 4") == true)
    }

    @Test func aBasketIsRebalancedEachBarOnCommonTimes() throws {
        var a = BarSeries(symbol: "A", timeframe: .oneDay)
        var b = BarSeries(symbol: "B", timeframe: .oneDay)
        for (index, (x, y)) in [(100.0, 10.0), (110, 11), (99, 12), (99, 12), (108.9, 9)].enumerated() {
            a.append(Bar(time: Int64(index) * 86_400, open: x, high: x, low: x, close: x, volume: 0))
            // B misses the third day: that bar is dropped from both.
            if index != 2 { b.append(Bar(time: Int64(index) * 86_400, open: y, high: y, low: y, close: y, volume: 0)) }
        }
        let basket = try RiskReport.basketReturns([a, b], weights: [0.5, 0.5])
        // Common days 0, 1, 3, 4: A 100, 110, 99, 108.9; B 10, 11, 12, 9.
        let expected = [0.5 * 0.1 + 0.5 * 0.1, 0.5 * (99.0 / 110 - 1) + 0.5 * (12.0 / 11 - 1), 0.5 * 0.1 + 0.5 * -0.25]
        #expect(zip(basket.returns, expected).allSatisfy { abs($0 - $1) < 1e-15 })
        #expect(throws: ServiceError.self) { try RiskReport.basketReturns([a, b], weights: [0.6, 0.6]) }
    }
}
