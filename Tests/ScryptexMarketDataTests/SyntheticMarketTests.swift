import Foundation
import ScryptexCore
import Testing

@testable import ScryptexMarketData

@Suite("Synthetic market")
struct SyntheticMarketTests {
    @Test func theSameSeedGivesTheSameBarsAndEveryBarIsACandle() throws {
        var market = SyntheticMarket()
        market.bars = 5_000
        let first = try market.generate()
        #expect(try market.generate() == first)
        market.seed = 43
        #expect(try market.generate().close != first.close)
        for index in 0..<first.count {
            let bar = first[index]
            #expect(bar.low > 0 && bar.high >= max(bar.open, bar.close) && bar.low <= min(bar.open, bar.close))
            if index > 0 { #expect(bar.open == first.close[index - 1] && bar.time == first.times[index - 1] + 86_400) }
        }
    }

    /// Without jumps or regimes the log returns are N((μ − σ²/2)·Δ, σ²·Δ): the estimates from 200,000
    /// bars are within a few standard errors of the parameters.
    @Test func withoutJumpsTheReturnsHaveTheConfiguredDriftAndVolatility() throws {
        var market = SyntheticMarket()
        market.timeframe = .oneHour
        market.bars = 200_000
        market.jumpsPerYear = 0
        market.turbulenceProbability = 0
        market.calmVolatility = 0.6
        market.drift = 0.3
        let series = try market.generate()
        let returns = (1..<series.count).map { log(series.close[$0] / series.close[$0 - 1]) }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count - 1)
        let perYear = series.timeframe.barsPerYear
        let volatility = (variance * perYear).squareRoot()
        #expect(abs(volatility - 0.6) < 0.6 * 0.01, "σ̂ = \(volatility)")
        // The drift's standard error over 22.8 years is σ/√T ≈ 0.126: within 3 of them.
        let drift = mean * perYear + volatility * volatility / 2
        #expect(abs(drift - 0.3) < 0.38, "μ̂ = \(drift)")
    }

    @Test func jumpsAndRegimesFattenTheTails() throws {
        var market = SyntheticMarket()
        market.bars = 50_000
        market.jumpsPerYear = 20
        let series = try market.generate()
        let returns = (1..<series.count).map { log(series.close[$0] / series.close[$0 - 1]) }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let deviation = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count - 1))
            .squareRoot()
        let fourth = returns.map { pow(($0 - mean) / deviation, 4) }.reduce(0, +) / Double(returns.count)
        #expect(fourth > 4, "excess kurtosis: a normal's fourth moment is 3, this one's is \(fourth)")
    }

    @Test func badParametersAreNamed() {
        var market = SyntheticMarket()
        market.bars = 1
        #expect(throws: ServiceError(.invalidInput, "field 'bars': from 2 to 5,000,000")) { try market.generate() }
        market = SyntheticMarket()
        market.calmVolatility = -1
        #expect((try? market.generate()) == nil)
    }
}
