public import Foundation
public import ScryptexCore
public import ScryptexInstitutional

/// A pre-trade check request, as clients send it.
public struct TradeCheckRequest: Sendable, Codable, Equatable {
    public enum Side: String, Sendable, Codable { case buy, sell }

    public var accountId: UUID
    public var symbol: String
    public var side: String
    public var quantity: ExactDecimal
    public var price: ExactDecimal
    public var venue: String?
    public var counterparty: String?
    public var walletAddress: String?

    public init(
        accountId: UUID, symbol: String, side: String, quantity: ExactDecimal, price: ExactDecimal,
        venue: String? = nil, counterparty: String? = nil, walletAddress: String? = nil
    ) {
        self.accountId = accountId
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.price = price
        self.venue = venue
        self.counterparty = counterparty
        self.walletAddress = walletAddress
    }
}

/// One rule's verdict.
public struct RuleOutcome: Sendable, Codable, Equatable {
    public enum Verdict: String, Sendable, Codable { case pass, review, fail }

    public var rule: String
    public var outcome: Verdict
    public var reason: String

    public init(_ rule: String, _ outcome: Verdict, _ reason: String) {
        self.rule = rule
        self.outcome = outcome
        self.reason = reason
    }
}

public struct TradeDecision: Sendable, Codable, Equatable {
    public enum Decision: String, Sendable, Codable { case approved, rejected, review }

    public var decision: Decision
    public var notional: ExactDecimal
    public var rules: [RuleOutcome]
    public var sanctionsCandidates: [ScreeningCandidate]
    public var sanctionsListVersions: [String: UUID]
}

/// An instrument the tenant trades: its precision and whether it is a 13(f) security.
public struct InstrumentSpec: Sendable, Equatable {
    public var symbol: String
    public var priceDecimals: Int
    public var quantityDecimals: Int
    /// Units of the underlying per contract (a derivative's multiplier; 1 otherwise).
    public var contractSize: ExactDecimal

    public init(symbol: String, priceDecimals: Int, quantityDecimals: Int, contractSize: ExactDecimal = ExactDecimal(1))
    {
        self.symbol = symbol
        self.priceDecimals = priceDecimals
        self.quantityDecimals = quantityDecimals
        self.contractSize = contractSize
    }
}

/// A resting order of the same account family, for self-match detection.
public struct RestingOrder: Sendable, Equatable {
    public var accountId: UUID
    public var side: TradeCheckRequest.Side
    public var price: ExactDecimal

    public init(accountId: UUID, side: TradeCheckRequest.Side, price: ExactDecimal) {
        self.accountId = accountId
        self.side = side
        self.price = price
    }
}

/// A recent execution of the same account family, for wash-trade detection.
public struct RecentTrade: Sendable, Equatable {
    public var accountId: UUID
    public var side: TradeCheckRequest.Side
    public var price: ExactDecimal
    public var secondsAgo: Int

    public init(accountId: UUID, side: TradeCheckRequest.Side, price: ExactDecimal, secondsAgo: Int) {
        self.accountId = accountId
        self.side = side
        self.price = price
        self.secondsAgo = secondsAgo
    }
}

/// Everything the rules look at, loaded before evaluation (so evaluation itself is pure and fast).
public struct TradeCheckContext: Sendable {
    /// The account, then its parent, grandparent… (limits and kill switches apply down the chain).
    public var accountChain: [InstitutionalAccount]
    /// Current signed positions of the account, by symbol.
    public var positions: [String: ExactDecimal]
    /// Notional already booked today by the account.
    public var bookedToday: ExactDecimal
    public var restricted: [String: String]
    public var referencePrice: ExactDecimal?
    /// How old the reference price is, in seconds (nil: unknown, taken as current).
    public var referencePriceAgeSeconds: Int?
    /// US dollars per unit of the order's quote currency (limits are in US dollars); nil when no
    /// rate is known, which sends an order that a notional limit applies to to review.
    public var usdPerQuoteUnit: ExactDecimal? = ExactDecimal(1)
    /// How old that rate is, in seconds (nil: current, as USD itself is).
    public var usdRateAgeSeconds: Int?
    public var restingOrders: [RestingOrder]
    public var recentTrades: [RecentTrade]
    /// For each account of the chain, what its whole family (it and every sub-account below it)
    /// holds and booked today: a parent's daily and position limits bind the sum. An account
    /// missing here is taken alone (its own position and day).
    public var familyFigures: [UUID: FamilyFigures] = [:]
    /// Units of the underlying per contract of the order's instrument: its notional is
    /// quantity × price × this.
    public var contractSize = ExactDecimal(1)
    /// The credit lines the order draws on; nil: credit is not checked (no source of lines).
    public var creditLines: [CreditLineStanding]?

