import Foundation
public import ScryptexCore
public import ScryptexMarketData

/// How a replay decides what filled (docs/MARKET_MAKING.md).
public struct FillModel: Sendable, Equatable, Codable {
    /// Our orders on one side take at most this share of a bar's volume (partial fills beyond).
    public var volumeShare: Double
    /// The maker fee in basis points of the notional (negative: a rebate).
    public var feeBasisPoints: ExactDecimal
    /// Whether a bar whose low (high) only touches our bid (ask) fills it; by default the bar must
    /// trade through the price.
    public var fillsAtTouch: Bool

    public init(volumeShare: Double = 0.1, feeBasisPoints: ExactDecimal = .zero, fillsAtTouch: Bool = false) {
        self.volumeShare = volumeShare
        self.feeBasisPoints = feeBasisPoints
        self.fillsAtTouch = fillsAtTouch
    }

    enum CodingKeys: String, CodingKey { case volumeShare, feeBasisPoints, fillsAtTouch }

    /// Every field optional, the defaults above.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        volumeShare = try container.decodeIfPresent(Double.self, forKey: .volumeShare) ?? 0.1
        feeBasisPoints = try container.decodeIfPresent(ExactDecimal.self, forKey: .feeBasisPoints) ?? .zero
        fillsAtTouch = try container.decodeIfPresent(Bool.self, forKey: .fillsAtTouch) ?? false
    }

    public func validated(field: String = "fillModel") throws -> FillModel {
        guard volumeShare > 0 && volumeShare <= 1 else {
            throw ServiceError(.invalidInput, "field '\(field).volumeShare': above 0 and at most 1")
        }
        guard feeBasisPoints < ExactDecimal(1_000), ExactDecimal(-1_000) < feeBasisPoints else {
            throw ServiceError(.invalidInput, "field '\(field).feeBasisPoints': between −1000 and 1000")
        }
        return self
    }
}

/// What a replay of a strategy over bars did.
public struct SimulationReport: Sendable, Equatable, Codable {
    public struct Point: Sendable, Equatable, Codable {
        public var time: String
        public var pnl: Double
        public var inventory: Double
    }

    public var model: String
    public var bars: Int
    public var firstBar: String
    public var lastBar: String
    public var ordersPosted: Int
    /// Orders with at least a partial fill.
    public var ordersFilled: Int
    public var fillRate: Double
    public var fills: Int
    public var volume: ExactDecimal
    public var fees: ExactDecimal
    public var realisedPnL: ExactDecimal
    public var unrealisedPnL: ExactDecimal
    public var totalPnL: ExactDecimal
    public var spreadCaptured: ExactDecimal
    /// The largest fall of total P&L from its running peak (quote currency).
    public var maxDrawdown: Double
    /// mean / sample deviation of the per-bar P&L changes · √(bars a year).
    public var sharpeRatio: Double?
    public var finalInventory: ExactDecimal
    public var largestInventory: Double
    /// The share of bars quoted on both sides.
    public var timeInMarket: Double
    /// P&L and inventory at each bar's close, thinned to at most 2,000 points.
    public var path: [Point]
    public var conventions: [String: String]
}

/// Replays bars: before each bar the strategy quotes from the previous close (the volatility
/// estimate fed with every close so far); during the bar, a bid fills when the bar's low goes
/// below it and an ask when its high goes above it, at the quoted price, each side taking at
/// most `volumeShare` of the bar's volume (levels nearest the mid first); the fee is charged on
/// each fill; after the bar, inventory is marked to its close.
public enum MarketMakingSimulation {
    public static let pathPoints = 2_000

