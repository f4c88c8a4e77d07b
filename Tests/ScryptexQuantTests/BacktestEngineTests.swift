import Foundation
import ScryptexCore
import ScryptexMarketData
import Testing

@testable import ScryptexQuant

@Suite("Backtest engine")
struct BacktestEngineTests {
    /// Daily bars from closes; each open is the previous close, high and low the larger and
    /// smaller of the two unless given.
    static func series(_ closes: [Double], lows: [Int: Double] = [:], opens: [Int: Double] = [:]) -> BarSeries {
        var series = BarSeries(symbol: "TEST-USD", timeframe: .oneDay)
        for (index, close) in closes.enumerated() {
            let open = opens[index] ?? (index == 0 ? close : closes[index - 1])
            let low = lows[index] ?? min(open, close)
            series.append(
                Bar(
                    time: 1_577_836_800 + Int64(index) * 86_400, open: open, high: max(open, close), low: low,
                    close: close, volume: 1))
        }
        return series
    }

    static func strategy(
        _ type: String, _ config: [String: ParameterValue], risk: [String: ParameterValue] = [:]
    ) throws -> StrategyParameters {
        var config = config
        if config["assets"] == nil { config["assets"] = .list(["TEST-USD"]) }
        return try StrategyParameters(type: type, config: config, riskParameters: risk)
    }

    /// 10 flat-ish bars, a drop (z well below −2), then a recovery.
    static let dip: [Double] = [100, 101, 100, 101, 100, 101, 100, 101, 100, 101, 90, 95, 100, 102, 101]