    /// One account's family figures in the order's instrument.
    public struct FamilyFigures: Sendable, Equatable {
        public var position: ExactDecimal
        public var bookedToday: ExactDecimal

        public init(position: ExactDecimal, bookedToday: ExactDecimal) {
            self.position = position
            self.bookedToday = bookedToday
        }
    }

    public init(
        accountChain: [InstitutionalAccount], positions: [String: ExactDecimal] = [:],
        bookedToday: ExactDecimal = .zero,
        restricted: [String: String] = [:], referencePrice: ExactDecimal? = nil, restingOrders: [RestingOrder] = [],
        recentTrades: [RecentTrade] = []
    ) {
        self.accountChain = accountChain
        self.positions = positions
        self.bookedToday = bookedToday
        self.restricted = restricted
        self.referencePrice = referencePrice
        self.restingOrders = restingOrders
        self.recentTrades = recentTrades
    }
}

/// The pre-trade rules. Thresholds are explicit so a decision can be explained and reproduced.
public struct TradeCheckRules: Sendable {
    /// Beyond this distance from the reference price an order goes to review…
    public var priceBandReview = ExactDecimal(significand: 5, scale: 2)
    /// …and beyond this it is rejected as a likely fat finger.
    public var priceBandReject = ExactDecimal(significand: 10, scale: 2)
    /// A reference price older than this no longer vouches for a price: the order goes to review.
    public var referencePriceMaxAgeSeconds = 86_400
    /// A US dollar rate older than this no longer values an order against the limits: an order a
    /// notional limit applies to goes to review (four days by default: a rate from before a long
    /// weekend still counts).
    public var fxRateMaxAgeSeconds = 4 * 86_400
    /// Name-screening scores from here go to review; from `sanctionsReject` they are rejected.
    public var sanctionsReview = 0.88
    public var sanctionsReject = 0.95
    /// An opposite execution this recent at (nearly) the same price suggests a wash trade.
    public var washWindowSeconds = 300
    public var washPriceTolerance = ExactDecimal(significand: 1, scale: 3)

    public init() {}

    /// Validates the request's fields against the instrument; throws naming the field and rule.
    public static func validate(
        _ request: TradeCheckRequest, instrument: InstrumentSpec?
    ) throws -> TradeCheckRequest.Side {
        guard let side = TradeCheckRequest.Side(rawValue: request.side) else {
            throw ServiceError(.invalidInput, "field 'side': 'buy' or 'sell', not '\(request.side)'")
        }
        guard let instrument else {
            throw ServiceError(.invalidInput, "field 'symbol': unknown instrument '\(request.symbol)'")
        }
        guard request.quantity > .zero else {
            throw ServiceError(.invalidInput, "field 'quantity': must be greater than 0")
        }
        guard request.price > .zero else {
            throw ServiceError(.invalidInput, "field 'price': must be greater than 0")
        }
        try DecimalLimits.stored.check(request.quantity, field: "quantity")
        try DecimalLimits.stored.check(request.price, field: "price")
        try DecimalLimits.stored.check(
            try notional(of: request, contractSize: instrument.contractSize),
            field: "quantity × price × multiplier (the notional)")
        guard request.quantity.significantScale <= instrument.quantityDecimals else {
            throw ServiceError(
                .invalidInput,
                "field 'quantity': \(instrument.symbol) quantities have at most \(instrument.quantityDecimals) decimals"
            )
        }
        guard request.price.significantScale <= instrument.priceDecimals else {
            throw ServiceError(
                .invalidInput,
                "field 'price': \(instrument.symbol) prices have at most \(instrument.priceDecimals) decimals")
        }
        if let counterparty = request.counterparty, counterparty.count > 300 {
            throw ServiceError(.invalidInput, "field 'counterparty': at most 300 characters")
        }
        if let wallet = request.walletAddress, wallet.count > 128 || wallet.contains(where: \.isWhitespace) {
            throw ServiceError(.invalidInput, "field 'walletAddress': at most 128 characters, no spaces")
        }
        return side
    }

    /// The order's notional, quantity × price × the contract size (a derivative's multiplier);
    /// throws when it does not fit 38 digits.
    public static func notional(
        of request: TradeCheckRequest, contractSize: ExactDecimal = ExactDecimal(1)
    ) throws(ServiceError) -> ExactDecimal {
        try request.quantity.multiplied(by: request.price, figure: "the notional (field 'quantity' × field 'price')")
            .multiplied(by: contractSize, figure: "the notional (quantity × price × the contract's multiplier)")
    }