    public static func run(
        bars: BarSeries, market: Market, parameters: QuotingParameters, fillModel: FillModel = FillModel(),
        volatilityHalfLifeSeconds: Double = 3_600, volatilityWindow: Int = 100
    ) throws -> SimulationReport {
        guard bars.count >= 3 else {
            throw ServiceError(.invalidInput, "a simulation needs at least 3 bars; the data has \(bars.count)")
        }
        guard bars.close.allSatisfy({ $0 > 0 && $0 <= 1e12 }), bars.volume.allSatisfy({ $0 >= 0 && $0 <= 1e15 }) else {
            throw ServiceError(
                .invalidInput, "the bars have a close outside (0, 10^12] or a volume outside [0, 10^15]: not replayed")
        }
        var estimator = VolatilityEstimator(halfLifeSeconds: volatilityHalfLifeSeconds, window: volatilityWindow)
        var book = PositionBook()
        var posted = 0
        var filled = 0
        var bothSides = 0
        var pnl = [Double](repeating: 0, count: bars.count)
        var inventory = [Double](repeating: 0, count: bars.count)
        let lot = market.lotSize
        let tenThousand = ExactDecimal(10_000)
        estimator.update(mid: bars.close[0], at: Double(bars.times[0]))
        for t in 1..<bars.count {
            let mid = bars.close[t - 1]
            let quote = try QuoteEngine.quote(
                market: market, parameters: parameters,
                state: MarketState(
                    mid: mid, inventory: book.position.doubleValue,
                    estimatedVolatility: parameters.volatilityEstimate == .ewma ? estimator.ewma : estimator.realised,
                    time: Double(bars.times[t])))
            posted += quote.bids.count + quote.asks.count
            if !quote.bids.isEmpty && !quote.asks.isEmpty { bothSides += 1 }
            let midDecimal = ExactDecimal(significand: Int128((mid * 1e8).rounded()), scale: 8)
            for (side, levels) in [(Fill.Side.buy, quote.bids), (Fill.Side.sell, quote.asks)] {
                var capacity = Int64(
                    min(1e15, fillModel.volumeShare * bars.volume[t] / lot.doubleValue + 1e-9).rounded(.down))
                for level in levels where capacity > 0 {
                    let price = level.price.doubleValue
                    let reached =
                        side == .buy
                        ? (fillModel.fillsAtTouch ? bars.low[t] <= price : bars.low[t] < price)
                        : (fillModel.fillsAtTouch ? bars.high[t] >= price : bars.high[t] > price)
                    guard reached, let wanted = market.lots(in: level.quantity) else { continue }
                    let lots = min(wanted, capacity)
                    capacity -= lots
                    let quantity = market.quantity(lots: lots)
                    let fee =
                        (level.price * quantity * fillModel.feeBasisPoints).divided(by: tenThousand, scale: 10) ?? .zero
                    try book.apply(
                        Fill(
                            id: "\(t)-\(side.rawValue)-\(level.level)", market: market.key, side: side,
                            price: level.price,
                            quantity: quantity, fee: fee, mid: midDecimal, time: Double(bars.times[t])))
                    filled += 1
                }
            }
            estimator.update(mid: bars.close[t], at: Double(bars.times[t]))
            let close = ExactDecimal(significand: Int128((bars.close[t] * 1e8).rounded()), scale: 8)
            pnl[t] = book.realised.doubleValue + (book.unrealised(at: close)?.doubleValue ?? .nan)
            inventory[t] = book.position.doubleValue
        }
        let lastClose = ExactDecimal(significand: Int128((bars.close[bars.count - 1] * 1e8).rounded()), scale: 8)
        var peak = 0.0
        var drawdown = 0.0
        for value in pnl {
            peak = max(peak, value)
            drawdown = max(drawdown, peak - value)
        }
        let changes = (1..<pnl.count).map { pnl[$0] - pnl[$0 - 1] }
        let mean = changes.reduce(0, +) / Double(changes.count)
        let deviation =
            (changes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, changes.count - 1))).squareRoot()
        let step = max(1, (bars.count + pathPoints - 1) / pathPoints)
        let path = stride(from: 0, to: bars.count, by: step).map {
            SimulationReport.Point(time: MarketTime.rfc3339(bars.times[$0]), pnl: pnl[$0], inventory: inventory[$0])
        }
        guard let unrealised = book.unrealised(at: lastClose) else {
            throw ServiceError(.invalidInput, "the replay's inventory cannot be marked in exact arithmetic")
        }
        return SimulationReport(
            model: parameters.model.name, bars: bars.count, firstBar: MarketTime.rfc3339(bars.times[0]),
            lastBar: MarketTime.rfc3339(bars.times[bars.count - 1]), ordersPosted: posted, ordersFilled: filled,
            fillRate: posted > 0 ? Double(filled) / Double(posted) : 0, fills: book.fills, volume: book.volume,
            fees: book.fees, realisedPnL: book.realised, unrealisedPnL: unrealised,
            totalPnL: book.realised + unrealised, spreadCaptured: book.spreadCaptured, maxDrawdown: drawdown,
            sharpeRatio: deviation > 0 ? mean / deviation * bars.timeframe.barsPerYear.squareRoot() : nil,
            finalInventory: book.position, largestInventory: inventory.map(abs).max() ?? 0,
            timeInMarket: Double(bothSides) / Double(bars.count - 1), path: path,
            conventions: [
                "quotes":
                    "made before each bar from the previous close; volatility (price units per √second) from the closes so far",
                "fills":
                    "a bid fills when the bar's low goes below it (an ask: its high above it)\(fillModel.fillsAtTouch ? " or touches it" : ""), at the quoted price; each side takes at most \(fillModel.volumeShare) of the bar's volume, nearest level first",
                "fees": "\(fillModel.feeBasisPoints) bps of each fill's notional",
                "pnl": "realised (average cost, fees included) plus inventory marked to each close",
            ])
    }
}
