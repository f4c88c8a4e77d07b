import Foundation
import ScryptexCore
import ScryptexMarketData
import ScryptexQuant

/// Backtest speed: the z-score mean-reversion strategy (lookback 20, threshold 2) over `bars`
/// synthetic hourly bars, metrics included, timed `rounds` times in this process. Writes the bars
/// as CSV (`--csv PATH`) so a Python backtester can run the same data.
enum QuantBench {
    static func run(bars count: Int, rounds: Int, csvPath: String?) throws {
        var market = SyntheticMarket()
        market.timeframe = .oneHour
        market.bars = count
        market.seed = 42
        let series = try market.generate()
        if let csvPath {
            var text = "time,open,high,low,close,volume\n"
            text.reserveCapacity(count * 80)
            for index in 0..<series.count {
                let bar = series[index]
                text += "\(bar.time),\(bar.open),\(bar.high),\(bar.low),\(bar.close),\(bar.volume)\n"
            }
            try text.write(toFile: csvPath, atomically: true, encoding: .utf8)
        }
        let strategy = try StrategyParameters(
            type: "mean_reversion",
            config: [
                "lookbackPeriod": .number(20), "zscoreThreshold": .number(2), "assets": .list(["SYN-USD"]),
                "timeframe": .text("1h"),
            ],
            riskParameters: [:])
        var settings = BacktestSettings()
        settings.units = .fractional
        let engine = try BacktestEngine(strategy: strategy, settings: settings)
        var times: [Double] = []
        var result: BacktestResult?
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            let start = clock.now
            result = try engine.run([series])
            times.append((clock.now - start).secondsValue * 1000)
        }
        times.sort()
        guard let result else { return }
        print(
            "| Scryptex (Swift, release) | \(count) | \(String(format: "%.1f", times[0])) | \(String(format: "%.1f", times[times.count / 2])) | \(result.trades.count) trades, final equity \(String(format: "%.2f", result.finalEquity)), Sharpe \(String(format: "%.4f", result.metrics.returns.sharpeRatio ?? 0)) |"
        )
    }
}