    /// Evaluates every rule and decides: any failure rejects, else any review sends to review.
    ///
    /// - Throws: `ServiceError` when a figure the rules need (the notional, today's total,
    ///   the position after the order) is beyond what an exact decimal holds.
    public func evaluate(
        _ request: TradeCheckRequest, side: TradeCheckRequest.Side, context: TradeCheckContext,
        screener: SanctionsScreener
    ) throws(ServiceError) -> TradeDecision {
        var rules: [RuleOutcome] = []
        let notional = try Self.notional(of: request, contractSize: context.contractSize)
        let account = context.accountChain[0]

        // A parent whose KYC is suspended or rejected blocks its sub-accounts, as its kill switch does.
        if account.kycStatus != .approved {
            rules.append(
                RuleOutcome("account_state", .fail, "the account's KYC is \(account.kycStatus.rawValue), not approved"))
        } else if let blocked = context.accountChain.dropFirst().first(where: {
            $0.kycStatus == .suspended || $0.kycStatus == .rejected
        }) {
            rules.append(
                RuleOutcome(
                    "account_state", .fail,
                    "the parent account \(blocked.accountName)'s KYC is \(blocked.kycStatus.rawValue)"))
        } else {
            rules.append(RuleOutcome("account_state", .pass, "KYC approved"))
        }

        if let engaged = context.accountChain.first(where: \.killSwitchEngaged) {
            let whose = engaged.id == account.id ? "the account's" : "the parent account \(engaged.accountName)'s"
            rules.append(RuleOutcome("kill_switch", .fail, "\(whose) kill switch is engaged"))
        } else {
            rules.append(RuleOutcome("kill_switch", .pass, "not engaged"))
        }

        var instrumentProblem: String?
        var venueProblem: String?
        var maxOrder: (ExactDecimal, String)?
        for (depth, holder) in context.accountChain.enumerated() {
            let label = depth == 0 ? "the account" : "parent account \(holder.accountName)"
            let limits = holder.limits
            if instrumentProblem == nil, let allowed = limits.allowedInstruments, !allowed.contains(request.symbol) {
                instrumentProblem = "\(request.symbol) is not among the instruments \(label) allows"
            }
            // Venues are MICs: compared without regard to case.
            if venueProblem == nil, let allowed = limits.allowedVenues,
                !allowed.contains(where: { $0.uppercased() == (request.venue ?? "").uppercased() })
            {
                venueProblem = "venue '\(request.venue ?? "none")' is not among the venues \(label) allows"
            }
            // The tightest limit along the chain binds; the nearest holder names it on a tie.
            if let value = limits.maxOrderNotional, maxOrder.map({ value < $0.0 }) ?? true {
                maxOrder = (value, label)
            }
        }
        rules.append(
            RuleOutcome("instrument_allowed", instrumentProblem == nil ? .pass : .fail, instrumentProblem ?? "allowed"))
        rules.append(RuleOutcome("venue_allowed", venueProblem == nil ? .pass : .fail, venueProblem ?? "allowed"))

        let quote = request.symbol.split(separator: "/").last.map(String.init) ?? "USD"
        let hasNotionalLimit = maxOrder != nil || context.accountChain.contains { $0.limits.dailyNotional != nil }
        // Limits are in US dollars: the order's notional is converted from its quote currency.
        var notionalUSD: ExactDecimal?
        if let rate = context.usdPerQuoteUnit {
            notionalUSD = try notional.multiplied(by: rate, figure: "the notional in US dollars").rounded(toScale: 18)
                .normalized
        }
        let staleRate = context.usdRateAgeSeconds.map { $0 > fxRateMaxAgeSeconds } ?? false
        if hasNotionalLimit, notionalUSD == nil || staleRate {
            let reason =
                notionalUSD == nil
                ? "cannot value the order in US dollars: no FX rate or \(quote)/USD price for \(quote) (record one with POST /api/enterprise/compliance/fx-rates)"
                : "the US dollar rate for \(quote) is \(Self.duration(context.usdRateAgeSeconds ?? 0)) old, older than \(Self.duration(fxRateMaxAgeSeconds)): it no longer values the order against the limits"
            rules.append(RuleOutcome("order_limit", .review, reason))
            rules.append(RuleOutcome("daily_limit", .review, reason))
        } else if let (limit, label) = maxOrder, let notionalUSD, notionalUSD > limit {
            let shown =
                quote == "USD" ? "notional \(notionalUSD)" : "notional \(notional) \(quote) (\(notionalUSD) USD)"
            rules.append(RuleOutcome("order_limit", .fail, "\(shown) exceeds \(label)'s order limit \(limit)"))
        } else {
            rules.append(RuleOutcome("order_limit", .pass, maxOrder.map { "within \($0.0)" } ?? "no order limit"))
        }
        if let notionalUSD, !(hasNotionalLimit && staleRate) {
            rules.append(
                try familyLimit(.daily, request: request, side: side, notional: notionalUSD, context: context))
        } else if !hasNotionalLimit {
            rules.append(RuleOutcome("daily_limit", .pass, "no daily limit"))
        }
        rules.append(try familyLimit(.position, request: request, side: side, notional: notional, context: context))
        if let credit = try creditLine(request, side: side, notionalUSD: notionalUSD, context: context) {
            rules.append(credit)
        }

        if let reason = context.restricted[request.symbol] {
            rules.append(RuleOutcome("restricted_list", .fail, "\(request.symbol) is restricted: \(reason)"))
        } else {
            rules.append(RuleOutcome("restricted_list", .pass, "not restricted"))
        }

        if let age = context.referencePriceAgeSeconds, age > referencePriceMaxAgeSeconds, context.referencePrice != nil
        {
            rules.append(
                RuleOutcome(
                    "price_band", .review,
                    "the reference price for \(request.symbol) is \(Self.duration(age)) old, older than \(Self.duration(referencePriceMaxAgeSeconds)): it no longer vouches for the price"
                ))
        } else {
            rules.append(priceBand(request.price, reference: context.referencePrice, symbol: request.symbol))
        }

        let crossing = context.restingOrders.first { order in
            order.side != side && (side == .buy ? order.price <= request.price : order.price >= request.price)
        }
        if let crossing {
            rules.append(
                RuleOutcome(
                    "self_match", .fail,
                    "it would cross the family's own resting \(crossing.side.rawValue) order at \(crossing.price)"))
        } else {
            rules.append(RuleOutcome("self_match", .pass, "no crossing order of the account family"))
        }
        let tolerance = try request.price.multiplied(by: washPriceTolerance, figure: "the wash-trade tolerance")
        let wash = context.recentTrades.first { trade in
            let gap = trade.price > request.price ? trade.price - request.price : request.price - trade.price
            return trade.side != side && trade.secondsAgo <= washWindowSeconds && gap <= tolerance
        }
        if let wash {
            rules.append(
                RuleOutcome(
                    "wash_trade", .review,
                    "an opposite \(wash.side.rawValue) at \(wash.price) \(wash.secondsAgo) s ago in the account family")
            )
        } else {
            rules.append(RuleOutcome("wash_trade", .pass, "no offsetting trade nearby"))
        }

        var candidates: [ScreeningCandidate] = []
        if let wallet = request.walletAddress {
            candidates += screener.screen(address: wallet)
        }
        if let counterparty = request.counterparty {
            candidates += screener.screen(name: counterparty, threshold: sanctionsReview, limit: 5)
        }
        if let top = candidates.max(by: { $0.score < $1.score }) {
            let verdict: RuleOutcome.Verdict = top.score >= sanctionsReject ? .fail : .review
            rules.append(
                RuleOutcome(
                    "sanctions", verdict,
                    "'\(top.matched)' matches \(top.source.rawValue) entry \(top.identifier) (\(top.name)) with score \(top.score)"
                ))
        } else {
            let what = [request.counterparty.map { _ in "counterparty" }, request.walletAddress.map { _ in "wallet" }]
                .compactMap { $0 }
            rules.append(
                RuleOutcome(
                    "sanctions", .pass,
                    what.isEmpty
                        ? "no counterparty or wallet given" : "no match for the \(what.joined(separator: " and "))"))
        }

        let decision: TradeDecision.Decision =
            rules.contains { $0.outcome == .fail }
            ? .rejected : rules.contains { $0.outcome == .review } ? .review : .approved
        return TradeDecision(
            decision: decision, notional: notional, rules: rules, sanctionsCandidates: candidates,
            sanctionsListVersions: Dictionary(
                uniqueKeysWithValues: screener.versions.map { ($0.key.rawValue, $0.value) }))
    }
}

