import Foundation
public import ScryptexCore

/// What a market looks like when a quote is made.
public struct MarketState: Sendable, Equatable {
    public var mid: Double
    /// The market's own best bid and ask, when known: a quote never crosses or locks them.
    public var bestBid: Double?
    public var bestAsk: Double?
    /// Inventory in base units (the strategy's position in this market, netted as configured).
    public var inventory: Double
    /// Estimated σ (price units per √second), nil before the first change.
    public var estimatedVolatility: Double?
    /// κ estimated from trades, used when the model has none configured.
    public var estimatedKappa: Double?
    /// Seconds since 1970.
    public var time: Double

    public init(
        mid: Double, bestBid: Double? = nil, bestAsk: Double? = nil, inventory: Double,
        estimatedVolatility: Double?, estimatedKappa: Double? = nil, time: Double
    ) {
        self.mid = mid
        self.bestBid = bestBid
        self.bestAsk = bestAsk
        self.inventory = inventory
        self.estimatedVolatility = estimatedVolatility
        self.estimatedKappa = estimatedKappa
        self.time = time
    }
}

/// One order of a quote.
public struct QuoteLevel: Sendable, Equatable, Codable {
    public var level: Int
    public var price: ExactDecimal
    public var quantity: ExactDecimal
}

/// A market's quote and every input and adjustment that produced it.
public struct MarketQuote: Sendable, Equatable, Codable {
    public var market: String
    public var model: String
    public var mid: Double
    public var reservationPrice: Double
    public var optimalSpread: Double
    /// q: inventory minus target, base units.
    public var inventory: Double
    public var volatility: Double
    public var gamma: Double?
    public var kappa: Double?
    public var tau: Double?
    /// The best bid and ask after tick rounding (nil: that side is not quoted).
    public var bid: ExactDecimal?
    public var ask: ExactDecimal?
    public var bids: [QuoteLevel]
    public var asks: [QuoteLevel]
    /// Why the quote differs from the model's raw prices and sizes, in order.
    public var reasons: [String]
}