    @Test func aDipIsBoughtAtTheNextOpenAndSoldWhenTheZScoreRecovers() throws {
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(10), "zscoreThreshold": .number(2)])
        var settings = BacktestSettings()
        settings.initialCapital = 10_000
        let result = try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(Self.dip)])
        let trade = try #require(result.trades.first)
        // z at bar 10 (close 90) is far below −2: bought at bar 11's open (90), 111 whole units.
        #expect(trade.entryTime == "2020-01-12T00:00:00Z" && trade.entryPrice == 90 && trade.units == 111)
        // By bar 12 (close 100) z is above 0: sold at bar 13's open (100).
        #expect(trade.exitTime == "2020-01-14T00:00:00Z" && trade.exitPrice == 100)
        #expect(trade.profit == 1_110 && result.finalEquity == 11_110)
        #expect(result.conventions["fill"]?.contains("t+1's open") == true)
    }

    @Test func feesAndSlippageAreChargedOnEachFill() throws {
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(10), "zscoreThreshold": .number(2)])
        var settings = BacktestSettings()
        settings.initialCapital = 10_000
        settings.feesBps = 10
        settings.slippageBps = 50
        let trade = try #require(
            try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(Self.dip)]).trades.first)
        // Buy at 90 · 1.005 = 90.45 with 0.1 % fees: ⌊10000 / (90.45 · 1.001)⌋ = 110 units.
        #expect(trade.entryPrice == 90 * 1.005 && trade.units == 110)
        // Sell at 100 · 0.995 = 99.5; profit = 110 · (99.5 − 90.45) − fees on both fills.
        let expected = 110 * (99.5 - 90.45) - 110 * 90.45 * 0.001 - 110 * 99.5 * 0.001
        #expect(abs(trade.profit - expected) < 1e-9)
    }

    @Test func aStopLossFillsAtItsLevelOrAtAGappingOpen() throws {
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(10), "zscoreThreshold": .number(2)],
            risk: ["stopLoss": .number(0.05)])
        var settings = BacktestSettings()
        settings.initialCapital = 9_000
        var closes = Self.dip
        closes[11] = 88
        // Bought at bar 11's open (90); bar 11 trades down to 85: the stop at 85.5 fills.
        let stopped = try BacktestEngine(strategy: strategy, settings: settings).run([
            Self.series(closes, lows: [11: 85])
        ])
        let trade = try #require(stopped.trades.first)
        #expect(
            trade.exitReason == "stop_loss" && trade.exitPrice == 90 * 0.95 && trade.exitTime == "2020-01-12T00:00:00Z")
        // The next bar opens at 80, through the stop: filled at the open.
        closes[11] = 91
        let gapped = try BacktestEngine(strategy: strategy, settings: settings).run([
            Self.series(closes, lows: [12: 79], opens: [12: 80])
        ])
        let gap = try #require(gapped.trades.first)
        #expect(gap.exitReason == "stop_loss" && gap.exitPrice == 80)
    }

    @Test func shortsOnlyWhenAllowedAndTheCircuitBreakerStopsTrading() throws {
        let spike = Self.dip.map { 200 - $0 }
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(10), "zscoreThreshold": .number(2)],
            risk: ["maxDrawdown": .number(0.02)])
        var settings = BacktestSettings()
        settings.initialCapital = 10_000
        #expect(try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(spike)]).trades.isEmpty)
        settings.allowShort = true
        let result = try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(spike)])
        let trade = try #require(result.trades.first)
        // Sold short at 110, 90 whole units (units are signed); the spike reverts, the short gains.
        #expect(trade.direction == "short" && trade.entryPrice == 110 && trade.units == -90)
        #expect(result.circuitBreakerTripped == nil && trade.profit > 0)

        // Long the dip, then a further fall: equity drops 2 % from its peak, the breaker trips.
        var crash = Self.dip
        crash[11] = 80
        crash[12] = 70
        let tripped = try BacktestEngine(strategy: strategy, settings: BacktestSettings()).run([Self.series(crash)])
        #expect(tripped.circuitBreakerTripped?.contains("equity fell 0.02") == true)
        #expect(tripped.trades.first?.exitReason == "circuit_breaker")
        #expect(tripped.trades.count == 1, "no position after the breaker trips")
    }

    @Test func everyStrategyTypeTradesASyntheticMarket() throws {
        var market = SyntheticMarket()
        market.bars = 3_000
        let bars = try market.generate()
        var other = market
        other.seed = 7
        other.symbol = "SYN2-USD"
        let second = try other.generate()
        // A second leg that tracks the first: B = A^0.8 with mean-reverting noise.
        var paired = bars
        paired.symbol = "SYN3-USD"
        for index in 0..<paired.count {
            let noise = exp(0.05 * sin(Double(index) / 7) + 0.02 * (second.close[index] / second.close[0] - 1))
            for keyPath in [\BarSeries.open, \BarSeries.high, \BarSeries.low, \BarSeries.close] {
                paired[keyPath: keyPath][index] = pow(bars[keyPath: keyPath][index], 0.8) * noise
            }
            paired.high[index] = max(paired.high[index], paired.open[index], paired.close[index])
            paired.low[index] = min(paired.low[index], paired.open[index], paired.close[index])
        }
        let strategies: [(String, [String: ParameterValue], [BarSeries])] = [
            ("mean_reversion", ["lookbackPeriod": .number(20), "zscoreThreshold": .number(1.5)], [bars]),
            ("momentum", ["lookbackPeriod": .number(30), "entryThreshold": .number(0.05)], [bars]),
            ("ma_crossover", ["fastPeriod": .number(10), "slowPeriod": .number(50)], [bars]),
            ("breakout", ["lookbackPeriod": .number(40), "exitPeriod": .number(20)], [bars]),
            (
                "pairs",
                [
                    "lookbackPeriod": .number(60), "zscoreThreshold": .number(1.5),
                    "assets": .list(["SYN-USD", "SYN3-USD"]),
                ], [bars, paired]
            ),
        ]
        for (type, config, series) in strategies {
            var settings = BacktestSettings()
            settings.allowShort = true
            settings.units = .fractional
            let result = try BacktestEngine(strategy: try Self.strategy(type, config), settings: settings).run(series)
            #expect(result.trades.count >= 3, "\(type): \(result.trades.count) trades")
            #expect(result.metrics.exposure > 0 && result.metrics.exposure < 1, "\(type)")
            #expect(result.finalEquity > 0 && result.finalEquity.isFinite, "\(type)")
            if type == "pairs" {
                let trade = try #require(result.trades.first)
                #expect((trade.units > 0) != ((trade.hedgeUnits ?? 0) > 0), "the legs go opposite ways")
            }
        }
    }

    /// β and the spread's z-score from centred sums, against the definition computed directly:
    /// least squares over the window, then the window's spreads priced with today's β.
    @Test func pairStatisticsMatchTheDirectDefinition() {
        var random = SeededRandom(seed: 3)
        var a = [4.0]
        var b = [3.0]
        for _ in 1..<400 {
            let common = random.nextNormal() * 0.02
            a.append(a[a.count - 1] + common + random.nextNormal() * 0.005)
            b.append(b[b.count - 1] + 0.8 * common + random.nextNormal() * 0.005)
        }
        let n = 30
        let statistics = Signals.pairStatistics(a, b, window: n, hedgeRatio: nil)
        let fixed = Signals.pairStatistics(a, b, window: n, hedgeRatio: 0.8)
        #expect(statistics.betas[n - 2].isNaN && statistics.zScores[n - 2].isNaN && fixed.betas[0] == 0.8)
        for t in (n - 1)..<a.count {
            let x: [Double] = Array(a[(t - n + 1)...t])
            let y: [Double] = Array(b[(t - n + 1)...t])
            let meanX: Double = x.reduce(0, +) / Double(n)
            let meanY: Double = y.reduce(0, +) / Double(n)
            var covariance = 0.0
            var variance = 0.0
            for k in 0..<n {
                covariance += (x[k] - meanX) * (y[k] - meanY)
                variance += (y[k] - meanY) * (y[k] - meanY)
            }
            let beta = covariance / variance
            for (hedge, result) in [(beta, statistics), (0.8, fixed)] {
                let spread: [Double] = (0..<n).map { x[$0] - hedge * y[$0] }
                let (mean, deviation) = ReturnStatistics.meanAndDeviation(spread)
                #expect(abs(result.betas[t] - hedge) < 1e-9)
                #expect(abs(result.zScores[t] - (spread[n - 1] - mean) / deviation) < 1e-7, "bar \(t)")
            }
        }
    }

    /// The monthly returns a backtest records, recomputed from its equity curve and its bars.
    @Test func aBacktestRecordsItsMonthlyReturnsBesideItsAsset() throws {
        var market = SyntheticMarket()
        market.bars = 120
        let bars = try market.generate()
        let strategy = try Self.strategy(
            "ma_crossover", ["fastPeriod": .number(5), "slowPeriod": .number(20), "assets": .list(["SYN-USD"])])
        var settings = BacktestSettings()
        settings.units = .fractional
        let result = try BacktestEngine(strategy: strategy, settings: settings).run([bars])
        let months = try #require(result.monthlyReturns)
        let equity = result.equityCurve
        #expect(equity.count == bars.count)
        var previousEquity = settings.initialCapital
        var previousClose = bars.open[0]
        for month in months {
            let last = try #require(equity.lastIndex { $0.time.hasPrefix(month.month) })
            #expect(abs(month.strategy - (equity[last].equity / previousEquity - 1)) < 1e-12, "\(month.month)")
            #expect(abs(month.asset - (bars.close[last] / previousClose - 1)) < 1e-12, "\(month.month)")
            previousEquity = equity[last].equity
            previousClose = bars.close[last]
        }
        #expect(months.count == Set(equity.map { $0.time.prefix(7) }).count)
    }

    /// ml_signal: long from the bar after the probability reaches entryThreshold, out after it
    /// falls below exitThreshold; no opinion where the model has none.
    @Test func anMLSignalIsTradedAtTheNextOpen() throws {
        let strategy = try Self.strategy(
            "ml_signal",
            ["modelId": .text(UUID().uuidString), "entryThreshold": .number(0.6), "exitThreshold": .number(0.5)])
        let closes: [Double] = [100, 101, 102, 103, 104, 105, 106, 107]
        let signal: [Double] = [.nan, 0.55, 0.65, 0.58, 0.52, 0.45, 0.7, 0.7]
        var settings = BacktestSettings()
        settings.initialCapital = 10_000
        let result = try BacktestEngine(strategy: strategy, settings: settings).run(
            [Self.series(closes)], signal: signal)
        // Entered on bar 2's signal at bar 3's open (102), left on bar 5's at bar 6's open (105);
        // bar 6's signal opens a position at bar 7's open that is still open at the end.
        let trade = try #require(result.trades.first)
        #expect(trade.entryTime == "2020-01-04T00:00:00Z" && trade.entryPrice == 102)
        #expect(trade.exitTime == "2020-01-07T00:00:00Z" && trade.exitPrice == 105)
        #expect(result.trades.count == 2 && result.trades[1].open)
        #expect(throws: ServiceError.self) {
            try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(closes)])
        }
        #expect(throws: ServiceError.self) {
            try Self.strategy("ml_signal", ["modelId": .text("not-a-uuid")])
        }
    }

    @Test func sizingRulesScaleThePosition() throws {
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(10), "zscoreThreshold": .number(2)],
            risk: ["maxPositionSize": .number(0.5)])
        var settings = BacktestSettings()
        settings.initialCapital = 10_000
        settings.units = .fractional
        let capped = try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(Self.dip)])
        #expect(abs(try #require(capped.trades.first).units * 90 - 5_000) < 1e-9, "half the equity")
        settings.sizing = .volatilityTarget
        settings.sizingLookback = 5
        settings.targetVolatility = 0.01
        let target = try BacktestEngine(strategy: strategy, settings: settings).run([Self.series(Self.dip)])
        let closes = Self.dip
        let returns = (6...10).map { closes[$0] / closes[$0 - 1] - 1 }
        let deviation = ReturnStatistics.meanAndDeviation(returns).deviation * 365.0.squareRoot()
        #expect(abs(try #require(target.trades.first).units * 90 - 10_000 * 0.01 / deviation) < 1e-6)
    }

    @Test func badParametersAreNamed() throws {
        let cases: [(String, [String: ParameterValue], [String: ParameterValue], String)] = [
            ("grid", [:], [:], "field 'type': 'grid' is not one of mean_reversion, momentum"),
            (
                "mean_reversion", ["lookbackPeriod": .number(20), "zscore": .number(2)], [:],
                "field 'config.zscore': not a parameter of mean_reversion"
            ),
            ("mean_reversion", ["zscoreThreshold": .number(2)], [:], "field 'config.lookbackPeriod': required"),
            (
                "mean_reversion", ["lookbackPeriod": .number(2.5), "zscoreThreshold": .number(2)], [:],
                "field 'config.lookbackPeriod': a whole number"
            ),
            (
                "ma_crossover", ["fastPeriod": .number(50), "slowPeriod": .number(10)], [:],
                "field 'config.fastPeriod': must be shorter"
            ),
            (
                "pairs", ["lookbackPeriod": .number(20), "zscoreThreshold": .number(2)], [:],
                "field 'config.assets': pairs trades 2 assets, not 1"
            ),
            (
                "momentum", ["lookbackPeriod": .number(5)], ["stopLoss": .number(2)],
                "field 'riskParameters.stopLoss': a fraction above 0 and at most 1"
            ),
            (
                "momentum", ["lookbackPeriod": .number(5)], ["trailingStop": .number(0.1)],
                "field 'riskParameters.trailingStop': not a risk parameter"
            ),
        ]
        for (type, config, risk, message) in cases {
            let error = #expect(throws: ServiceError.self) { try Self.strategy(type, config, risk: risk) }
            #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error?.message))")
        }
        let strategy = try Self.strategy(
            "mean_reversion", ["lookbackPeriod": .number(50), "zscoreThreshold": .number(2)])
        let short = #expect(throws: ServiceError.self) {
            try BacktestEngine(strategy: strategy, settings: BacktestSettings()).run([Self.series(Self.dip)])
        }
        #expect(short?.message.contains("15 bars") == true && short?.message.contains("needs more than 51") == true)
        var settings = BacktestSettings()
        settings.feesBps = -1
        #expect(throws: ServiceError(.invalidInput, "field 'feesBps': from 0 to 1000 basis points")) {
            try BacktestEngine(strategy: strategy, settings: settings)
        }
    }
}
