import Foundation
import ScryptexCore
import ScryptexInstitutional
import Testing

@testable import ScryptexCompliance

/// The pre-trade rules as the pure function they are: a request and its context in, a decision
/// and each rule's verdict out — no database.
@Suite("Pre-trade rules without a database")
struct TradeCheckRulesTests {
    static let parentID = UUID()
    static let accountID = UUID()

    static func account(
        _ id: UUID, parent: UUID? = nil, name: String, kyc: KYCStatus = .approved, killSwitch: Bool = false,
        limits: TradingLimits = TradingLimits()
    ) -> InstitutionalAccount {
        InstitutionalAccount(
            id: id, parentId: parent, accountName: name, accountType: .hedgeFund, legalName: name + " LP",
            jurisdiction: "US", totalAUM: ExactDecimal(1_000_000), regulatoryIdentifiers: [:], kycStatus: kyc,
            kycReviewDue: nil, killSwitchEngaged: killSwitch, limits: limits, createdAt: Date(), updatedAt: Date())
    }

    /// Buy 2 BTC at 50,000 (notional 100,000) for a fund under a master fund.
    static func check(
        side: TradeCheckRequest.Side = .buy, account: InstitutionalAccount? = nil,
        parent: InstitutionalAccount? = nil, context: (inout TradeCheckContext) -> Void = { _ in }
    ) throws -> TradeDecision {
        let request = TradeCheckRequest(
            accountId: accountID, symbol: "BTC/USD", side: side.rawValue, quantity: ExactDecimal(2),
            price: ExactDecimal(50_000), venue: "coinbase")
        var loaded = TradeCheckContext(
            accountChain: [
                account ?? Self.account(accountID, parent: parentID, name: "Fund"),
                parent ?? Self.account(parentID, name: "Master"),
            ],
            positions: ["BTC/USD": ExactDecimal(1)], referencePrice: ExactDecimal(50_100))
        context(&loaded)
        return try TradeCheckRules().evaluate(
            request, side: side, context: loaded, screener: SanctionsScreener(lists: []))
    }

    static func verdict(_ rule: String, in decision: TradeDecision) -> RuleOutcome? {
        decision.rules.first { $0.rule == rule }
    }

    @Test func aCleanOrderPassesEveryRule() throws {
        let decision = try Self.check()
        #expect(decision.decision == .approved)
        #expect(decision.notional == ExactDecimal(100_000))
        #expect(decision.rules.allSatisfy { $0.outcome == .pass }, "\(decision.rules)")
    }

    @Test func theAccountAndItsParentsStateDecide() throws {
        let pending = try Self.check(
            account: Self.account(Self.accountID, parent: Self.parentID, name: "Fund", kyc: .pending))
        #expect(pending.decision == .rejected)
        #expect(Self.verdict("account_state", in: pending)?.reason == "the account's KYC is pending, not approved")
        let halted = try Self.check(parent: Self.account(Self.parentID, name: "Master", killSwitch: true))
        #expect(Self.verdict("kill_switch", in: halted)?.reason == "the parent account Master's kill switch is engaged")
    }

