public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// Runs pre-trade checks for one tenant: loads what the rules need in the tenant's transaction,
/// evaluates in memory, stores the decision in `compliance_records` and audits it.
public struct TradeCheckService: Sendable {
    public let rules: TradeCheckRules
    /// The credit lines an order must stay within; nil: credit is not checked.
    public let credit: (any CreditLineSource)?
    private let accounts = AccountService()

    public init(rules: TradeCheckRules = TradeCheckRules(), credit: (any CreditLineSource)? = nil) {
        self.rules = rules
        self.credit = credit
    }

    public func check(
        _ request: TradeCheckRequest, screener: SanctionsScreener, audit: any AuditSink, actor: String,
        in transaction: PostgresTransaction
    ) async throws -> (id: UUID, decision: TradeDecision) {
        // The venue is checked in the context's round trip (`loadContext`): no query of its own
        // on this hot path.
        var request = request
        request.venue = request.venue?.uppercased()
        let instrument = try await Self.instrument(request.symbol, in: transaction)
        let side = try TradeCheckRules.validate(request, instrument: instrument)
        var context = try await loadContext(for: request, side: side, in: transaction)
        context.contractSize = instrument?.contractSize ?? ExactDecimal(1)
        context.creditLines = try await credit?.standings(
            ofAccount: request.accountId, counterparty: request.counterparty, in: transaction)
        let decision = try rules.evaluate(request, side: side, context: context, screener: screener)
        let rows = try await transaction.query(
            """
            INSERT INTO compliance_records (account_id, kind, decision, request, outcome, checked_by)
            VALUES (\(request.accountId), 'trade_check', \(decision.decision.rawValue),
                    \(try PostgresJSON(encoding: request))::jsonb, \(try PostgresJSON(encoding: decision))::jsonb, \(actor))
            RETURNING id
            """
        )
        let id = try rows.firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "compliance.trade_checked", objectType: "compliance_record", objectID: id.uuidString.lowercased(),
            accountID: request.accountId,
            details: [
                "decision": decision.decision.rawValue, "symbol": request.symbol, "side": request.side,
                "failed": decision.rules.filter { $0.outcome != .pass }.map(\.rule).joined(separator: ","),
            ],
            in: transaction)
        return (id, decision)
    }

    static func instrument(_ symbol: String, in transaction: PostgresTransaction) async throws -> InstrumentSpec? {
        let rows = try await transaction.query(
            """
            SELECT symbol, price_decimals, quantity_decimals, coalesce(derivative_terms ->> 'multiplier', '1') AS multiplier
            FROM instruments WHERE symbol = \(symbol)
            """
        )
        return try rows.first.map { row in
            InstrumentSpec(
                symbol: try row.decode("symbol", as: String.self),
                priceDecimals: try row.decode("price_decimals", as: Int.self),
                quantityDecimals: try row.decode("quantity_decimals", as: Int.self),
                contractSize: try ExactDecimal(parsing: try row.decode("multiplier", as: String.self)))
        }
    }

    /// The account and its ancestors, nearest first; `.notFound` for an unknown account.
    func chain(of accountID: UUID, in transaction: PostgresTransaction) async throws -> [InstitutionalAccount] {
        var chain: [InstitutionalAccount] = []
        var next: UUID? = accountID
        while let id = next, chain.count < 16 {
            let account: InstitutionalAccount
            do {
                account = try await accounts.account(id, in: transaction)
            } catch let error as ServiceError where error.code == .notFound {
                throw ServiceError(.notFound, "no account with id \(accountID.uuidString.lowercased())")
            }
            chain.append(account)
            next = account.parentId
        }
        return chain
    }

    func loadContext(
        for request: TradeCheckRequest, side: TradeCheckRequest.Side, in transaction: PostgresTransaction
    )
        async throws -> TradeCheckContext
    {
        let chain = try await chain(of: request.accountId, in: transaction)
        let quote = Self.quoteCurrency(of: request.symbol)
        let root = chain.last!.id
        // One round trip for the account's own figures.
        let figures = try await transaction.query(
            """
            SELECT
              (SELECT quantity FROM positions WHERE account_id = \(request.accountId) AND symbol = \(request.symbol)) AS position,
              (SELECT coalesce(sum(coalesce(notional_usd, notional)), 0) FROM trades
                 WHERE account_id = \(request.accountId) AND executed_at >= date_trunc('day', now())
                   AND cancelled_at IS NULL) AS booked_today,
              (SELECT reason FROM restricted_instruments WHERE symbol = \(request.symbol)) AS restricted,
              (SELECT price FROM reference_prices WHERE symbol = \(request.symbol)) AS reference_price,
              (SELECT extract(epoch FROM now() - as_of)::bigint FROM reference_prices WHERE symbol = \(request.symbol))
                AS reference_age,
              (SELECT usd_per_unit FROM fx_rates WHERE currency = \(quote) AND as_of <= now()
                 ORDER BY as_of DESC LIMIT 1)::text AS quote_fx,
              (SELECT extract(epoch FROM now() - as_of)::bigint FROM fx_rates WHERE currency = \(quote) AND as_of <= now()
                 ORDER BY as_of DESC LIMIT 1) AS quote_fx_age,
              (SELECT price FROM market_prices WHERE symbol = \(quote + "/USD") AND as_of <= now()
                 ORDER BY as_of DESC LIMIT 1)::text AS quote_market,
              (SELECT extract(epoch FROM now() - as_of)::bigint FROM market_prices
                 WHERE symbol = \(quote + "/USD") AND as_of <= now() ORDER BY as_of DESC LIMIT 1) AS quote_market_age,
              (SELECT mic FROM trading_venues WHERE mic = \(request.venue)) AS venue_mic
            """
        ).firstRow
        if let venue = request.venue, try figures.decode("venue_mic", as: String?.self) == nil {
            throw ComplianceReferenceData.unknownVenue(venue)
        }
        // The account family: everything under the same top-level account.
        let family = try await transaction.query(
            """
            WITH RECURSIVE family AS (
                SELECT id FROM institutional_accounts WHERE id = \(root)
                UNION ALL
                SELECT a.id FROM institutional_accounts a JOIN family f ON a.parent_id = f.id
            )
            SELECT 'order' AS kind, o.account_id, o.side, o.limit_price AS price, 0 AS seconds_ago FROM orders o
              WHERE o.symbol = \(request.symbol) AND o.account_id IN (SELECT id FROM family) AND o.status = 'open'
                AND o.limit_price IS NOT NULL AND (o.expires_at IS NULL OR o.expires_at > now())
            UNION ALL
            SELECT 'trade', t.account_id, t.side, t.price, extract(epoch FROM now() - t.executed_at)::int FROM trades t
              WHERE t.symbol = \(request.symbol) AND t.account_id IN (SELECT id FROM family) AND t.cancelled_at IS NULL
                AND t.executed_at > now() - make_interval(secs => \(rules.washWindowSeconds))
            """
        )
        var resting: [RestingOrder] = []
        var recent: [RecentTrade] = []
        for row in family {
            let side = TradeCheckRequest.Side(rawValue: try row.decode("side", as: String.self)) ?? .buy
            let account = try row.decode("account_id", as: UUID.self)
            let price = try row.decode("price", as: ExactDecimal.self)
            if try row.decode("kind", as: String.self) == "order" {
                resting.append(RestingOrder(accountId: account, side: side, price: price))
            } else {
                recent.append(
                    RecentTrade(
                        accountId: account, side: side, price: price,
                        secondsAgo: try row.decode("seconds_ago", as: Int.self)))
            }
        }
        var positions: [String: ExactDecimal] = [:]
        if let position = try figures.decode("position", as: ExactDecimal?.self) {
            positions[request.symbol] = position
        }
        var restricted: [String: String] = [:]
        if let reason = try figures.decode("restricted", as: String?.self) { restricted[request.symbol] = reason }
        var context = TradeCheckContext(
            accountChain: chain, positions: positions,
            bookedToday: try figures.decode("booked_today", as: ExactDecimal.self),
            restricted: restricted, referencePrice: try figures.decode("reference_price", as: ExactDecimal?.self),
            restingOrders: resting, recentTrades: recent)
        context.referencePriceAgeSeconds = try figures.decode("reference_age", as: Int?.self)
        // In the same round trip as the other figures (the order's check is a hot path); the same
        // rule as `ComplianceReferenceData.usdPerUnit`: USD, else the FX rate, else the market price.
        if quote == "USD" {
            context.usdPerQuoteUnit = ExactDecimal(1)
        } else {
            if let rate = try figures.decode("quote_fx", as: String?.self) {
                context.usdPerQuoteUnit = try ExactDecimal(parsing: rate).normalized
                context.usdRateAgeSeconds = try figures.decode("quote_fx_age", as: Int?.self)
            } else if let price = try figures.decode("quote_market", as: String?.self) {
                context.usdPerQuoteUnit = try ExactDecimal(parsing: price).normalized
                context.usdRateAgeSeconds = try figures.decode("quote_market_age", as: Int?.self)
            } else {
                context.usdPerQuoteUnit = nil
            }
        }
        context.familyFigures = try await familyFigures(
            of: chain.filter { $0.limits.dailyNotional != nil || $0.limits.positionLimits?[request.symbol] != nil }
                .map(\.id),
            symbol: request.symbol, in: transaction)
        return context
    }

    /// What a booking breaks of the controls an order would have been stopped by: a kill switch
    /// along the chain, the account's (or a parent's) KYC, the order limit.
    static func controlBreaches(chain: [InstitutionalAccount], notionalUSD: ExactDecimal?) -> [String] {
        var breaches: [String] = []
        if let halted = chain.first(where: \.killSwitchEngaged) {
            breaches.append(
                halted.id == chain[0].id
                    ? "the account's kill switch is engaged"
                    : "the parent account \(halted.accountName)'s kill switch is engaged")
        }
        if chain[0].kycStatus != .approved {
            breaches.append("the account's KYC is \(chain[0].kycStatus.rawValue)")
        } else if let blocked = chain.dropFirst().first(where: {
            $0.kycStatus == .suspended || $0.kycStatus == .rejected
        }) {
            breaches.append("the parent account \(blocked.accountName)'s KYC is \(blocked.kycStatus.rawValue)")
        }
        if let notionalUSD, let limit = chain.compactMap(\.limits.maxOrderNotional).min(), notionalUSD > limit {
            breaches.append("its notional \(notionalUSD) USD exceeds the order limit \(limit)")
        }
        return breaches
    }

    /// The currency an instrument is priced in: what follows the `/` (`ETH/BTC` → `BTC`).
    public static func quoteCurrency(of symbol: String) -> String {
        symbol.split(separator: "/").last.map(String.init) ?? symbol
    }

    /// For each of `accounts`, the position in `symbol` and today's booked notional summed over
    /// the account and every sub-account below it (one query; none for accounts without a
    /// family limit).
    func familyFigures(
        of accounts: [UUID], symbol: String, in transaction: PostgresTransaction
    ) async throws -> [UUID: TradeCheckContext.FamilyFigures] {
        guard !accounts.isEmpty else { return [:] }
        let rows = try await transaction.query(
            """
            WITH RECURSIVE family AS (
                SELECT id, id AS head FROM institutional_accounts WHERE id = ANY(\(accounts)::uuid[])
                UNION ALL
                SELECT a.id, f.head FROM institutional_accounts a JOIN family f ON a.parent_id = f.id
            )
            SELECT f.head,
                   coalesce((SELECT sum(p.quantity) FROM positions p
                             WHERE p.symbol = \(symbol) AND p.account_id = ANY(array_agg(f.id))), 0) AS position,
                   coalesce((SELECT sum(coalesce(t.notional_usd, t.notional)) FROM trades t
                             WHERE t.account_id = ANY(array_agg(f.id)) AND t.executed_at >= date_trunc('day', now())
                               AND t.cancelled_at IS NULL), 0) AS booked_today
            FROM family f GROUP BY f.head
            """
        )
        var figures: [UUID: TradeCheckContext.FamilyFigures] = [:]
        for row in rows {
            figures[try row.decode("head", as: UUID.self)] = TradeCheckContext.FamilyFigures(
                position: try row.decode("position", as: ExactDecimal.self).normalized,
                bookedToday: try row.decode("booked_today", as: ExactDecimal.self))
        }
        return figures
    }

    /// Books an execution: the trade, the position, and the audit record, in one transaction.
    ///
    /// With `monitoring`, the booked position is checked at once (real-time monitoring): a
    /// position beyond the limit of the account or a parent, or worth more than
    /// `concentrationShare` of the account's AUM, raises an alert.
    /// - Parameter executedAt: When the trade was executed (to the microsecond, as reports need
    ///   it); nil: now. A time in the future is refused.
    /// - Parameter reviewingCredit: Whether the account's credit lines are reviewed once the trade
    ///   is booked; false for a caller that changes more first (an order's fill: its working
    ///   quantity falls after the trade is in) and reviews itself.
    public func book(
        _ trade: TradeCheckRequest, arrivalPrice: ExactDecimal?, executedAt: Date? = nil, orderID: UUID? = nil,
        details: TradeReportingDetails = TradeReportingDetails(), audit: any AuditSink,
        monitoring: MonitoringService? = nil, reviewingCredit: Bool = true,
        in transaction: PostgresTransaction, now: Date = Date()
    ) async throws -> (id: UUID, alerts: [ComplianceAlert]) {
        let executedAt = executedAt ?? now
        guard executedAt <= now.addingTimeInterval(60) else {
            throw ServiceError(
                .invalidInput, "field 'executedAt': \(Timestamp.format(executedAt)) is in the future")
        }
        var trade = trade
        trade.venue = try await ComplianceReferenceData.venueMIC(trade.venue, in: transaction)
        let instrument = try await Self.instrument(trade.symbol, in: transaction)
        let side = try TradeCheckRules.validate(trade, instrument: instrument)
        try details.validate(side: side)
        let chain = try await chain(of: trade.accountId, in: transaction)
        let notional = try TradeCheckRules.notional(
            of: trade, contractSize: instrument?.contractSize ?? ExactDecimal(1))
        var notionalUSD: ExactDecimal?
        if let rate = try await ComplianceReferenceData.usdPerUnit(
            of: Self.quoteCurrency(of: trade.symbol), at: executedAt, in: transaction)
        {
            notionalUSD = try notional.multiplied(by: rate, figure: "the notional in US dollars").rounded(toScale: 18)
                .normalized
        }
        let signed = side == .buy ? trade.quantity : -trade.quantity
        let rows = try await transaction.query(
            """
            INSERT INTO trades
                (account_id, symbol, side, quantity, price, notional, notional_usd, venue, counterparty, arrival_price,
                 executed_at, order_id, capacity, short_selling, decision_maker, executing_person, counterparty_lei,
                 ccp_lei, aggregated)
            VALUES (\(trade.accountId), \(trade.symbol), \(side.rawValue), \(trade.quantity), \(trade.price), \(notional),
                    \(notionalUSD),
                    \(trade.venue), \(trade.counterparty), \(arrivalPrice), \(executedAt), \(orderID),
                    \((details.capacity ?? .dealing).rawValue), \(details.shortSelling?.rawValue),
                    \(try details.decisionMaker.map { try PostgresJSON(encoding: $0) })::jsonb,
                    \(try details.executingPerson.map { try PostgresJSON(encoding: $0) })::jsonb,
                    \(details.counterpartyLei), \(details.ccpLei), \(details.aggregated ?? false))
            RETURNING id
            """
        )
        let position = try await transaction.query(
            """
            INSERT INTO positions (account_id, symbol, quantity) VALUES (\(trade.accountId), \(trade.symbol), \(signed))
            ON CONFLICT (account_id, symbol) DO UPDATE SET quantity = positions.quantity + EXCLUDED.quantity, updated_at = now()
            RETURNING quantity
            """
        ).firstRow.decode("quantity", as: ExactDecimal.self).normalized
        let id = try rows.firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "trade.booked", objectType: "trade", objectID: id.uuidString.lowercased(), accountID: trade.accountId,
            details: [
                "symbol": trade.symbol, "side": side.rawValue, "quantity": trade.quantity.description,
                "price": trade.price.description,
            ],
            in: transaction)
        var alerts: [ComplianceAlert] = []
        // A booking is an execution reported from outside: it is never refused (the fact is
        // kept), but one made against the controls raises a critical alert at once.
        if let monitoring {
            let breaches = Self.controlBreaches(chain: chain, notionalUSD: notionalUSD)
            if !breaches.isEmpty {
                alerts.append(
                    try await monitoring.raise(
                        .init(
                            kind: "booking_against_controls", severity: "critical",
                            summary: "booked although " + breaches.joined(separator: "; ")),
                        accountID: trade.accountId, subject: ["trade": id.uuidString.lowercased()], audit: audit,
                        in: transaction))
            }
        }
        if let monitoring, monitoring.enabled {
            let absolute = position.isNegative ? -position : position
            let limit = chain.compactMap { $0.limits.positionLimits?[trade.symbol] }.min()
            if let limit, absolute > limit {
                alerts.append(
                    try await monitoring.raise(
                        .init(
                            kind: "position_limit_breach", severity: "high",
                            summary:
                                "position in \(trade.symbol) is \(position) after this trade, beyond the limit \(limit)"
                        ),
                        accountID: trade.accountId, subject: ["trade": id.uuidString.lowercased()], audit: audit,
                        in: transaction))
            }
            let aum = chain[0].totalAUM
            // A product too large to compute is beyond any share of an AUM that fits numeric(38, 2).
            let unitPrice = trade.price.normalized.multipliedReportingOverflow(
                by: instrument?.contractSize ?? ExactDecimal(1))
            var exposure = absolute.multipliedReportingOverflow(by: unitPrice.partialValue)
            exposure.overflow = exposure.overflow || unitPrice.overflow
            let threshold = aum * concentrationShare
            if aum > .zero, exposure.overflow || exposure.partialValue > threshold {
                alerts.append(
                    try await monitoring.raise(
                        .init(
                            kind: "concentration", severity: "medium",
                            summary:
                                "\(trade.symbol) exposure \(exposure.overflow ? "beyond 10^38" : exposure.partialValue.description) exceeds \((concentrationShare * ExactDecimal(100)).normalized)% of the account's AUM \(aum)"
                        ),
                        accountID: trade.accountId, subject: ["trade": id.uuidString.lowercased()], audit: audit,
                        in: transaction))
            }
        }
        if let credit, reviewingCredit {
            alerts += try await credit.reviewAfterBooking(ofAccount: trade.accountId, audit: audit, in: transaction)
        }
        return (id, alerts)
    }

    /// A single position worth more than this share of the account's AUM is a concentration.
    public var concentrationShare: ExactDecimal { ExactDecimal(significand: 25, scale: 2) }
}

