import Foundation
import ScryptexCore
import ScryptexMarketData
import Testing

@testable import ScryptexQuant

@Suite("Performance attribution")
struct AttributionTests {
    typealias Holding = BrinsonAttribution.Holding

    static let period = BrinsonAttribution.Period(
        label: "2026-01",
        portfolio: ["A": Holding(weight: 0.6, return: 0.10), "B": Holding(weight: 0.4, return: 0.02)],
        benchmark: ["A": Holding(weight: 0.5, return: 0.08), "B": Holding(weight: 0.5, return: 0.03)])

    /// R_p = 0.068, R_b = 0.055. Allocation (0.1)(0.08 − 0.055) + (−0.1)(0.03 − 0.055) = 0.005;
    /// selection 0.5·0.02 + 0.5·(−0.01) = 0.005; interaction 0.1·0.02 + (−0.1)(−0.01) = 0.003.
    @Test func brinsonFachlerByHand() throws {
        let result = try BrinsonAttribution(periods: [Self.period])
        let period = try #require(result.periods.first)
        #expect(abs(period.portfolioReturn - 0.068) < 1e-15 && abs(period.benchmarkReturn - 0.055) < 1e-15)
        #expect(abs(period.total.allocation - 0.005) < 1e-15)
        #expect(abs(period.total.selection - 0.005) < 1e-15)
        #expect(abs(period.total.interaction - 0.003) < 1e-15)
        #expect(abs(period.total.total - 0.013) < 1e-15)
        #expect(abs(period.bySegment["A"]!.allocation - 0.0025) < 1e-15)
    }