    @Test func theTightestLimitAlongTheChainBindsAndIsNamed() throws {
        let parentLimits = TradingLimits(maxOrderNotional: ExactDecimal(90_000), dailyNotional: ExactDecimal(150_000))
        let accountLimits = TradingLimits(maxOrderNotional: ExactDecimal(500_000))
        let decision = try Self.check(
            account: Self.account(Self.accountID, parent: Self.parentID, name: "Fund", limits: accountLimits),
            parent: Self.account(Self.parentID, name: "Master", limits: parentLimits)
        ) { $0.bookedToday = ExactDecimal(60_000) }
        #expect(decision.decision == .rejected)
        #expect(
            Self.verdict("order_limit", in: decision)?.reason
                == "notional 100000 exceeds parent account Master's order limit 90000")
        #expect(
            Self.verdict("daily_limit", in: decision)?.reason
                == "today's notional would be 160000, above parent account Master's daily limit 150000")
    }

    /// Issue 17: a parent's daily and position limits bind the sum over its sub-accounts, and a
    /// parent whose KYC is suspended blocks its children.
    @Test func aParentsLimitsBindItsWholeFamily() throws {
        let parentLimits = TradingLimits(
            dailyNotional: ExactDecimal(150_000), positionLimits: ["BTC/USD": ExactDecimal(5)])
        let parent = Self.account(Self.parentID, name: "Master", limits: parentLimits)
        // Alone, the fund is inside both limits (40,000 today + 100,000; long 1 + 2)…
        let alone = try Self.check(parent: parent) { $0.bookedToday = ExactDecimal(40_000) }
        #expect(alone.decision == .approved, "\(alone.rules)")
        // …but with its sister funds the family booked 130,000 today and holds 4: 230,000 > 150,000
        // and 6 > 5.
        let family = try Self.check(parent: parent) {
            $0.bookedToday = ExactDecimal(40_000)
            $0.familyFigures[Self.parentID] = .init(position: ExactDecimal(4), bookedToday: ExactDecimal(130_000))
        }
        #expect(family.decision == .rejected)
        #expect(
            Self.verdict("daily_limit", in: family)?.reason
                == "today's notional would be 230000 (with its sub-accounts), above parent account Master's daily limit 150000"
        )
        #expect(
            Self.verdict("position_limit", in: family)?.reason
                == "position in BTC/USD would be 6 (with its sub-accounts) (now 4), beyond parent account Master's limit 5"
        )
        // Selling brings the family back inside: 4 − 2 = 2.
        let selling = try Self.check(side: .sell, parent: parent) {
            $0.familyFigures[Self.parentID] = .init(position: ExactDecimal(4), bookedToday: ExactDecimal(0))
        }
        #expect(Self.verdict("position_limit", in: selling)?.outcome == .pass)
        for kyc in [KYCStatus.suspended, .rejected] {
            let blocked = try Self.check(parent: Self.account(Self.parentID, name: "Master", kyc: kyc))
            #expect(blocked.decision == .rejected)
            #expect(
                Self.verdict("account_state", in: blocked)?.reason
                    == "the parent account Master's KYC is \(kyc.rawValue)")
        }
    }

    @Test func positionsCountTheSideOfTheOrder() throws {
        let limits = TradingLimits(positionLimits: ["BTC/USD": ExactDecimal(2)])
        let account = Self.account(Self.accountID, parent: Self.parentID, name: "Fund", limits: limits)
        // Long 1, buying 2: 3 > 2. Selling 2: −1, within ±2.
        #expect(Self.verdict("position_limit", in: try Self.check(account: account))?.outcome == .fail)
        #expect(Self.verdict("position_limit", in: try Self.check(side: .sell, account: account))?.outcome == .pass)
    }

    @Test func marketIntegrityRules() throws {
        let restricted = try Self.check { $0.restricted = ["BTC/USD": "pending corporate action"] }
        #expect(Self.verdict("restricted_list", in: restricted)?.outcome == .fail)
        let crossing = try Self.check {
            $0.restingOrders = [RestingOrder(accountId: Self.parentID, side: .sell, price: ExactDecimal(49_900))]
        }
        #expect(Self.verdict("self_match", in: crossing)?.outcome == .fail)
        let wash = try Self.check {
            $0.recentTrades = [
                RecentTrade(accountId: Self.accountID, side: .sell, price: ExactDecimal(50_010), secondsAgo: 60)
            ]
        }
        #expect(wash.decision == .review)
        #expect(Self.verdict("wash_trade", in: wash)?.outcome == .review)
        let farFromReference = try Self.check { $0.referencePrice = ExactDecimal(40_000) }
        #expect(Self.verdict("price_band", in: farFromReference)?.outcome == .fail)
        let noReference = try Self.check { $0.referencePrice = nil }
        #expect(Self.verdict("price_band", in: noReference)?.outcome == .review)
    }

    /// Issue 17: a stale reference price no longer vouches for a price; venues are MICs in any case.
    @Test func staleReferencePricesGoToReviewAndVenuesIgnoreCase() throws {
        let fresh = try Self.check { $0.referencePriceAgeSeconds = 86_400 }
        #expect(Self.verdict("price_band", in: fresh)?.outcome == .pass)
        let stale = try Self.check { $0.referencePriceAgeSeconds = 86_401 + 3 * 3_600 }
        #expect(stale.decision == .review)
        #expect(
            Self.verdict("price_band", in: stale)?.reason
                == "the reference price for BTC/USD is 27 h old, older than 24 h: it no longer vouches for the price")
        let venues = TradingLimits(allowedVenues: ["COINBASE", "XNAS"])
        let account = Self.account(Self.accountID, parent: Self.parentID, name: "Fund", limits: venues)
        // The order's venue is "coinbase".
        #expect(Self.verdict("venue_allowed", in: try Self.check(account: account))?.outcome == .pass)
        let elsewhere = Self.account(
            Self.accountID, parent: Self.parentID, name: "Fund", limits: TradingLimits(allowedVenues: ["XNAS"]))
        #expect(Self.verdict("venue_allowed", in: try Self.check(account: elsewhere))?.outcome == .fail)
    }

    /// Issue 17: a stale US dollar rate no longer values an order against the limits; without a
    /// limit it does not matter. A derivative's notional counts its multiplier.
    @Test func staleDollarRatesSendLimitedOrdersToReviewAndMultipliersCount() throws {
        let limited = Self.account(
            Self.accountID, parent: Self.parentID, name: "Fund",
            limits: TradingLimits(maxOrderNotional: ExactDecimal(1_000_000), dailyNotional: ExactDecimal(5_000_000)))
        let fresh = try Self.check(account: limited) { $0.usdRateAgeSeconds = 4 * 86_400 }
        #expect(fresh.decision == .approved, "\(fresh.rules)")
        let stale = try Self.check(account: limited) { $0.usdRateAgeSeconds = 5 * 86_400 }
        #expect(stale.decision == .review)
        #expect(Self.verdict("order_limit", in: stale)?.outcome == .review)
        #expect(stale.rules.filter { $0.rule == "daily_limit" }.count == 1, "\(stale.rules)")
        #expect(
            Self.verdict("daily_limit", in: stale)?.reason.contains(
                "the US dollar rate for USD is 5 d old, older than 4 d") == true, "\(stale.rules)")
        let unlimited = try Self.check { $0.usdRateAgeSeconds = 30 * 86_400 }
        #expect(unlimited.decision == .approved)
        // 2 contracts × 50,000 × 25 = 2,500,000: over the 1,000,000 order limit.
        let future = try Self.check(account: limited) { $0.contractSize = ExactDecimal(25) }
        #expect(future.notional == ExactDecimal(2_500_000))
        #expect(Self.verdict("order_limit", in: future)?.outcome == .fail)
    }

    /// Deviations a hair past each band, computed exactly, with the reason saying so.
    @Test(arguments: [
        ("110.00004", "fail", "10.00004"),  // past the 10 % band: rejected (was review after rounding)
        ("105.00004", "review", "5.00004"),  // past the 5 % band: review (was approved)
        ("89.99996", "fail", "10.00004"),  // below the reference too
        ("110", "review", "10.00"),  // exactly on the reject band: not past it
        ("105", "pass", "5.00"),  // exactly on the review band
        ("100.000000001", "pass", "0.00"),
        ("105.000000000000000001", "review", "5.000001"),  // 10^-18 past: shown rounded away from the band
    ])
    func priceBandsCompareTheExactDeviation(price: String, outcome: String, percent: String) throws {
        let rules = TradeCheckRules()
        let verdict = rules.priceBand(try #require(ExactDecimal(price)), reference: ExactDecimal(100), symbol: "X/USD")
        #expect(verdict.outcome.rawValue == outcome)
        #expect(verdict.reason.contains(percent + "%"), "\(verdict.reason)")
    }

    @Test func requestsAreValidatedAgainstTheInstrument() throws {
        let instrument = InstrumentSpec(symbol: "BTC/USD", priceDecimals: 2, quantityDecimals: 8)
        func request(side: String = "buy", quantity: String = "1", price: String = "50000") -> TradeCheckRequest {
            TradeCheckRequest(
                accountId: Self.accountID, symbol: "BTC/USD", side: side, quantity: ExactDecimal(quantity)!,
                price: ExactDecimal(price)!)
        }
        #expect(try TradeCheckRules.validate(request(), instrument: instrument) == .buy)
        for (bad, message) in [
            (request(side: "hold"), "field 'side': 'buy' or 'sell', not 'hold'"),
            (request(quantity: "0"), "field 'quantity': must be greater than 0"),
            (request(price: "50000.001"), "field 'price': BTC/USD prices have at most 2 decimals"),
            (request(quantity: "0.000000001"), "field 'quantity': BTC/USD quantities have at most 8 decimals"),
        ] {
            #expect(throws: ServiceError(.invalidInput, message)) {
                try TradeCheckRules.validate(bad, instrument: instrument)
            }
        }
        #expect(throws: ServiceError(.invalidInput, "field 'symbol': unknown instrument 'BTC/USD'")) {
            try TradeCheckRules.validate(request(), instrument: nil)
        }
    }
}