extension TradeCheckRules {
    /// `90 s`, `3 min`, `26 h`, `3 d`: an age as a person reads it (whole units, rounded down).
    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<120: "\(seconds) s"
        case ..<7_200: "\(seconds / 60) min"
        case ..<172_800: "\(seconds / 3_600) h"
        default: "\(seconds / 86_400) d"
        }
    }

    enum FamilyLimit { case daily, position }

    /// The daily-notional or position rule: every account of the chain with such a limit binds
    /// the sum over its family (it and its sub-accounts) with this order; the nearest account
    /// whose limit would be passed is named.
    func familyLimit(
        _ kind: FamilyLimit, request: TradeCheckRequest, side: TradeCheckRequest.Side, notional: ExactDecimal,
        context: TradeCheckContext
    ) throws(ServiceError) -> RuleOutcome {
        let own = TradeCheckContext.FamilyFigures(
            position: context.positions[request.symbol] ?? .zero, bookedToday: context.bookedToday)
        // The pass reason names the limit with the least headroom left.
        var tightest: (reason: String, headroom: ExactDecimal)?
        for (depth, holder) in context.accountChain.enumerated() {
            let label = depth == 0 ? "the account" : "parent account \(holder.accountName)"
            let family = context.familyFigures[holder.id] ?? own
            let scope = context.familyFigures[holder.id] == nil ? "" : " (with its sub-accounts)"
            switch kind {
            case .daily:
                guard let limit = holder.limits.dailyNotional else { continue }
                let total = try family.bookedToday.adding(notional, figure: "today's notional with this order")
                if total > limit {
                    return RuleOutcome(
                        "daily_limit", .fail,
                        "today's notional would be \(total)\(scope), above \(label)'s daily limit \(limit)")
                }
                if tightest.map({ limit - total < $0.headroom }) ?? true {
                    tightest = ("\(total) of \(limit)", limit - total)
                }
            case .position:
                guard let limit = holder.limits.positionLimits?[request.symbol] else { continue }
                let after =
                    side == .buy
                    ? try family.position.adding(request.quantity, figure: "the position after this order")
                    : try family.position.subtracting(request.quantity, figure: "the position after this order")
                let absolute = after.isNegative ? -after : after
                if absolute > limit {
                    return RuleOutcome(
                        "position_limit", .fail,
                        "position in \(request.symbol) would be \(after)\(scope) (now \(family.position)), beyond \(label)'s limit \(limit)"
                    )
                }
                if tightest.map({ limit - absolute < $0.headroom }) ?? true {
                    tightest = ("position would be \(after) of ±\(limit)", limit - absolute)
                }
            }
        }
        switch kind {
        case .daily: return RuleOutcome("daily_limit", .pass, tightest?.reason ?? "no daily limit")
        case .position: return RuleOutcome("position_limit", .pass, tightest?.reason ?? "no position limit")
        }
    }

    /// The fat-finger rule: the order's distance from the reference price. The comparison is
    /// exact — `|price − reference| > band × reference`, no division, nothing rounded — so a price
    /// 10.00004 % away is past a 10 % band; the reason shows the distance to 6 decimals of a
    /// percent, rounded toward the band it was compared with (never shown inside it).
    func priceBand(_ price: ExactDecimal, reference: ExactDecimal?, symbol: String) -> RuleOutcome {
        guard let reference, reference > .zero else {
            return RuleOutcome("price_band", .review, "no reference price for \(symbol)")
        }
        // Both prices fit numeric(38, 18), so their difference cannot overflow; a band times the
        // reference that cannot be computed is treated as beyond any band.
        let difference = price > reference ? price - reference : reference - price
        guard case (let rejectAt, false) = reference.multipliedReportingOverflow(by: priceBandReject),
            case (let reviewAt, false) = reference.multipliedReportingOverflow(by: priceBandReview)
        else {
            return RuleOutcome(
                "price_band", .fail, "price \(price) is immeasurably far from the reference \(reference)")
        }
        func percent(toward rule: ExactDecimal.RoundingRule) -> String {
            guard let share = difference.divided(by: reference, scale: 8, rule: rule),
                case (let hundredfold, false) = share.multipliedReportingOverflow(by: ExactDecimal(100))
            else { return "more than 10^20 " }
            let shown = hundredfold.normalized
            return shown.rounded(toScale: max(2, shown.scale)).description
        }
        if difference > rejectAt {
            return RuleOutcome(
                "price_band", .fail,
                "price \(price) is \(percent(toward: .awayFromZero))% from the reference \(reference)")
        }
        if difference > reviewAt {
            return RuleOutcome(
                "price_band", .review,
                "price \(price) is \(percent(toward: .awayFromZero))% from the reference \(reference)")
        }
        return RuleOutcome("price_band", .pass, "within \(percent(toward: .towardZero))% of the reference \(reference)")
    }
}
