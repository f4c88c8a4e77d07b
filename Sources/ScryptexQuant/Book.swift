import Foundation
import ScryptexMarketData

/// The simulated account of a backtest: cash, the position (one leg per asset), pending orders,
/// stops, the circuit breaker, the trades and the equity at each close.
struct Book {
    let settings: BacktestSettings
    let strategy: StrategyParameters
    let legs: [BarSeries]
    let hedge: [Double]
    let fee: Double
    let slippage: Double
    var cash: Double
    var units: [Double]
    var direction = 0
    var pending: (target: Int, reason: String)?
    var halted: String?
    var entry: (index: Int, prices: [Double], units: [Double], cashBefore: Double, notional: Double)?
    var trades: [BacktestTrade] = []
    var equity: [Double] = []
    var peak: Double
    var exposedBars = 0

    init(settings: BacktestSettings, strategy: StrategyParameters, legs: [BarSeries], hedge: [Double] = []) {
        self.settings = settings
        self.strategy = strategy
        self.legs = legs
        self.hedge = hedge
        fee = settings.feesBps / 10_000
        slippage = settings.slippageBps / 10_000
        cash = settings.initialCapital
        units = [Double](repeating: 0, count: legs.count)
        peak = settings.initialCapital
        equity.reserveCapacity(legs[0].count)
    }

    /// The bar opens: a pending order fills at the open, then stops are watched through the bar.
    mutating func openBar(_ index: Int) {
        if let order = pending {
            pending = nil
            trade(to: order.target, at: index, prices: legs.map { $0.open[index] }, reason: order.reason)
        }
        guard direction != 0, legs.count == 1, let entry else { return }
        let bar = legs[0][index]
        let entryPrice = entry.prices[0]
        if direction == 1 {
            if let stop = strategy.risk.stopLoss, bar.low <= entryPrice * (1 - stop) {
                trade(to: 0, at: index, prices: [min(bar.open, entryPrice * (1 - stop))], reason: "stop_loss")
            } else if let take = strategy.risk.takeProfit, bar.high >= entryPrice * (1 + take) {
                trade(to: 0, at: index, prices: [max(bar.open, entryPrice * (1 + take))], reason: "take_profit")
            }
        } else {
            if let stop = strategy.risk.stopLoss, bar.high >= entryPrice * (1 + stop) {
                trade(to: 0, at: index, prices: [max(bar.open, entryPrice * (1 + stop))], reason: "stop_loss")
            } else if let take = strategy.risk.takeProfit, take < 1, bar.low <= entryPrice * (1 - take) {
                trade(to: 0, at: index, prices: [min(bar.open, entryPrice * (1 - take))], reason: "take_profit")
            }
        }
    }

    /// The bar closes: equity is marked, the circuit breaker checked, and the strategy's wish for
    /// the next position becomes an order.
    /// - Parameter wanted: The strategy's wish given the position held after the open (nil: no
    ///   opinion yet).
    mutating func closeBar(_ index: Int, wanted: Int?) {
        let value = markToMarket(index)
        peak = max(peak, value)
        if halted == nil, let limit = strategy.risk.maxDrawdown, (peak - value) / peak >= limit {
            halted =
                "equity fell \(limit) from its peak at \(MarketDataImporter.rfc3339(legs[0].times[index])); no position since"
            if direction != 0 { order(0, reason: "circuit_breaker", at: index) }
        } else if halted == nil, let wanted {
            let allowed = wanted == -1 && !settings.allowShort ? 0 : wanted
            if allowed != direction { order(allowed, reason: "signal", at: index) }
        }
        equity.append(markToMarket(index))
        if direction != 0 { exposedBars += 1 }
    }

    mutating func order(_ target: Int, reason: String, at index: Int) {
        if settings.fill == .close {
            trade(to: target, at: index, prices: legs.map { $0.close[index] }, reason: reason)
        } else {
            pending = (target, reason)
        }
    }

