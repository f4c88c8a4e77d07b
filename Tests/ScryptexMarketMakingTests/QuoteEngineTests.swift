import Foundation
import ScryptexCore
import ScryptexInstitutional
import Testing

@testable import ScryptexMarketMaking

@Suite("Quoting models")
struct QuoteEngineTests {
    static let market = Market(
        symbol: "ETH/USDC", venue: "demo", tickSize: ExactDecimal("0.01")!, lotSize: ExactDecimal("0.001")!)

    static func stoikov(
        gamma: Double = 0.1, kappa: Double? = 1.5, horizon: QuotingParameters.AvellanedaStoikov.Horizon = .infinite,
        seconds: Double = 60, eta: Double = 0
    ) -> QuotingParameters {
        QuotingParameters(
            model: .avellanedaStoikov(
                .init(gamma: gamma, kappa: kappa, horizon: horizon, horizonSeconds: seconds, eta: eta)),
            orderSize: 1, inventoryLimit: 10, volatility: 0.5)
    }

    /// s = 2000, q = 2, γ = 0.1, σ = 0.5 /√s, τ = 60 s, κ = 1.5:
    /// r = 2000 − 2·0.1·0.25·60 = 1997; δ = 0.1·0.25·60 + 20·ln(1 + 0.1/1.5) = 1.5 + 1.2907704…
    @Test func avellanedaStoikovByHand() throws {
        let quote = try QuoteEngine.quote(
            market: Self.market, parameters: Self.stoikov(eta: 0.5),
            state: MarketState(mid: 2000, inventory: 2, estimatedVolatility: nil, time: 0))
        #expect(abs(quote.reservationPrice - 1997) < 1e-9)
        let spread = 1.5 + 20 * log(1 + 0.1 / 1.5)
        #expect(abs(quote.optimalSpread - spread) < 1e-12)
        #expect(
            quote.gamma == 0.1 && quote.kappa == 1.5 && quote.tau == 60 && quote.volatility == 0.5
                && quote.inventory == 2)
        // 1997 − 1.3953852 = 1995.6046 → down to 1995.60; 1997 + 1.3953852 → up to 1998.40.
        #expect(quote.bid == ExactDecimal("1995.60") && quote.ask == ExactDecimal("1998.40"))
        // η = 0.5 against a long inventory: the bid's size is e^(−1) = 0.36788 → 0.367 in lots.
        #expect(quote.bids.first?.quantity == ExactDecimal("0.367") && quote.asks.first?.quantity == ExactDecimal("1"))
        #expect(quote.reasons.contains { $0.hasPrefix("bid size × e^(−η·q)") })
    }

    @Test func volatilityAndInventoryMoveTheQuotesAsTheFormulasSay() throws {
        func quote(sigma: Double, inventory: Double) throws -> MarketQuote {
            var parameters = Self.stoikov()
            parameters.volatility = nil
            return try QuoteEngine.quote(
                market: Self.market, parameters: parameters,
                state: MarketState(mid: 2000, inventory: inventory, estimatedVolatility: sigma, time: 0))
        }
        let calm = try quote(sigma: 0.2, inventory: 0)
        let wild = try quote(sigma: 0.8, inventory: 0)
        // The spread grows by γ·τ·(σ₂² − σ₁²) = 0.1·60·(0.64 − 0.04) = 3.6.
        #expect(abs(wild.optimalSpread - calm.optimalSpread - 3.6) < 1e-9)
        #expect(calm.reservationPrice == 2000 && wild.reservationPrice == 2000)
        // Short 3: the reservation price rises by 3·γ·σ²·τ = 3·0.1·0.64·60 = 11.52.
        let short = try quote(sigma: 0.8, inventory: -3)
        #expect(abs(short.reservationPrice - 2011.52) < 1e-9)
        #expect(short.bid! > wild.bid! && short.ask! > wild.ask!)
    }

    /// Finite horizon: τ is the time left in the session (daily sessions end at midnight UTC).
    @Test func aFiniteHorizonCountsDownToTheEndOfTheSession() throws {
        let quote = try QuoteEngine.quote(
            market: Self.market, parameters: Self.stoikov(horizon: .finite, seconds: 86_400),
            state: MarketState(mid: 2000, inventory: 1, estimatedVolatility: nil, time: 20_000 * 86_400 + 3_600))
        #expect(quote.tau == 82_800)
        #expect(abs(quote.reservationPrice - (2000 - 1 * 0.1 * 0.25 * 82_800)) < 1e-9)
    }

    @Test func boundsLimitsAndTheGridAreApplied() throws {
        var parameters = Self.stoikov()
        // A wide maximum then a narrow one.
        parameters.maximumSpread = 1
        var quote = try QuoteEngine.quote(
            market: Self.market, parameters: parameters,
            state: MarketState(mid: 2000, inventory: 0, estimatedVolatility: nil, time: 0))
        #expect(
            quote.optimalSpread == 1 && quote.bid == ExactDecimal("1999.50") && quote.ask == ExactDecimal("2000.50"))
        #expect(quote.reasons.contains { $0.contains("narrowed to the maximum 1") })
        // A ceiling under the model's bid, a floor over its ask.
        parameters.priceCeiling = 1990
        parameters.priceFloor = 2010
        quote = try QuoteEngine.quote(
            market: Self.market, parameters: parameters,
            state: MarketState(mid: 2000, inventory: 0, estimatedVolatility: nil, time: 0))
        #expect(quote.bid == ExactDecimal("1990") && quote.ask == ExactDecimal("2010"))
        // At the inventory limit the side that would grow it stops.
        quote = try QuoteEngine.quote(
            market: Self.market, parameters: Self.stoikov(),
            state: MarketState(mid: 2000, inventory: 10, estimatedVolatility: nil, time: 0))
        #expect(quote.bid == nil && quote.ask != nil && quote.reasons.contains { $0.hasPrefix("bids withdrawn") })
        // A tiny spread on a coarse tick: both sides would round onto one price; the ask moves up.
        let coarse = Market(
            symbol: "ETH/USDC", venue: "demo", tickSize: ExactDecimal("1")!, lotSize: ExactDecimal("0.001")!)
        parameters = Self.stoikov(gamma: 1, kappa: 1000)
        parameters.volatility = 0
        quote = try QuoteEngine.quote(
            market: coarse, parameters: parameters,
            state: MarketState(mid: 2000.5, inventory: 0, estimatedVolatility: nil, time: 0))
        #expect(quote.bid == ExactDecimal("2000") && quote.ask == ExactDecimal("2001"))
        quote = try QuoteEngine.quote(
            market: coarse, parameters: parameters,
            state: MarketState(mid: 2000, inventory: 0, estimatedVolatility: nil, time: 0))
        #expect(quote.bid! < quote.ask!, "never locked: \(quote.bid!) / \(quote.ask!)")
        // The market's own touch: never cross it.
        quote = try QuoteEngine.quote(
            market: Self.market, parameters: Self.stoikov(gamma: 0.1, kappa: 1000),
            state: MarketState(
                mid: 2000, bestBid: 1999.99, bestAsk: 2000.01, inventory: 0, estimatedVolatility: nil, time: 0))
        #expect(quote.bid! < ExactDecimal("2000.01")! && quote.ask! > ExactDecimal("1999.99")!)
    }

    /// Three levels 1 apart in spread and 0.5 apart in price, sizes 1, 1.5, 2, skewed by half a
    /// limit of inventory: bids × 0.75, asks × 1.25.
    @Test func aLadderByHand() throws {
        let parameters = QuotingParameters(
            model: .ladder(
                .init(
                    levels: 3, spreadMode: .fixed, spread: 2, levelSpacing: 0.5, sizeIncrement: 0.5, inventorySkew: 0.5)
            ),
            orderSize: 1, inventoryLimit: 10)
        let quote = try QuoteEngine.quote(
            market: Self.market, parameters: parameters,
            state: MarketState(mid: 2000, inventory: 5, estimatedVolatility: 1, time: 0))
        #expect(quote.bids.map(\.price) == ["1999", "1998.5", "1998"].map { ExactDecimal($0)! })
        #expect(quote.asks.map(\.price) == ["2001", "2001.5", "2002"].map { ExactDecimal($0)! })
        #expect(quote.bids.map(\.quantity) == ["0.75", "1.125", "1.5"].map { ExactDecimal($0)! })
        #expect(quote.asks.map(\.quantity) == ["1.25", "1.875", "2.5"].map { ExactDecimal($0)! })
        #expect(quote.gamma == nil && quote.kappa == nil && quote.optimalSpread == 2)
        // Volatility-scaled: spread = 2·σ·√100 = 2·0.3·10 = 6.
        let scaled = QuotingParameters(
            model: .ladder(
                .init(
                    levels: 1, spreadMode: .volatility, spread: 0, volatilityMultiple: 2, horizonSeconds: 100,
                    levelSpacing: 0)),
            orderSize: 1, inventoryLimit: 10)
        let wide = try QuoteEngine.quote(
            market: Self.market, parameters: scaled,
            state: MarketState(mid: 2000, inventory: 0, estimatedVolatility: 0.3, time: 0))
        #expect(
            abs(wide.optimalSpread - 6) < 1e-12 && wide.bid == ExactDecimal("1997") && wide.ask == ExactDecimal("2003"))
    }

    @Test func badParametersAreNamed() {
        var cases: [(QuotingParameters, String)] = [
            (Self.stoikov(gamma: 0), "field 'parameters.gamma': above 0"),
            (Self.stoikov(kappa: -1), "field 'parameters.kappa': above 0"),
        ]
        var negative = Self.stoikov()
        negative.minimumSpread = -1
        cases.append((negative, "field 'parameters.minimumSpread'"))
        var inverted = Self.stoikov()
        inverted.minimumSpread = 2
        inverted.maximumSpread = 1
        cases.append((inverted, "field 'parameters.maximumSpread': above 0 and not below minimumSpread"))
        for (parameters, message) in cases {
            do {
                _ = try parameters.validated()
                Issue.record("accepted \(message)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(Self.market.ticks(in: ExactDecimal("2000.015")!) == nil)
        #expect(Self.market.ticks(in: ExactDecimal("2000.01")!) == 200_001)
        #expect(Self.market.lots(in: ExactDecimal("0.0005")!) == nil)
    }
}

@Suite("Volatility and intensity estimates")
struct EstimateTests {
    /// Mid 100 → 101 after 1 s (rate 1), → 99 after 2 s more (rate 2). EWMA with a 1 s half-life:
    /// the old rate keeps e^(−2·ln 2) = ¼: v = ¼·1 + ¾·2 = 1.75. Realised: (1 + 4)/(1 + 2).
    @Test func volatilityByHand() {
        var estimator = VolatilityEstimator(halfLifeSeconds: 1, window: 10)
        estimator.update(mid: 100, at: 0)
        #expect(estimator.ewma == nil && estimator.realised == nil)
        estimator.update(mid: 101, at: 1)
        estimator.update(mid: 99, at: 3)
        #expect(abs(estimator.ewma! - 1.75.squareRoot()) < 1e-12)
        #expect(abs(estimator.realised! - (5.0 / 3).squareRoot()) < 1e-12)
        // A time that does not move forward is ignored.
        estimator.update(mid: 120, at: 3)
        #expect(abs(estimator.ewma! - 1.75.squareRoot()) < 1e-12)
    }

    @Test func theRealisedWindowForgetsOldChanges() {
        var estimator = VolatilityEstimator(halfLifeSeconds: 10, window: 3)
        var mid = 100.0
        for second in 0...10 {
            mid += second < 5 ? 5 : 1
            estimator.update(mid: mid, at: Double(second))
        }
        #expect(abs(estimator.realised! - 1) < 1e-12, "only the last three changes of 1 over 1 s")
    }

    /// Distances drawn so that the share of trades at least δ away is e^(−2δ): κ = 2.
    @Test func kappaIsRecoveredFromTrades() throws {
        var random = SeededRandom(seed: 8)
        let distances = (0..<20_000).map { _ in -log(1 - random.nextUniform()) / 2 }
        let fit = try #require(IntensityFit.fit(distances: distances, seconds: 3_600, step: 0.1, buckets: 15))
        #expect(abs(fit.kappa - 2) < 0.1, "κ \(fit.kappa)")
        #expect(abs(fit.intensityAtMid - 20_000.0 / 3_600) / (20_000.0 / 3_600) < 0.1)
        #expect(IntensityFit.fit(distances: [], seconds: 10, step: 0.1) == nil)
    }
}

@Suite("Pre-trade limits on quotes")
struct QuoteLimitsTests {
    static func ladder() throws -> MarketQuote {
        let parameters = QuotingParameters(
            model: .ladder(.init(levels: 3, spreadMode: .fixed, spread: 2, levelSpacing: 1, sizeIncrement: 0.5)),
            orderSize: 1, inventoryLimit: 10)
        return try QuoteEngine.quote(
            market: QuoteEngineTests.market, parameters: parameters,
            state: MarketState(mid: 2000, inventory: 0, estimatedVolatility: nil, time: 0))
    }

    /// Bids 1 @ 1999, 1.5 @ 1998, 2 @ 1997; a 2,500 notional cap cuts the second to
    /// ⌊2500 / (1998·0.001)⌋ = 1251 lots and the third to 1251 lots at 1997 (1.251).
    @Test func theOrderNotionalCapCutsLevels() throws {
        var quote = try Self.ladder()
        QuoteLimits.apply(
            &quote, limits: TradingLimits(maxOrderNotional: ExactDecimal(2_500)), market: QuoteEngineTests.market,
            position: .zero)
        #expect(quote.bids.map(\.quantity) == ["1", "1.251", "1.251"].map { ExactDecimal($0)! })
        #expect(quote.bids.allSatisfy { !(ExactDecimal(2_500) < $0.price * $0.quantity) })
        #expect(quote.reasons.contains { $0.contains("cut to 1.251: the account's maximum order notional is 2500") })
    }

    /// Long 1 with a limit of 2 on ETH/USDC: the bids may add 1 in all, the asks 3.
    @Test func thePositionLimitBoundsWhatAllLevelsCouldAdd() throws {
        var quote = try Self.ladder()
        QuoteLimits.apply(
            &quote, limits: TradingLimits(positionLimits: ["ETH/USDC": ExactDecimal(2)]),
            market: QuoteEngineTests.market, position: ExactDecimal(1))
        #expect(quote.bids.map(\.quantity) == [ExactDecimal(1)])
        #expect(quote.asks.map(\.quantity) == ["1", "1.5", "0.5"].map { ExactDecimal($0)! })
        #expect(quote.bid == ExactDecimal("1999")! && quote.ask == ExactDecimal("2001")!)
    }

    /// Bids 1 @ 1999, 1.5 @ 1998, 2 @ 1997 and asks 1 @ 2001, 1.5 @ 2002, 2 @ 2003 against 5,000
    /// left today: bid 1 (1,999) and ask 1 (2,001) fit, leaving 1,000; the second bid is cut to
    /// ⌊1000 / (1998·0.001)⌋ = 500 lots (999 spent), and nothing else fits in the 1 left.
    @Test func theDailyNotionalLeftIsSpentFromTheInsideOut() throws {
        var quote = try Self.ladder()
        QuoteLimits.applyDailyNotional(
            &quote, room: ExactDecimal(5_000), limit: ExactDecimal(20_000), market: QuoteEngineTests.market)
        #expect(quote.bids.map(\.quantity) == ["1", "0.5"].map { ExactDecimal($0)! })
        #expect(quote.asks.map(\.quantity) == [ExactDecimal(1)])
        #expect(quote.bid == ExactDecimal("1999")! && quote.ask == ExactDecimal("2001")!)
        #expect(
            quote.reasons.contains(
                "bid level 2 cut to 0.500: the account's daily notional limit 20000 leaves 5000 today")
        )
        #expect(quote.reasons.contains { $0.hasPrefix("ask level 2 dropped: the account's daily notional limit") })
        // Nothing left (or less than nothing): no orders at all.
        var spent = try Self.ladder()
        QuoteLimits.applyDailyNotional(
            &spent, room: ExactDecimal(-10), limit: ExactDecimal(20_000), market: QuoteEngineTests.market)
        #expect(spent.bids.isEmpty && spent.asks.isEmpty && spent.bid == nil && spent.ask == nil)
    }

    @Test func instrumentsAndVenuesNotAllowedAreNotQuoted() throws {
        var quote = try Self.ladder()
        QuoteLimits.apply(
            &quote, limits: TradingLimits(allowedVenues: ["binance"]), market: QuoteEngineTests.market, position: .zero)
        #expect(quote.bids.isEmpty && quote.asks.isEmpty && quote.bid == nil)
        #expect(quote.reasons.last == "not quoted: the account's limits do not allow the venue demo")
    }
}

@Suite("Quoting activity")
struct QuotingActivityTests {
    /// Quoted on both sides from 60 to 180 s of 180 s since the first tick; a tick out of order
    /// posts orders but moves no clock.
    @Test func timeInMarketAndFillRateFollowTheTicks() {
        var activity = QuotingActivity()
        #expect(activity.timeInMarket == nil && activity.fillRate(fills: 0) == nil)
        activity.record(at: 0, bids: 0, asks: 0)
        activity.record(at: 60, bids: 1, asks: 1)
        activity.record(at: 120, bids: 1, asks: 1)
        activity.record(at: 100, bids: 1, asks: 1)
        activity.record(at: 180, bids: 0, asks: 1)
        #expect(activity.secondsQuoted == 120)
        #expect(activity.timeInMarket == 120.0 / 180.0)
        #expect(activity.ordersPosted == 7)
        #expect(activity.fillRate(fills: 7) == 1)
        // As stored before the first tick.
        let empty = try? JSONDecoder().decode(QuotingActivity.self, from: Data("{}".utf8))
        #expect(empty == QuotingActivity())
    }
}