extension TradeCheckService {
    public static func instrumentExists(_ symbol: String, in transaction: PostgresTransaction) async throws -> Bool {
        try await instrument(symbol, in: transaction) != nil
    }
}

extension TradeCheckService {
    /// Cancels a booked trade: marked cancelled (never deleted, so reports can cancel it too) and
    /// its effect on the position reversed.
    /// - Parameter kind: A bust (the trade was erroneous: reported as an error, never valued,
    ///   never held) or an early termination (it stood until now).
    public func cancel(
        _ tradeID: UUID, reason: String, kind: TradeCancellation = .bust, audit: any AuditSink,
        in transaction: PostgresTransaction
    )
        async throws
    {
        guard (3...500).contains(reason.count) else {
            throw ServiceError(.invalidInput, "field 'reason': why the trade is cancelled (3 to 500 characters)")
        }
        let rows = try await transaction.query(
            """
            UPDATE trades SET cancelled_at = now(), cancellation = \(kind.rawValue)
            WHERE id = \(tradeID) AND cancelled_at IS NULL
            RETURNING account_id, symbol, side, quantity
            """
        )
        guard let row = rows.first else {
            throw ServiceError(
                .notFound, "no open trade \(tradeID.uuidString.lowercased()) (unknown or already cancelled)")
        }
        let accountID = try row.decode("account_id", as: UUID.self)
        let quantity = try row.decode("quantity", as: ExactDecimal.self)
        let reversal = try row.decode("side", as: String.self) == "buy" ? -quantity : quantity
        try await transaction.execute(
            """
            UPDATE positions SET quantity = quantity + \(reversal), updated_at = now()
            WHERE account_id = \(accountID) AND symbol = \(try row.decode("symbol", as: String.self))
            """
        )
        try await audit.record(
            "trade.cancelled", objectType: "trade", objectID: tradeID.uuidString.lowercased(), accountID: accountID,
            details: ["reason": reason, "kind": kind.rawValue], in: transaction)
    }
}

