public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// A strategy as the API shows it.
public struct MarketMakingStrategy: Sendable, Equatable, Codable {
    public var id: UUID
    public var accountId: UUID
    public var name: String
    public var status: String
    public var statusReason: String?
    public var definition: MarketMakingDefinition
    public var version: Int
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// One market's inventory and P&L now.
public struct MarketPosition: Sendable, Equatable, Codable {
    public var market: String
    public var position: ExactDecimal
    public var averageCost: ExactDecimal?
    public var realisedPnL: ExactDecimal
    /// Marked to the last mid (nil before the first tick).
    public var unrealisedPnL: ExactDecimal?
    public var fees: ExactDecimal
    public var volume: ExactDecimal
    public var spreadCaptured: ExactDecimal
    public var fills: Int
    public var mid: Double?
    /// Order levels posted by the quotes computed at ticks (each update posts its levels afresh).
    public var ordersPosted: Int
    /// Fills per order posted (nil before any order was posted).
    public var fillRate: Double?
    /// The share of the time since the first tick quoted on both sides (nil until two ticks
    /// apart in time).
    public var timeInMarket: Double?
}

/// Strategies, their markets' live state and their fills. Every method runs in a transaction
/// the caller opened as the tenant; every change is audited in it.
public struct MarketMakingService: Sendable {
    public init() {}

    /// The largest price or quantity the service takes (so products and sums of exact amounts
    /// cannot overflow).
    public static let largestPrice = 1e12
    static let largestAmount = ExactDecimal(1_000_000_000_000)

    static let columns: StaticString =
        "id, account_id, name, status, status_reason, definition, version, created_by, created_at, updated_at"

