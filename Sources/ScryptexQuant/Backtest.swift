import Foundation
import ScryptexCore
public import ScryptexMarketData

/// How a backtest trades. The defaults are those of the common open-source backtesters, so
/// results compare with theirs: a signal computed on bar t's close fills at bar t+1's open; an
/// entry buys as many whole units as the cash buys at the fill price; no fees or slippage; long
/// only.
public struct BacktestSettings: Sendable, Equatable, Codable {
    public enum Units: String, Sendable, Codable { case whole, fractional }
    public enum Fill: String, Sendable, Codable {
        /// At the next bar's open.
        case nextOpen = "next_open"
        /// At the signal bar's close.
        case close
    }

    public enum Sizing: String, Sendable, Codable {
        /// All the cash (capped by `maxPositionSize`).
        case allCash = "all_cash"
        /// `fraction` of equity.
        case fixedFraction = "fixed_fraction"
        /// Equity × targetVolatility / the asset's annualised volatility over `sizingLookback`.
        case volatilityTarget = "volatility_target"
        /// The Kelly fraction μ/σ² of the returns over `sizingLookback`, capped at `kellyCap`.
        case kelly
    }

    public var initialCapital = 1_000_000.0
    /// Bars opening in [start, end) (seconds since 1970); nil: all.
    public var start: Int64?
    public var end: Int64?
    public var feesBps = 0.0
    public var slippageBps = 0.0
    public var sizing = Sizing.allCash
    public var fraction = 1.0
    public var targetVolatility = 0.2
    public var kellyCap = 0.5
    public var sizingLookback = 20
    public var allowShort = false
    public var units = Units.whole
    public var fill = Fill.nextOpen
    /// The annual risk-free rate (Sharpe and Sortino use its per-bar share).
    public var riskFreeRate = 0.0
    /// The tail probability of VaR and expected shortfall.
    public var alpha = 0.05

    public init() {}

    /// Checks the values, naming the first that is out of range.
    public func validated() throws -> BacktestSettings {
        func require(_ condition: Bool, _ field: String, _ rule: String) throws {
            guard condition else { throw ServiceError(.invalidInput, "field '\(field)': \(rule)") }
        }
        try require(initialCapital > 0 && initialCapital <= 1e15, "initialCapital", "above 0 and at most 10^15")
        try require((0...1_000).contains(feesBps), "feesBps", "from 0 to 1000 basis points")
        try require((0...1_000).contains(slippageBps), "slippageBps", "from 0 to 1000 basis points")
        try require(fraction > 0 && fraction <= 1, "fraction", "above 0 and at most 1")
        try require(targetVolatility > 0 && targetVolatility <= 10, "targetVolatility", "above 0 and at most 10")
        try require(kellyCap > 0 && kellyCap <= 1, "kellyCap", "above 0 and at most 1")
        try require((2...10_000).contains(sizingLookback), "sizingLookback", "from 2 to 10,000 bars")
        try require(abs(riskFreeRate) <= 1, "riskFreeRate", "an annual rate from -1 to 1")
        try require(alpha > 0 && alpha < 0.5, "alpha", "a tail probability above 0 and below 0.5")
        if let start, let end { try require(start < end, "end", "after start") }
        return self
    }

