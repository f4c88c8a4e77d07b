public import ScryptexCore
public import ScryptexInstitutional

/// The account's pre-trade limits applied to a quote before it is shown or sent: instruments and
/// venues allowed, the largest order notional (a level is cut down to it, or dropped under one
/// lot), and the largest position per symbol (bids and asks cut so that all of them filling
/// cannot pass it). Each cut is added to the quote's reasons.
public enum QuoteLimits {
    public static func apply(
        _ quote: inout MarketQuote, limits: TradingLimits, market: Market, position: ExactDecimal
    ) {
        if let allowed = limits.allowedInstruments, !allowed.contains(market.symbol) {
            withdraw(&quote, "not quoted: the account's limits do not allow \(market.symbol)")
            return
        }
        if let venues = limits.allowedVenues, !venues.contains(market.venue) {
            withdraw(&quote, "not quoted: the account's limits do not allow the venue \(market.venue)")
            return
        }
        if let maximum = limits.maxOrderNotional {
            quote.bids = cut(quote.bids, side: "bid", maximum: maximum, market: market, reasons: &quote.reasons)
            quote.asks = cut(quote.asks, side: "ask", maximum: maximum, market: market, reasons: &quote.reasons)
        }
        if let limit = limits.positionLimits?[market.symbol] {
            // Room to buy: limit − position; room to sell: limit + position.
            quote.bids = fit(quote.bids, side: "bid", room: limit - position, market: market, reasons: &quote.reasons)
            quote.asks = fit(quote.asks, side: "ask", room: limit + position, market: market, reasons: &quote.reasons)
        }
        quote.bid = quote.bids.first?.price
        quote.ask = quote.asks.first?.price
    }

    /// Today's notional left under the account's daily limit, `room` (in the market's quote
    /// currency), spent on the quote's levels from the inside out, bid and ask in turn: the
    /// orders that would all be open at once may not together pass what is left of the day's
    /// limit. A level that does not fit is cut to the whole lots that do, or dropped.
    public static func applyDailyNotional(
        _ quote: inout MarketQuote, room: ExactDecimal, limit: ExactDecimal, market: Market
    ) {
        var left = room.isNegative ? .zero : room
        var bids: [QuoteLevel] = []
        var asks: [QuoteLevel] = []
        for index in 0..<max(quote.bids.count, quote.asks.count) {
            for side in ["bid", "ask"] {
                let levels = side == "bid" ? quote.bids : quote.asks
                guard index < levels.count else { continue }
                let level = levels[index]
                let notional = level.price * level.quantity
                if notional <= left {
                    left -= notional
                    if side == "bid" { bids.append(level) } else { asks.append(level) }
                    continue
                }
                let lots = (left.divided(by: level.price * market.lotSize, scale: 0, rule: .towardZero) ?? .zero)
                    .significand
                guard lots >= 1 else {
                    quote.reasons.append(
                        "\(side) level \(level.level) dropped: the account's daily notional limit \(limit) leaves no room today"
                    )
                    continue
                }
                var cut = level
                cut.quantity = market.quantity(lots: Int64(lots))
                left -= cut.price * cut.quantity
                quote.reasons.append(
                    "\(side) level \(level.level) cut to \(cut.quantity): the account's daily notional limit \(limit) leaves \(room.isNegative ? .zero : room) today"
                )
                if side == "bid" { bids.append(cut) } else { asks.append(cut) }
            }
        }
        quote.bids = bids
        quote.asks = asks
        quote.bid = bids.first?.price
        quote.ask = asks.first?.price
    }

    static func withdraw(_ quote: inout MarketQuote, _ reason: String) {
        quote.bids = []
        quote.asks = []
        quote.bid = nil
        quote.ask = nil
        quote.reasons.append(reason)
    }

    static func cut(
        _ levels: [QuoteLevel], side: String, maximum: ExactDecimal, market: Market, reasons: inout [String]
    ) -> [QuoteLevel] {
        levels.compactMap { level in
            guard maximum < level.price * level.quantity else { return level }
            // The most whole lots under the maximum at this price.
            let lots = (maximum.divided(by: level.price * market.lotSize, scale: 0, rule: .towardZero) ?? .zero)
                .significand
            guard lots >= 1 else {
                reasons.append(
                    "\(side) level \(level.level) dropped: one lot is over the account's maximum order notional \(maximum)"
                )
                return nil
            }
            var cut = level
            cut.quantity = market.quantity(lots: Int64(lots))
            reasons.append(
                "\(side) level \(level.level) cut to \(cut.quantity): the account's maximum order notional is \(maximum)"
            )
            return cut
        }
    }

    static func fit(
        _ levels: [QuoteLevel], side: String, room: ExactDecimal, market: Market, reasons: inout [String]
    ) -> [QuoteLevel] {
        var left = room
        var kept: [QuoteLevel] = []
        for level in levels {
            let available = ExactDecimal.zero < left ? lotsBelow(left, market) ?? 0 : 0
            guard let wanted = market.lots(in: level.quantity) else { continue }
            if wanted <= available {
                kept.append(level)
                left -= level.quantity
            } else if available >= 1 {
                var cut = level
                cut.quantity = market.quantity(lots: available)
                kept.append(cut)
                left -= cut.quantity
                reasons.append("\(side) level \(level.level) cut to \(cut.quantity) by the account's position limit")
            } else {
                reasons.append("\(side) level \(level.level) dropped: the account's position limit leaves no room")
            }
        }
        return kept
    }

    /// Whole lots below a quantity that is not itself on the lot grid.
    static func lotsBelow(_ quantity: ExactDecimal, _ market: Market) -> Int64? {
        guard let lots = quantity.divided(by: market.lotSize, scale: 0, rule: .towardZero) else { return nil }
        return Int64(exactly: lots.significand)
    }
}