    func markToMarket(_ index: Int) -> Double {
        var value = cash
        for leg in legs.indices where units[leg] != 0 { value += units[leg] * legs[leg].close[index] }
        return value
    }

    /// Closes the position at `prices` (before slippage) and opens `target`'s.
    mutating func trade(to target: Int, at index: Int, prices: [Double], reason: String) {
        if direction != 0, let open = entry {
            var notional = 0.0
            var fills: [Double] = []
            for leg in legs.indices {
                let held = units[leg]
                let fill = prices[leg] * (1 - slippage * (held > 0 ? 1 : -1))
                fills.append(fill)
                cash += held * fill - abs(held * fill) * fee
                notional += abs(held * fill)
                units[leg] = 0
            }
            let profit = cash - open.cashBefore
            trades.append(
                BacktestTrade(
                    direction: direction == 1 ? "long" : "short",
                    entryTime: MarketDataImporter.rfc3339(legs[0].times[open.index]), entryPrice: open.prices[0],
                    exitTime: MarketDataImporter.rfc3339(legs[0].times[index]), exitPrice: fills[0],
                    units: open.units[0], hedgeUnits: legs.count > 1 ? open.units[1] : nil, profit: profit,
                    returnFraction: profit / open.notional, exitReason: reason, open: false))
            direction = 0
            entry = nil
        }
        guard target != 0, halted == nil || reason == "circuit_breaker" && target == 0 else { return }
        let signalIndex = settings.fill == .close ? index : max(0, index - 1)
        let share = fraction(at: signalIndex, direction: target)
        guard share > 0 else { return }
        let budget = share * cash
        var wanted: [Double]
        var fills: [Double] = []
        for leg in legs.indices {
            fills.append(
                prices[leg] * (1 + slippage * Double(leg == 0 ? target : -target * Self.sign(hedgeAt(signalIndex)))))
        }
        if legs.count == 1 {
            wanted = [Double(target) * budget / (fills[0] * (1 + fee))]
        } else {
            let beta = hedgeAt(signalIndex)
            guard beta.isFinite else { return }
            let valueA = budget / (1 + abs(beta)) / (1 + fee)
            wanted = [Double(target) * valueA / fills[0], -Double(target) * beta * valueA / fills[1]]
        }
        if settings.units == .whole { wanted = wanted.map { $0 < 0 ? -(-$0).rounded(.down) : $0.rounded(.down) } }
        guard wanted[0] != 0 else { return }
        let before = cash
        var notional = 0.0
        for leg in legs.indices {
            cash -= wanted[leg] * fills[leg] + abs(wanted[leg] * fills[leg]) * fee
            notional += abs(wanted[leg] * fills[leg])
            units[leg] = wanted[leg]
        }
        direction = target
        entry = (index, fills, wanted, before, notional)
    }

    func hedgeAt(_ index: Int) -> Double { hedge.isEmpty ? 0 : hedge[index] }

    static func sign(_ value: Double) -> Int { value < 0 ? -1 : 1 }

    /// The share of equity the next position takes, from the sizing rule and maxPositionSize.
    func fraction(at index: Int, direction: Int) -> Double {
        let cap = strategy.risk.maxPositionSize
        switch settings.sizing {
        case .allCash: return cap
        case .fixedFraction: return min(settings.fraction, cap)
        case .volatilityTarget, .kelly:
            let n = settings.sizingLookback
            guard index >= n else { return 0 }
            let close = legs[0].close
            let returns = ((index - n + 1)...index).map { close[$0] / close[$0 - 1] - 1 }
            let (mean, deviation) = ReturnStatistics.meanAndDeviation(returns)
            guard deviation > 0 else { return 0 }
            if settings.sizing == .volatilityTarget {
                return min(cap, settings.targetVolatility / (deviation * legs[0].timeframe.barsPerYear.squareRoot()))
            }
            let kelly = Double(direction) * mean / (deviation * deviation)
            return min(max(kelly, 0), min(settings.kellyCap, cap))
        }
    }