    /// The conventions a result states.
    public func conventions(timeframe: Timeframe) -> [String: String] {
        [
            "fill": fill == .nextOpen
                ? "a signal computed on bar t's close fills at bar t+1's open" : "a signal fills at its bar's close",
            "sizing": {
                switch sizing {
                case .allCash: "as many \(units.rawValue) units as the cash buys at the fill price"
                case .fixedFraction: "\(fraction) of equity, \(units.rawValue) units"
                case .volatilityTarget:
                    "equity × \(targetVolatility) / annualised volatility over \(sizingLookback) bars, \(units.rawValue) units"
                case .kelly:
                    "Kelly fraction μ/σ² over \(sizingLookback) bars, capped at \(kellyCap), \(units.rawValue) units"
                }
            }(),
            "costs": "fees \(feesBps) bps of each fill's notional, slippage \(slippageBps) bps against the trade",
            "shorting": allowShort ? "long and short" : "long only",
            "stops":
                "stop-loss and take-profit intrabar at the level, or at the open when it gaps through; the stop first when both are touched",
            "endOfData": "an open position is valued at the last close and listed with open: true",
            "metrics":
                "empyrical's definitions on per-bar simple returns of equity at each close (docs/QUANT.md), N = \(Int(timeframe.barsPerYear)) bars a year; trade statistics over closed trades",
        ]
    }
}

/// One round trip.
public struct BacktestTrade: Sendable, Codable, Equatable {
    public var direction: String
    public var entryTime: String
    public var entryPrice: Double
    public var exitTime: String?
    public var exitPrice: Double?
    /// Units of the first asset (the second asset's, for pairs, in `hedgeUnits`).
    public var units: Double
    public var hedgeUnits: Double?
    /// After fees and slippage.
    public var profit: Double
    /// Profit over the cost of entry.
    public var returnFraction: Double
    public var exitReason: String?
    public var open: Bool
}

public struct EquityPoint: Sendable, Codable, Equatable {
    public var time: String
    public var equity: Double
    public var drawdown: Double
}

public struct BacktestMetrics: Sendable, Codable, Equatable {
    public var returns: ReturnStatistics
    public var trades: TradeStatistics
    /// The share of bars that closed holding a position.
    public var exposure: Double
}

public struct BacktestResult: Sendable, Codable, Equatable {
    public var conventions: [String: String]
    public var bars: Int
    public var firstBar: String
    public var lastBar: String
    public var initialCapital: Double
    public var finalEquity: Double
    public var metrics: BacktestMetrics
    public var trades: [BacktestTrade]
    /// The equity at each bar's close, thinned to at most `equityPoints` points (the first, the
    /// last and the deepest drawdown always kept).
    public var equityCurve: [EquityPoint]
    /// Each calendar month's return of the strategy's equity beside buy-and-hold of its first
    /// asset over the same bars: the inputs of attribution by strategy. Absent from results
    /// computed before it was recorded.
    public var monthlyReturns: [MonthlyReturn]?
    public var circuitBreakerTripped: String?
}

public struct MonthlyReturn: Sendable, Codable, Equatable {
    /// `YYYY-MM`, UTC.
    public var month: String
    /// From the equity at the previous month's last close (the initial capital, for the first
    /// month) to the month's last close.
    public var strategy: Double
    /// Holding the strategy's first asset: from the previous month's last close (the first bar's
    /// open, for the first month) to the month's last close.
    public var asset: Double

    public init(month: String, strategy: Double, asset: Double) {
        self.month = month
        self.strategy = strategy
        self.asset = asset
    }
}

/// Runs a strategy over bars. Pure computation: the caller loads the bars and stores the result.
public struct BacktestEngine: Sendable {
    public static let equityPoints = 2_000

    public let strategy: StrategyParameters
    public let settings: BacktestSettings

    public init(strategy: StrategyParameters, settings: BacktestSettings) throws {
        self.strategy = strategy
        self.settings = try settings.validated()
    }

    /// - Parameters:
    ///   - series: One series per asset of the strategy, on the same timeframe (pairs: aligned
    ///     on the times both have).
    ///   - progress: Called with the share done (0–1) every 1 % or so.
    ///   - signal: For `ml_signal`: the model's probability that the bar after each bar rises,
    ///     one per bar (NaN where it has none).
    public func run(
        _ series: [BarSeries], signal: [Double]? = nil, progress: (Double) -> Void = { _ in }
    ) throws -> BacktestResult {
        try simulate(series, signal: signal, progress: progress).result()
    }