    @Test func carinoLinkingAddsUpToTheCompoundedExcess() throws {
        var second = Self.period
        second.label = "2026-02"
        second.portfolio["A"]!.return = -0.05
        second.benchmark["B"]!.return = 0.04
        var third = Self.period
        third.label = "2026-03"
        third.portfolio = ["A": Holding(weight: 0.3, return: 0.2), "B": Holding(weight: 0.7, return: -0.1)]
        let result = try BrinsonAttribution(periods: [Self.period, second, third])
        let compounded = (1.068 * (1 + 0.6 * -0.05 + 0.4 * 0.02) * (1 + 0.3 * 0.2 + 0.7 * -0.1) - 1)
        #expect(abs(result.portfolioReturn - compounded) < 1e-14)
        #expect(abs(result.linkedTotal.total - result.excessReturn) < 1e-14)
        let summed = result.linkedBySegment.values.map(\.total).reduce(0, +)
        #expect(abs(summed - result.excessReturn) < 1e-14)
        let bad = #expect(throws: ServiceError.self) {
            var wrong = Self.period
            wrong.portfolio["A"]!.weight = 0.7
            return try BrinsonAttribution(periods: [wrong])
        }
        #expect(bad?.message.contains("weights add up to 1.1") == true)
    }

    @Test func factorRegressionRecoversKnownExposures() throws {
        var random = SeededRandom(seed: 3)
        let f1 = (0..<500).map { _ in 0.02 * random.nextNormal() }
        let f2 = (0..<500).map { _ in 0.01 * random.nextNormal() }
        let exact = (0..<500).map { 0.001 + 1.5 * f1[$0] - 0.5 * f2[$0] }
        let fit = try FactorAttribution(returns: exact, factors: [("BTC", f1), ("ETH", f2)], periodsPerYear: 365)
        #expect(abs(fit.alpha - 0.001) < 1e-12 && abs(fit.factors[0].beta - 1.5) < 1e-10)
        #expect(abs(fit.factors[1].beta + 0.5) < 1e-10 && abs(fit.rSquared - 1) < 1e-12)
        let noisy = exact.map { $0 + 0.005 * random.nextNormal() }
        let rough = try FactorAttribution(returns: noisy, factors: [("BTC", f1), ("ETH", f2)], periodsPerYear: 365)
        #expect(rough.rSquared < 1 && rough.rSquared > 0.8)
        // The annual return splits exactly into alpha and the factors' contributions.
        #expect(abs(rough.annualAlpha + rough.factors.map(\.contribution).reduce(0, +) - rough.annualReturn) < 1e-12)
        #expect((rough.factors[0].tStatistic ?? 0) > 10)
        let collinear = #expect(throws: ServiceError.self) {
            try FactorAttribution(returns: noisy, factors: [("A", f1), ("B", f1.map { 2 * $0 })], periodsPerYear: 365)
        }
        #expect(collinear?.message.contains("collinear") == true)
    }

    @Test func monthlyReturnsRunFromTheLastCloseOfThePreviousMonth() {
        var series = BarSeries(symbol: "A", timeframe: .oneDay)
        // 30 and 31 January, 1 and 28 February, 1 March 2024 (UTC midnights).
        for (time, close) in [
            (1_706_572_800, 100.0), (1_706_659_200, 110), (1_706_745_600, 121), (1_709_078_400, 99),
            (1_709_251_200, 108.9),
        ] {
            series.append(Bar(time: Int64(time), open: close, high: close, low: close, close: close, volume: 0))
        }
        let months = PeriodReturns.monthly(series)
        #expect(months.map(\.label) == ["2024-01", "2024-02", "2024-03"])
        #expect(abs(months[0].return - 0.1) < 1e-15 && abs(months[1].return - (99.0 / 110 - 1)) < 1e-15)
        #expect(abs(months[2].return - 0.1) < 1e-15)
    }

    /// Two strategies over two months: the portfolio holds each strategy, the benchmark each
    /// strategy's asset outright; the months the backtests do not share are left out.
    @Test func attributionByStrategyComparesEachStrategyWithItsAsset() throws {
        let trend = BrinsonAttribution.StrategySegment(
            name: "Trend",
            months: [
                MonthlyReturn(month: "2024-01", strategy: 0.10, asset: 0.08),
                MonthlyReturn(month: "2024-02", strategy: 0.01, asset: -0.02),
                MonthlyReturn(month: "2024-03", strategy: 0.05, asset: 0.05),
            ], portfolioWeight: 0.6, benchmarkWeight: 0.5)
        let carry = BrinsonAttribution.StrategySegment(
            name: "Carry",
            months: [
                MonthlyReturn(month: "2024-01", strategy: 0.02, asset: 0.03),
                MonthlyReturn(month: "2024-02", strategy: 0.00, asset: 0.01),
            ], portfolioWeight: 0.4, benchmarkWeight: 0.5)
        let result = try BrinsonAttribution(strategies: [trend, carry])
        #expect(result.periods.map(\.label) == ["2024-01", "2024-02"])
        // January is the hand-checked single period above with A = Trend and B = Carry.
        let january = result.periods[0]
        #expect(abs(january.total.allocation - 0.005) < 1e-15 && abs(january.total.selection - 0.005) < 1e-15)
        #expect(abs(january.bySegment["Trend"]!.selection - 0.5 * 0.02) < 1e-15)
        // February: R_b = 0.5·(−0.02) + 0.5·0.01 = −0.005; Trend's selection 0.5·(0.01 + 0.02).
        let february = result.periods[1]
        #expect(abs(february.benchmarkReturn + 0.005) < 1e-15)
        #expect(abs(february.bySegment["Trend"]!.selection - 0.015) < 1e-15)
        #expect(abs(february.bySegment["Carry"]!.allocation - (-0.1) * (0.01 + 0.005)) < 1e-15)
        let unbalanced = BrinsonAttribution.StrategySegment(
            name: "Carry", months: carry.months, portfolioWeight: 0.3, benchmarkWeight: 0.5)
        #expect(throws: ServiceError.self) { try BrinsonAttribution(strategies: [trend, unbalanced]) }
        do {
            _ = try BrinsonAttribution(strategies: [trend, unbalanced])
        } catch let error as ServiceError {
            #expect(
                error.message == "field 'backtests[].portfolioWeight': the weights add up to 0.8999999999999999, not 1")
        }
    }

    @Test func monthLabelsHandleYearsAndTimesBefore1970() {
        #expect(PeriodReturns.label(2024 * 12 + 11) == "2024-12")
        #expect(PeriodReturns.label(1969 * 12) == "1969-01")
        let months = PeriodReturns.monthly(times: [-86_400, 0, 3_600], values: [100, 110, 121], base: 50)
        #expect(months.map(\.label) == ["1969-12", "1970-01"])
        #expect(abs(months[0].return - 1) < 1e-15 && abs(months[1].return - 0.21) < 1e-15)
    }
}