    /// The simple returns of equity from close to close, from bar `start` on (the first from the
    /// equity before it, or the initial capital).
    func returns(from start: Int = 0) -> [Double] {
        guard start < equity.count else { return [] }
        var returns = [Double](repeating: 0, count: equity.count - start)
        var previous = start == 0 ? settings.initialCapital : equity[start - 1]
        for index in start..<equity.count {
            returns[index - start] = equity[index] / previous - 1
            previous = equity[index]
        }
        return returns
    }

    func result() -> BacktestResult {
        let bars = legs[0]
        let returns = returns()
        let perYear = bars.timeframe.barsPerYear
        let riskFree = pow(1 + settings.riskFreeRate, 1 / perYear) - 1
        var allTrades = trades
        if direction != 0, let open = entry {
            let profit = (equity.last ?? cash) - open.cashBefore
            allTrades.append(
                BacktestTrade(
                    direction: direction == 1 ? "long" : "short",
                    entryTime: MarketDataImporter.rfc3339(bars.times[open.index]), entryPrice: open.prices[0],
                    exitTime: nil, exitPrice: nil, units: open.units[0],
                    hedgeUnits: legs.count > 1 ? open.units[1] : nil, profit: profit,
                    returnFraction: profit / open.notional, exitReason: nil, open: true))
        }
        let closed = trades
        return BacktestResult(
            conventions: settings.conventions(timeframe: bars.timeframe), bars: bars.count,
            firstBar: MarketDataImporter.rfc3339(bars.times[0]),
            lastBar: MarketDataImporter.rfc3339(bars.times[bars.count - 1]), initialCapital: settings.initialCapital,
            finalEquity: equity.last ?? settings.initialCapital,
            metrics: BacktestMetrics(
                returns: ReturnStatistics(
                    returns: returns, periodsPerYear: perYear, riskFree: riskFree, alpha: settings.alpha),
                trades: TradeStatistics(profits: closed.map(\.profit), returns: closed.map(\.returnFraction)),
                exposure: Double(exposedBars) / Double(max(1, equity.count))),
            trades: allTrades, equityCurve: thinnedCurve(), monthlyReturns: monthlyReturns(),
            circuitBreakerTripped: halted)
    }

    func monthlyReturns() -> [MonthlyReturn] {
        let bars = legs[0]
        let times = Array(bars.times.prefix(equity.count))
        let strategy = PeriodReturns.monthly(times: times, values: equity, base: settings.initialCapital)
        let asset = PeriodReturns.monthly(
            times: times, values: Array(bars.close.prefix(equity.count)), base: bars.count > 0 ? bars.open[0] : nil)
        return zip(strategy, asset).map { MonthlyReturn(month: $0.label, strategy: $0.return, asset: $1.return) }
    }

    /// At most `BacktestEngine.equityPoints` points: evenly spaced, with the first, the last and
    /// the deepest drawdown.
    func thinnedCurve() -> [EquityPoint] {
        let count = equity.count
        var running = settings.initialCapital
        var drawdowns = [Double](repeating: 0, count: count)
        var deepest = 0
        for index in 0..<count {
            running = max(running, equity[index])
            drawdowns[index] = equity[index] / running - 1
            if drawdowns[index] < drawdowns[deepest] { deepest = index }
        }
        var chosen: [Int]
        if count <= BacktestEngine.equityPoints {
            chosen = Array(0..<count)
        } else {
            let step = Double(count - 1) / Double(BacktestEngine.equityPoints - 2)
            chosen = (0..<(BacktestEngine.equityPoints - 1)).map { Int((Double($0) * step).rounded()) }
            chosen.append(deepest)
            chosen = Array(Set(chosen + [count - 1])).sorted()
        }
        return chosen.map {
            EquityPoint(
                time: MarketDataImporter.rfc3339(legs[0].times[$0]), equity: equity[$0], drawdown: drawdowns[$0])
        }
    }
}