    /// The simulation itself: the book after the last bar.
    func simulate(
        _ series: [BarSeries], signal: [Double]? = nil, progress: (Double) -> Void = { _ in }
    ) throws -> Book {
        guard series.count == strategy.assets.count else {
            throw ServiceError(
                .invalidInput, "the strategy trades \(strategy.assets.count) assets; \(series.count) series given")
        }
        let legs = series.count == 2 ? Self.aligned(series[0], series[1]) : series
        let bars = legs[0]
        guard bars.count > strategy.warmUp + 1 else {
            throw ServiceError(
                .invalidInput,
                "the data has \(bars.count) bars of \(strategy.assets.joined(separator: "/")) in the period; \(strategy.type.rawValue) needs more than \(strategy.warmUp + 1) (its lookback and one to trade)"
            )
        }
        if strategy.type == .mlSignal {
            guard let signal, signal.count == bars.count else {
                throw ServiceError(
                    .invalidInput,
                    "ml_signal needs the model's predictions for each of the \(bars.count) bars; \(signal?.count ?? 0) given"
                )
            }
        }
        let signals = Signals(strategy: strategy, legs: legs, external: signal ?? [])
        var book = Book(settings: settings, strategy: strategy, legs: legs, hedge: signals.hedge)
        let step = max(1, bars.count / 100)
        for index in 0..<bars.count {
            book.openBar(index)
            book.closeBar(index, wanted: signals.target(at: index, holding: book.direction))
            if index % step == 0 { progress(Double(index) / Double(bars.count)) }
        }
        return book
    }

    /// The two series on the times both have.
    static func aligned(_ first: BarSeries, _ second: BarSeries) -> [BarSeries] {
        var a = BarSeries(symbol: first.symbol, timeframe: first.timeframe)
        var b = BarSeries(symbol: second.symbol, timeframe: second.timeframe)
        var i = 0
        var j = 0
        while i < first.count && j < second.count {
            if first.times[i] == second.times[j] {
                a.append(first[i])
                b.append(second[j])
                i += 1
                j += 1
            } else if first.times[i] < second.times[j] {
                i += 1
            } else {
                j += 1
            }
        }
        return [a, b]
    }
}

/// The strategy's indicators, computed once over the whole series, and its entry and exit rules.
struct Signals {
    let strategy: StrategyParameters
    let primary: [Double]
    let secondary: [Double]
    let close: [Double]
    let hedge: [Double]

    init(strategy: StrategyParameters, legs: [BarSeries], external: [Double] = []) {
        self.strategy = strategy
        close = legs[0].close
        switch strategy.type {
        case .mlSignal:
            primary = external
            secondary = []
            hedge = []
        case .meanReversion:
            primary = RollingStatistics.zScore(legs[0].close, window: strategy.lookbackPeriod)
            secondary = []
            hedge = []
        case .momentum:
            primary = RollingStatistics.change(legs[0].close, over: strategy.lookbackPeriod)
            secondary = []
            hedge = []
        case .maCrossover:
            primary = RollingStatistics.mean(legs[0].close, window: strategy.fastPeriod)
            secondary = RollingStatistics.mean(legs[0].close, window: strategy.slowPeriod)
            hedge = []
        case .breakout:
            primary = RollingStatistics.priorMaximum(legs[0].high, window: strategy.lookbackPeriod)
            secondary = RollingStatistics.priorMinimum(legs[0].low, window: strategy.exitPeriod)
            hedge = []
        case .pairs:
            let pair = Self.pairStatistics(
                legs[0].close.map { log($0) }, legs[1].close.map { log($0) }, window: strategy.lookbackPeriod,
                hedgeRatio: strategy.hedgeRatio)
            primary = pair.zScores
            secondary = []
            hedge = pair.betas
        }
    }