/// Turns a model's prices into orders a venue accepts: spreads within bounds, the price band,
/// inventory limits, tick and lot rounding, minimum notional, and never a crossed or locked
/// quote (against itself or the market's touch).
public enum QuoteEngine {
    public static func quote(market: Market, parameters: QuotingParameters, state: MarketState) throws -> MarketQuote {
        guard state.mid > 0, state.mid <= 1e12 else {
            throw ServiceError(.invalidInput, "the mid price of \(market.key) must be above 0 and at most 10^12")
        }
        var reasons: [String] = []
        let q = state.inventory - parameters.inventoryTarget
        let sigma: Double
        if let fixed = parameters.volatility {
            sigma = fixed
        } else if let estimated = state.estimatedVolatility {
            sigma = estimated
        } else {
            sigma = 0
            reasons.append("no volatility estimate yet (no mid change seen): σ taken as 0")
        }
        var reservation = state.mid
        var spread: Double
        var gamma: Double?
        var kappa: Double?
        var tau: Double?
        // (level, distance below/above the reservation price, size) per side.
        var bidLevels: [(Double, Double)] = []
        var askLevels: [(Double, Double)] = []
        switch parameters.model {
        case .avellanedaStoikov(let model):
            let k: Double
            if let configured = model.kappa {
                k = configured
            } else if let estimated = state.estimatedKappa, estimated > 0 {
                k = estimated
                reasons.append("κ estimated from observed trades: \(format(estimated))")
            } else {
                throw ServiceError(
                    .conflict, "κ is not configured for \(market.key) and no trades have been seen to estimate it")
            }
            let t: Double
            switch model.horizon {
            case .infinite: t = model.horizonSeconds
            case .finite:
                let elapsed = state.time.truncatingRemainder(dividingBy: model.horizonSeconds)
                t = model.horizonSeconds - (elapsed < 0 ? elapsed + model.horizonSeconds : elapsed)
            }
            gamma = model.gamma
            kappa = k
            tau = t
            reservation = state.mid - q * model.gamma * sigma * sigma * t
            spread = model.gamma * sigma * sigma * t + (2 / model.gamma) * log(1 + model.gamma / k)
            var bidSize = parameters.orderSize
            var askSize = parameters.orderSize
            if model.eta > 0 && q > 0 {
                bidSize *= exp(-model.eta * q)
                reasons.append("bid size × e^(−η·q) = \(format(exp(-model.eta * q))) against a long inventory")
            } else if model.eta > 0 && q < 0 {
                askSize *= exp(model.eta * q)
                reasons.append("ask size × e^(η·q) = \(format(exp(model.eta * q))) against a short inventory")
            }
            spread = clamp(spread, parameters, &reasons)
            bidLevels = [(spread / 2, bidSize)]
            askLevels = [(spread / 2, askSize)]
        case .ladder(let ladder):
            switch ladder.spreadMode {
            case .fixed: spread = ladder.spread
            case .volatility: spread = ladder.volatilityMultiple * sigma * ladder.horizonSeconds.squareRoot()
            }
            spread = clamp(spread, parameters, &reasons)
            let w = min(1, max(-1, q / parameters.inventoryLimit))
            if ladder.inventorySkew > 0 && w != 0 {
                reasons.append(
                    "sizes skewed by inventory: bids × \(format(1 - ladder.inventorySkew * w)), asks × \(format(1 + ladder.inventorySkew * w))"
                )
            }
            for level in 0..<ladder.levels {
                let distance = spread / 2 + Double(level) * ladder.levelSpacing
                let size = parameters.orderSize + Double(level) * ladder.sizeIncrement
                bidLevels.append((distance, size * (1 - ladder.inventorySkew * w)))
                askLevels.append((distance, size * (1 + ladder.inventorySkew * w)))
            }
        }
        if q >= parameters.inventoryLimit {
            bidLevels = []
            reasons.append(
                "bids withdrawn: inventory \(format(q)) at or past its limit \(format(parameters.inventoryLimit))")
        }
        if q <= -parameters.inventoryLimit {
            askLevels = []
            reasons.append(
                "asks withdrawn: inventory \(format(q)) at or past its limit −\(format(parameters.inventoryLimit))")
        }

        // Onto the grid.
        let tick = market.tickSize.doubleValue
        let lot = market.lotSize.doubleValue
        var bids: [QuoteLevel] = []
        var asks: [QuoteLevel] = []
        var highestBid = Int64.min
        for (index, (distance, size)) in bidLevels.enumerated() {
            var price = reservation - distance
            if let ceiling = parameters.priceCeiling, price > ceiling {
                reasons.append("bid level \(index + 1) held at the ceiling \(format(ceiling)) (was \(format(price)))")
                price = ceiling
            }
            if let bestAsk = state.bestAsk, price >= bestAsk {
                price = bestAsk - tick
                reasons.append("bid level \(index + 1) kept one tick below the market's ask \(format(bestAsk))")
            }
            guard (price / tick).magnitude < 1e15 else { throw Self.outOfRange(market, "bid", price) }
            let ticks = Int64((price / tick + 1e-9).rounded(.down))
            guard ticks > 0 else {
                reasons.append("bid level \(index + 1) dropped: no positive price")
                continue
            }
            guard let order = order(market, ticks: ticks, size: size, lot: lot, side: "bid", index, &reasons) else {
                continue
            }
            bids.append(order)
            highestBid = max(highestBid, ticks)
        }
        for (index, (distance, size)) in askLevels.enumerated() {
            var price = reservation + distance
            if let floor = parameters.priceFloor, price < floor {
                reasons.append("ask level \(index + 1) held at the floor \(format(floor)) (was \(format(price)))")
                price = floor
            }
            if let bestBid = state.bestBid, price <= bestBid {
                price = bestBid + tick
                reasons.append("ask level \(index + 1) kept one tick above the market's bid \(format(bestBid))")
            }
            guard (price / tick).magnitude < 1e15 else { throw Self.outOfRange(market, "ask", price) }
            var ticks = Int64((price / tick - 1e-9).rounded(.up))
            if ticks <= highestBid {
                reasons.append(
                    "ask level \(index + 1) moved to one tick above the bid so the quote is not crossed or locked")
                ticks = highestBid + 1
            }
            guard let order = order(market, ticks: ticks, size: size, lot: lot, side: "ask", index, &reasons) else {
                continue
            }
            asks.append(order)
        }
        return MarketQuote(
            market: market.key, model: parameters.model.name, mid: state.mid, reservationPrice: reservation,
            optimalSpread: spread, inventory: q, volatility: sigma, gamma: gamma, kappa: kappa, tau: tau,
            bid: bids.first?.price, ask: asks.first?.price, bids: bids, asks: asks, reasons: reasons)
    }

    static func outOfRange(_ market: Market, _ side: String, _ price: Double) -> ServiceError {
        ServiceError(
            .invalidInput,
            "the \(side) of \(market.key) would be \(format(price)), too many ticks of \(market.tickSize) to quote: check the model's parameters"
        )
    }

    static func clamp(_ spread: Double, _ parameters: QuotingParameters, _ reasons: inout [String]) -> Double {
        if spread < parameters.minimumSpread {
            reasons.append("spread \(format(spread)) widened to the minimum \(format(parameters.minimumSpread))")
            return parameters.minimumSpread
        }
        if let maximum = parameters.maximumSpread, spread > maximum {
            reasons.append("spread \(format(spread)) narrowed to the maximum \(format(maximum))")
            return maximum
        }
        return spread
    }

    static func order(
        _ market: Market, ticks: Int64, size: Double, lot: Double, side: String, _ index: Int,
        _ reasons: inout [String]
    ) -> QuoteLevel? {
        let lots = Int64(min(1e15, max(0, size / lot + 1e-9)).rounded(.down))
        guard lots >= 1 else {
            reasons.append("\(side) level \(index + 1) dropped: size \(format(size)) is under one lot")
            return nil
        }
        let price = market.price(ticks: ticks)
        let quantity = market.quantity(lots: lots)
        if !market.minimumNotional.isZero, price * quantity < market.minimumNotional {
            reasons.append("\(side) level \(index + 1) dropped: under the minimum notional \(market.minimumNotional)")
            return nil
        }
        return QuoteLevel(level: index + 1, price: price, quantity: quantity)
    }

    /// A figure in a reason: six decimal places at most (cheap: no format string parsing).
    static func format(_ value: Double) -> String {
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : rounded.description
    }
}