    public func create(
        _ definition: MarketMakingDefinition, account: UUID, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> MarketMakingStrategy {
        _ = try await AccountService().account(account, in: transaction)
        guard
            try await transaction.query(
                "SELECT 1 FROM market_making_strategies WHERE account_id = \(account) AND name = \(definition.name)"
            ).isEmpty
        else {
            throw ServiceError(
                .conflict, "field 'name': the account already has a market-making strategy named '\(definition.name)'")
        }
        let strategy = try Self.strategy(
            try await transaction.query(
                """
                INSERT INTO market_making_strategies (account_id, name, definition, created_by)
                VALUES (\(account), \(definition.name), \(try PostgresJSON(encoding: definition))::jsonb, \(actor))
                RETURNING \(sql: Self.columns)
                """
            ).firstRow)
        for market in definition.allMarkets {
            try await addMarket(market.key, definition, strategy.id, in: transaction)
        }
        try await audit.record(
            "market_making.strategy_created", objectType: "market_making_strategy",
            objectID: strategy.id.uuidString.lowercased(), accountID: account,
            details: ["name": definition.name, "model": definition.parameters.model.name], in: transaction)
        return strategy
    }

    func addMarket(
        _ key: String, _ definition: MarketMakingDefinition, _ strategy: UUID, in transaction: PostgresTransaction
    ) async throws {
        let estimator = VolatilityEstimator(
            halfLifeSeconds: definition.volatilityHalfLifeSeconds, window: definition.volatilityWindow)
        try await transaction.execute(
            """
            INSERT INTO market_making_markets (strategy_id, market, estimator, book)
            VALUES (\(strategy), \(key), \(try PostgresJSON(encoding: estimator))::jsonb,
                    \(try PostgresJSON(encoding: PositionBook()))::jsonb)
            ON CONFLICT (strategy_id, market) DO NOTHING
            """)
    }

    public func strategies(of account: UUID, in transaction: PostgresTransaction) async throws -> [MarketMakingStrategy]
    {
        _ = try await AccountService().account(account, in: transaction)
        return try await transaction.query(
            "SELECT \(sql: Self.columns) FROM market_making_strategies WHERE account_id = \(account) ORDER BY created_at, id"
        ).map(Self.strategy)
    }

    public func strategy(
        _ id: UUID, in transaction: PostgresTransaction, forUpdate: Bool = false
    ) async throws -> MarketMakingStrategy {
        let rows =
            forUpdate
            ? try await transaction.query(
                "SELECT \(sql: Self.columns) FROM market_making_strategies WHERE id = \(id) FOR UPDATE")
            : try await transaction.query("SELECT \(sql: Self.columns) FROM market_making_strategies WHERE id = \(id)")
        guard let row = rows.first else { throw ServiceError(.notFound, "no market-making strategy with this id") }
        return try Self.strategy(row)
    }

    /// Replaces the definition. A market that still holds inventory cannot be removed.
    public func update(
        _ id: UUID, with definition: MarketMakingDefinition, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> MarketMakingStrategy {
        let current = try await strategy(id, in: transaction, forUpdate: true)
        let kept = Set(definition.allMarkets.map(\.key))
        for position in try await positions(of: id, in: transaction)
        where !kept.contains(position.market) && !position.position.isZero {
            throw ServiceError(
                .conflict,
                "field 'markets': \(position.market) still holds \(position.position); close it before removing it")
        }
        if definition.name != current.name,
            !(try await transaction.query(
                """
                SELECT 1 FROM market_making_strategies WHERE account_id = \(current.accountId) AND name = \(definition.name)
                """
            ).isEmpty)
        {
            throw ServiceError(
                .conflict, "field 'name': the account already has a market-making strategy named '\(definition.name)'")
        }
        for market in definition.allMarkets { try await addMarket(market.key, definition, id, in: transaction) }
        let updated = try Self.strategy(
            try await transaction.query(
                """
                UPDATE market_making_strategies SET name = \(definition.name),
                    definition = \(try PostgresJSON(encoding: definition))::jsonb, version = version + 1, updated_at = now()
                WHERE id = \(id) RETURNING \(sql: Self.columns)
                """
            ).firstRow)
        try await audit.record(
            "market_making.strategy_updated", objectType: "market_making_strategy",
            objectID: id.uuidString.lowercased(),
            accountID: current.accountId, details: ["version": String(updated.version)], in: transaction)
        return updated
    }

    /// `active` ↔ `paused` (a stopped strategy is resumed explicitly too, after its reason is
    /// dealt with).
    public func setStatus(
        _ id: UUID, to status: String, reason: String?, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> MarketMakingStrategy {
        let current = try await strategy(id, in: transaction, forUpdate: true)
        let updated = try Self.strategy(
            try await transaction.query(
                """
                UPDATE market_making_strategies SET status = \(status), status_reason = \(reason), updated_at = now()
                WHERE id = \(id) RETURNING \(sql: Self.columns)
                """
            ).firstRow)
        try await audit.record(
            "market_making.strategy_\(status == "active" ? "resumed" : status)", objectType: "market_making_strategy",
            objectID: id.uuidString.lowercased(), accountID: current.accountId,
            details: ["from": current.status, "reason": reason ?? ""], in: transaction)
        return updated
    }

    // MARK: - Ticks, fills, quotes

    public struct Tick: Sendable, Decodable {
        public var market: String
        public var mid: Double
        public var bestBid: Double?
        public var bestAsk: Double?
        /// Seconds since 1970 (default: now).
        public var time: Double?
    }

    /// Records a market's mid (and touch) and feeds the volatility estimate.
    public func record(_ tick: Tick, strategy id: UUID, in transaction: PostgresTransaction) async throws {
        let strategy = try await strategy(id, in: transaction)
        guard strategy.definition.markets.contains(where: { $0.key == tick.market }) else {
            throw ServiceError(
                .invalidInput, "field 'market': '\(tick.market.prefix(80))' is not a market of this strategy")
        }
        guard tick.mid > 0, tick.mid <= Self.largestPrice else {
            throw ServiceError(.invalidInput, "field 'mid': above 0 and at most \(Int64(Self.largestPrice))")
        }
        if let bid = tick.bestBid, let ask = tick.bestAsk, !(bid > 0 && bid < ask && ask <= Self.largestPrice) {
            throw ServiceError(.invalidInput, "field 'bestBid': above 0 and below bestAsk")
        }
        let time = tick.time ?? Date().timeIntervalSince1970
        let row = try await transaction.query(
            "SELECT estimator FROM market_making_markets WHERE strategy_id = \(id) AND market = \(tick.market) FOR UPDATE"
        ).firstRow
        var estimator = try row.decode("estimator", as: PostgresJSON.self).decode(VolatilityEstimator.self)
        estimator.update(mid: tick.mid, at: time)
        try await transaction.execute(
            """
            UPDATE market_making_markets SET estimator = \(try PostgresJSON(encoding: estimator))::jsonb,
                mid = \(tick.mid), best_bid = \(tick.bestBid), best_ask = \(tick.bestAsk),
                ticked_at = to_timestamp(\(time))
            WHERE strategy_id = \(id) AND market = \(tick.market)
            """)
    }

    public struct ObservedTrade: Sendable, Decodable {
        public var market: String
        public var price: Double
        /// Seconds since 1970 (default: now).
        public var time: Double?
    }

    /// Records market trades seen on a market (not the strategy's own fills): their distance
    /// from the last mid feeds the κ estimate a model without a configured κ quotes with.
    public func record(
        trades: [ObservedTrade], strategy id: UUID, in transaction: PostgresTransaction
    ) async throws -> [String: Double?] {
        let strategy = try await strategy(id, in: transaction)
        guard (1...10_000).contains(trades.count) else {
            throw ServiceError(.invalidInput, "field 'trades': 1 to 10,000 trades")
        }
        var touched: [String: ObservedTrades] = [:]
        var mids: [String: Double] = [:]
        for (index, trade) in trades.enumerated() {
            guard strategy.definition.markets.contains(where: { $0.key == trade.market }) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'trades[\(index)].market': '\(trade.market.prefix(80))' is not a quoted market")
            }
            guard trade.price > 0, trade.price <= Self.largestPrice else {
                throw ServiceError(.invalidInput, "field 'trades[\(index)].price': above 0")
            }
            if touched[trade.market] == nil {
                let row = try await transaction.query(
                    """
                    SELECT trades, mid FROM market_making_markets WHERE strategy_id = \(id) AND market = \(trade.market)
                    FOR UPDATE
                    """
                ).firstRow
                guard let mid = try row.decode("mid", as: Double?.self) else {
                    throw ServiceError(
                        .conflict,
                        "field 'trades[\(index)].market': no tick yet for \(trade.market); send its mid first")
                }
                mids[trade.market] = mid
                touched[trade.market] = try row.decode("trades", as: PostgresJSON.self).decode(ObservedTrades.self)
            }
            let mid = mids[trade.market] ?? trade.price
            touched[trade.market]!.add(distance: abs(trade.price - mid), at: trade.time ?? Date().timeIntervalSince1970)
        }
        var kappas: [String: Double?] = [:]
        for (market, var observed) in touched {
            observed.estimatedKappa = observed.kappa
            try await transaction.execute(
                """
                UPDATE market_making_markets SET trades = \(try PostgresJSON(encoding: observed))::jsonb
                WHERE strategy_id = \(id) AND market = \(market)
                """)
            kappas[market] = observed.estimatedKappa
        }
        return kappas
    }

    /// Books a fill once: a fill id already recorded changes nothing (and says so). Returns
    /// whether it was new. A loss past `maximumLoss` stops the strategy.
    public func record(
        _ fill: Fill, strategy id: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> Bool {
        let strategy = try await strategy(id, in: transaction)
        guard let market = strategy.definition.allMarkets.first(where: { $0.key == fill.market }) else {
            throw ServiceError(
                .invalidInput, "field 'market': '\(fill.market.prefix(80))' is not a market of this strategy")
        }
        guard (1...200).contains(fill.id.count) else {
            throw ServiceError(.invalidInput, "field 'id': 1 to 200 characters")
        }
        guard !(Self.largestAmount < fill.price), !(Self.largestAmount < fill.quantity),
            !(Self.largestAmount < fill.fee), !(fill.fee < -Self.largestAmount)
        else {
            throw ServiceError(.invalidInput, "field 'price', 'quantity' or 'fee': at most \(Self.largestAmount) each")
        }
        guard !fill.price.isNegative, !fill.price.isZero, market.ticks(in: fill.price) != nil else {
            throw ServiceError(
                .invalidInput,
                "field 'price': \(fill.price) is not a positive multiple of the tick size \(market.tickSize)")
        }
        guard !fill.quantity.isNegative, !fill.quantity.isZero, market.lots(in: fill.quantity) != nil else {
            throw ServiceError(
                .invalidInput,
                "field 'quantity': \(fill.quantity) is not a positive multiple of the lot size \(market.lotSize)")
        }
        let inserted = try await transaction.query(
            """
            INSERT INTO market_making_fills (strategy_id, fill_id, market, side, price, quantity, fee, mid, filled_at)
            VALUES (\(id), \(fill.id), \(fill.market), \(fill.side.rawValue), \(fill.price), \(fill.quantity), \(fill.fee),
                    \(fill.mid), to_timestamp(\(fill.time)))
            ON CONFLICT (strategy_id, fill_id) DO NOTHING RETURNING fill_id
            """)
        guard !inserted.isEmpty else { return false }
        let row = try await transaction.query(
            "SELECT book FROM market_making_markets WHERE strategy_id = \(id) AND market = \(fill.market) FOR UPDATE"
        ).firstRow
        var book = try row.decode("book", as: PostgresJSON.self).decode(PositionBook.self)
        try book.apply(fill)
        try await transaction.execute(
            """
            UPDATE market_making_markets SET book = \(try PostgresJSON(encoding: book))::jsonb
            WHERE strategy_id = \(id) AND market = \(fill.market)
            """)
        try await audit.record(
            "market_making.fill_booked", objectType: "market_making_strategy", objectID: id.uuidString.lowercased(),
            accountID: strategy.accountId,
            details: [
                "fill": fill.id, "market": fill.market, "side": fill.side.rawValue, "price": fill.price.description,
                "quantity": fill.quantity.description,
            ], in: transaction)
        if let limit = strategy.definition.maximumLoss, strategy.status != "stopped" {
            let total = try await positions(of: id, in: transaction).reduce(ExactDecimal.zero) {
                $0 + $1.realisedPnL + ($1.unrealisedPnL ?? .zero)
            }
            if total < ExactDecimal.zero - limit {
                _ = try await setStatus(
                    id, to: "stopped", reason: "loss limit: total P&L \(total) is past −\(limit)", audit: audit,
                    in: transaction)
            }
        }
        return true
    }

    public func positions(of id: UUID, in transaction: PostgresTransaction) async throws -> [MarketPosition] {
        try await transaction.query(
            "SELECT market, book, mid, activity FROM market_making_markets WHERE strategy_id = \(id) ORDER BY market"
        ).map { row in
            let book = try row.decode("book", as: PostgresJSON.self).decode(PositionBook.self)
            let activity = try row.decode("activity", as: PostgresJSON.self).decode(QuotingActivity.self)
            let mid = try row.decode("mid", as: Double?.self)
            let mark = mid.flatMap { ExactDecimal(significand: Int128(($0 * 1e8).rounded()), scale: 8) }
            return MarketPosition(
                market: try row.decode("market", as: String.self), position: book.position,
                averageCost: book.averageCost, realisedPnL: book.realised,
                unrealisedPnL: mark.flatMap { book.unrealised(at: $0) }, fees: book.fees, volume: book.volume,
                spreadCaptured: book.spreadCaptured, fills: book.fills, mid: mid, ordersPosted: activity.ordersPosted,
                fillRate: activity.fillRate(fills: book.fills), timeInMarket: activity.timeInMarket)
        }
    }

    /// Records that `quotes`, computed at a tick at `time`, now stand in every market (a
    /// market not quoted stands with no orders).
    public func recordActivity(
        _ quotes: Quotes, at time: Double, strategy id: UUID, in transaction: PostgresTransaction
    ) async throws {
        let rows = try await transaction.query(
            "SELECT market, activity FROM market_making_markets WHERE strategy_id = \(id) FOR UPDATE")
        for row in rows {
            let market = try row.decode("market", as: String.self)
            var activity = try row.decode("activity", as: PostgresJSON.self).decode(QuotingActivity.self)
            let quote = quotes.quotes.first { $0.market == market }
            activity.record(at: time, bids: quote?.bids.count ?? 0, asks: quote?.asks.count ?? 0)
            try await transaction.execute(
                """
                UPDATE market_making_markets SET activity = \(try PostgresJSON(encoding: activity))::jsonb
                WHERE strategy_id = \(id) AND market = \(market)
                """)
        }
    }

    public struct Quotes: Sendable, Codable {
        public var strategyId: UUID
        public var status: String
        public var statusReason: String?
        public var quotes: [MarketQuote]
        /// Markets not quoted, and why.
        public var notQuoted: [String: String]
        /// With hedging: the order that would bring the exposure back within the threshold.
        public var hedgeOrder: HedgePolicy.Order?
        /// The strategy's exposure in the hedge market's base asset (quoted markets and hedge).
        public var hedgedExposure: Double?
    }

    /// The current quote of every market, from its last tick and the inventory (netted as the
    /// strategy says). A paused or stopped strategy, or an account whose kill switch is engaged,
    /// quotes nothing and says why.
    public func quotes(of id: UUID, now: Double, in transaction: PostgresTransaction) async throws -> Quotes {
        let strategy = try await strategy(id, in: transaction)
        let account = try await AccountService().account(strategy.accountId, in: transaction)
        var result = Quotes(
            strategyId: id, status: strategy.status, statusReason: strategy.statusReason, quotes: [], notQuoted: [:])
        let definition = strategy.definition
        if strategy.status != "active" || account.killSwitchEngaged {
            let why =
                account.killSwitchEngaged
                ? "the account's kill switch is engaged" : "the strategy is \(strategy.status)"
            for market in definition.markets { result.notQuoted[market.key] = why }
            return result
        }
        let rows = try await transaction.query(
            """
            SELECT market, estimator, book, mid, best_bid, best_ask,
                (trades ->> 'estimatedKappa')::double precision AS kappa
            FROM market_making_markets
            WHERE strategy_id = \(id)
            """)
        var states: [String: (VolatilityEstimator, PositionBook, Double?, Double?, Double?)] = [:]
        var kappas: [String: Double] = [:]
        for row in rows {
            let market = try row.decode("market", as: String.self)
            states[market] = (
                try row.decode("estimator", as: PostgresJSON.self).decode(VolatilityEstimator.self),
                try row.decode("book", as: PostgresJSON.self).decode(PositionBook.self),
                try row.decode("mid", as: Double?.self), try row.decode("best_bid", as: Double?.self),
                try row.decode("best_ask", as: Double?.self)
            )
            kappas[market] = try row.decode("kappa", as: Double?.self)
        }
        var dailyRoom: DailyNotional?
        if let limit = account.limits.dailyNotional {
            dailyRoom = try await DailyNotional.load(
                limit: limit, account: account.id, markets: definition.markets, in: transaction)
        }
        let inventories = InventoryNetting.quotedInventory(
            positions: states.mapValues { $0.1.position.doubleValue }, markets: definition.markets,
            netting: definition.netting)
        for market in definition.markets {
            guard let state = states[market.key], let mid = state.2 else {
                result.notQuoted[market.key] = "no tick yet: send its mid to POST …/ticks"
                continue
            }
            let estimate = definition.parameters.volatilityEstimate == .ewma ? state.0.ewma : state.0.realised
            do {
                var quote = try QuoteEngine.quote(
                    market: market, parameters: definition.parameters,
                    state: MarketState(
                        mid: mid, bestBid: state.3, bestAsk: state.4, inventory: inventories[market.key] ?? 0,
                        estimatedVolatility: estimate, estimatedKappa: kappas[market.key], time: now))
                QuoteLimits.apply(&quote, limits: account.limits, market: market, position: state.1.position)
                if let daily = dailyRoom {
                    switch daily.room(for: market) {
                    case .left(let room):
                        QuoteLimits.applyDailyNotional(&quote, room: room, limit: daily.limit, market: market)
                    case .unknown(let why):
                        QuoteLimits.withdraw(&quote, "not quoted: \(why)")
                    }
                }
                result.quotes.append(quote)
            } catch let error as ServiceError {
                result.notQuoted[market.key] = error.message
            }
        }
        if let hedging = definition.hedging {
            let asset = InventoryNetting.baseAsset(of: hedging.market.symbol)
            let inventory = definition.markets.filter { InventoryNetting.baseAsset(of: $0.symbol) == asset }
                .reduce(0.0) { $0 + (states[$1.key]?.1.position.doubleValue ?? 0) }
            let hedge = states[hedging.market.key]?.1.position.doubleValue ?? 0
            result.hedgedExposure = inventory + hedge
            result.hedgeOrder = hedging.order(inventory: inventory, hedgePosition: hedge)
        }
        return result
    }

    static func strategy(_ row: PostgresRow) throws -> MarketMakingStrategy {
        MarketMakingStrategy(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            name: try row.decode("name", as: String.self), status: try row.decode("status", as: String.self),
            statusReason: try row.decode("status_reason", as: String?.self),
            definition: try row.decode("definition", as: PostgresJSON.self).decode(MarketMakingDefinition.self),
            version: try row.decode("version", as: Int.self), createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}