    /// The position wanted after bar `index` closes, given the one held (−1, 0, 1); nil: no
    /// opinion (not enough data).
    func target(at index: Int, holding: Int) -> Int? {
        // A wish to go short is always expressed; the book turns it into flat when shorting is off.
        switch strategy.type {
        case .mlSignal:
            let probability = primary[index]
            guard !probability.isNaN else { return nil }
            switch holding {
            case 1: return probability < strategy.exitThreshold ? 0 : 1
            case -1: return probability > 1 - strategy.exitThreshold ? 0 : -1
            default:
                if probability >= strategy.entryThreshold { return 1 }
                if probability <= 1 - strategy.entryThreshold { return -1 }
                return 0
            }
        case .meanReversion, .pairs:
            let z = primary[index]
            guard !z.isNaN else { return nil }
            switch holding {
            case 1: return z > strategy.exitZscore ? 0 : 1
            case -1: return z < -strategy.exitZscore ? 0 : -1
            default:
                if z < -strategy.zscoreThreshold { return 1 }
                if z > strategy.zscoreThreshold { return -1 }
                return 0
            }
        case .momentum:
            let change = primary[index]
            guard !change.isNaN else { return nil }
            switch holding {
            case 1: return change < strategy.exitThreshold ? 0 : 1
            case -1: return change > -strategy.exitThreshold ? 0 : -1
            default:
                if change > strategy.entryThreshold { return 1 }
                if change < -strategy.entryThreshold { return -1 }
                return 0
            }
        case .maCrossover:
            let fast = primary[index]
            let slow = secondary[index]
            guard !fast.isNaN, !slow.isNaN else { return nil }
            return fast > slow ? 1 : fast < slow ? -1 : holding
        case .breakout:
            let upper = primary[index]
            let lower = secondary[index]
            guard !upper.isNaN, !lower.isNaN else { return nil }
            switch holding {
            case 1: return close[index] < lower ? 0 : 1
            case -1: return close[index] > upper ? 0 : -1
            default:
                if close[index] > upper { return 1 }
                if close[index] < lower { return -1 }
                return 0
            }
        }
    }

    /// For each bar t from the window's end on: β_t, by least squares of ln A on ln B over the n
    /// bars ending at t (or the fixed `hedgeRatio`), and the z-score of today's spread
    /// ln A − β_t·ln B against the window's spreads, all priced with today's β (so a changing β
    /// does not read as a move of the spread). One pass over each window, with centred sums:
    /// the spread's sample variance is (Saa − 2β·Sab + β²·Sbb) / (n − 1).
    static func pairStatistics(
        _ a: [Double], _ b: [Double], window n: Int, hedgeRatio: Double?
    ) -> (
        betas: [Double], zScores: [Double]
    ) {
        var betas = [Double](repeating: hedgeRatio ?? .nan, count: a.count)
        var zScores = [Double](repeating: .nan, count: a.count)
        guard a.count >= n, n >= 2 else { return (betas, zScores) }
        for index in (n - 1)..<a.count {
            var meanA = 0.0
            var meanB = 0.0
            for k in (index - n + 1)...index {
                meanA += a[k]
                meanB += b[k]
            }
            meanA /= Double(n)
            meanB /= Double(n)
            var sumAA = 0.0
            var sumAB = 0.0
            var sumBB = 0.0
            for k in (index - n + 1)...index {
                let x = a[k] - meanA
                let y = b[k] - meanB
                sumAA += x * x
                sumAB += x * y
                sumBB += y * y
            }
            let beta = hedgeRatio ?? (sumBB > 0 ? sumAB / sumBB : .nan)
            betas[index] = beta
            guard !beta.isNaN else { continue }
            let variance = max(0, sumAA - 2 * beta * sumAB + beta * beta * sumBB) / Double(n - 1)
            let deviation = variance.squareRoot()
            let today = (a[index] - meanA) - beta * (b[index] - meanB)
            zScores[index] = deviation > 0 ? today / deviation : .nan
        }
        return (betas, zScores)
    }
}