/// Why a booked trade is cancelled.
public enum TradeCancellation: String, Sendable, CaseIterable, Codable {
    /// Erroneous: as if it had never been executed (EMIR `EROR`, MiFIR `Cxl`).
    case bust
    /// Ended early: it stood until it was cancelled (EMIR early termination).
    case termination
}

extension TradeCheckService {
    /// Corrects a booked trade's quantity or price (a modification for trade reporting); the
    /// position moves by the difference.
    public func amend(
        _ tradeID: UUID, quantity: ExactDecimal?, price: ExactDecimal?, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws {
        guard quantity != nil || price != nil else {
            throw ServiceError(.invalidInput, "send 'quantity', 'price' or both")
        }
        let rows = try await transaction.query(
            """
            SELECT account_id, symbol, side, quantity, price FROM trades
            WHERE id = \(tradeID) AND cancelled_at IS NULL FOR UPDATE
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no open trade \(tradeID.uuidString.lowercased())")
        }
        let symbol = try row.decode("symbol", as: String.self)
        let side = try row.decode("side", as: String.self)
        let accountID = try row.decode("account_id", as: UUID.self)
        let oldQuantity = try row.decode("quantity", as: ExactDecimal.self).normalized
        let newQuantity = quantity ?? oldQuantity
        let oldPrice = try row.decode("price", as: ExactDecimal.self).normalized
        let newPrice = price ?? oldPrice
        // Validated like a new trade on the same instrument.
        let amended = TradeCheckRequest(
            accountId: accountID, symbol: symbol, side: side, quantity: newQuantity, price: newPrice)
        let instrument = try await Self.instrument(symbol, in: transaction)
        _ = try TradeCheckRules.validate(amended, instrument: instrument)
        let notional = try TradeCheckRules.notional(
            of: amended, contractSize: instrument?.contractSize ?? ExactDecimal(1))
        // The figures replaced are kept: reports cancel the version they reported and report the
        // new one.
        try await transaction.execute(
            """
            WITH amended AS (
                UPDATE trades SET quantity = \(newQuantity), price = \(newPrice), notional = \(notional),
                    amended_at = now(), version = version + 1
                WHERE id = \(tradeID)
                RETURNING version
            )
            INSERT INTO trade_amendments (trade_id, version, previous_quantity, previous_price, quantity, price)
            SELECT \(tradeID), version, \(oldQuantity), \(oldPrice), \(newQuantity), \(newPrice) FROM amended
            """
        )
        let difference = newQuantity - oldQuantity
        try await transaction.execute(
            """
            UPDATE positions SET quantity = quantity + \(side == "buy" ? difference : -difference), updated_at = now()
            WHERE account_id = \(accountID) AND symbol = \(symbol)
            """
        )
        try await audit.record(
            "trade.amended", objectType: "trade", objectID: tradeID.uuidString.lowercased(), accountID: accountID,
            details: ["quantity": newQuantity.description, "price": newPrice.description], in: transaction)
    }
}
