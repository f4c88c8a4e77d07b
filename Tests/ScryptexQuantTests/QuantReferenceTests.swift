import Foundation
import ScryptexCore
import ScryptexMarketData
import ScryptexTestSupport
import Testing

@testable import ScryptexQuant

/// The seed's strategy on the real ETH file, against backtesting.py and empyrical: the figures
/// below are what `Fixtures/reference_backtest.py` prints (the libraries run in a throw-away
/// environment, never a dependency).
@Suite("Backtests against the reference libraries")
struct QuantReferenceTests {
    static func series(_ file: String, symbol: String) throws -> BarSeries {
        var reader = CSVBarReader()
        var splitter = LineSplitter()
        var bars: [Bar] = []
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: SharedData.path("market/" + file))))
        var lines = splitter.lines(in: bytes)
        if let last = splitter.finish() { lines.append(last) }
        for line in lines {
            if case .bar(let bar) = try reader.read(line.text, number: line.number) { bars.append(bar) }
        }
        return BarSeries(symbol: symbol, timeframe: .oneDay, bars: bars.sorted { $0.time < $1.time })
    }

    static let seedStrategy = try! StrategyParameters(
        type: "mean_reversion",
        config: [
            "lookbackPeriod": .number(20), "zscoreThreshold": .number(2), "exitZscore": .number(0),
            "assets": .list(["ETH-USD"]),
        ],
        riskParameters: ["maxPositionSize": .number(1.0), "stopLoss": .number(1.0), "maxDrawdown": .number(1.0)])

    static func close(_ value: Double?, _ expected: Double, relative: Double = 1e-9) -> Bool {
        guard let value else { return false }
        return abs(value - expected) <= relative * max(1, abs(expected))
    }

    @Test func theSeedStrategyMatchesBacktestingPyAndEmpyrical() throws {
        var settings = BacktestSettings()
        // backtesting.py's largest fraction of cash, as the reference ran it.
        settings.sizing = .fixedFraction
        settings.fraction = 0.9999
        let result = try BacktestEngine(strategy: Self.seedStrategy, settings: settings).run([
            try Self.series("eth-usd-daily.csv", symbol: "ETH-USD")
        ])
        #expect(Self.close(result.finalEquity, 774_881.3570140005, relative: 1e-12), "\(result.finalEquity)")
        let closed = result.trades.filter { !$0.open }
        #expect(closed.count == 30)
        let first = try #require(closed.first)
        #expect(first.entryTime == "2018-05-24T00:00:00Z" && first.entryPrice == 584.536011)
        #expect(first.exitTime == "2018-06-09T00:00:00Z" && first.exitPrice == 600.905029)
        #expect(first.units == 1710 && Self.close(first.profit, 27_991.02077999997))
        let metrics = result.metrics
        #expect(metrics.trades.winRate == 0.7)
        #expect(Self.close(metrics.returns.sharpeRatio, 0.15296660545939306))
        #expect(Self.close(metrics.returns.sortinoRatio, 0.22243779451738344))
        #expect(Self.close(metrics.returns.annualReturn, -0.0497034022399383))
        #expect(Self.close(metrics.returns.annualVolatility, 0.5084161157957019))
        #expect(Self.close(metrics.returns.maxDrawdown, -0.6973444059463386))
        #expect(Self.close(metrics.returns.calmarRatio, -0.07127525770065908))
        #expect(Self.close(metrics.returns.historicalVaR, -0.03600736418320519))
        #expect(Self.close(metrics.returns.historicalExpectedShortfall, -0.07109861343436454))
    }
}
