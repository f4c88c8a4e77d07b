public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A booked trade as readers that follow the trade book see it.
public struct BookedTrade: Sendable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var symbol: String
    public var side: String
    public var quantity: ExactDecimal
    /// Price times the instrument's contract size: what one unit of quantity is worth.
    public var unitValue: ExactDecimal
    public var notional: ExactDecimal
    /// The notional in US dollars when it was known at booking.
    public var notionalUSD: ExactDecimal?
    public var venue: String?
    public var executedAt: Date
    public var bookedAt: Date
    /// Where this trade is in booking order, exactly (a `Date` would round the microseconds).
    public var cursor: TradeCursor
    public var cancelled: Bool
}

/// A position in booking order: `booked_at` as PostgreSQL wrote it, and the trade id.
public struct TradeCursor: Sendable, Hashable, Codable {
    public var bookedAt: String
    public var id: UUID

    public init(bookedAt: String, id: UUID) {
        self.bookedAt = bookedAt
        self.id = id
    }
}

/// Reads the trade book in the order it was written, for readers that keep figures derived from
/// it up to date (business intelligence): trades booked after a point, the (account, symbol)
/// pairs whose trades were cancelled or amended since, and one pair's whole history.
public struct TradeHistory: Sendable {
    public init() {}

    static let columns: StaticString = """
        t.id, t.account_id, t.symbol, t.side, t.quantity,
        t.price * coalesce((i.derivative_terms ->> 'multiplier')::numeric, 1) AS unit_value,
        t.notional, t.notional_usd, t.venue, t.executed_at, t.booked_at, t.booked_at::text AS booked_at_text,
        t.cancelled_at IS NOT NULL AS cancelled
        """

    /// At most `limit` trades booked after `cursor`, in booking order; with `previous`, only the
    /// row versions that snapshot could not see (inserted or changed since).
    public func trades(
        after cursor: TradeCursor, newerThan previous: TransactionSnapshot?, limit: Int,
        in transaction: PostgresTransaction
    ) async throws -> [BookedTrade] {
        try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM trades t LEFT JOIN instruments i ON i.symbol = t.symbol
            WHERE (t.booked_at, t.id) > (\(cursor.bookedAt)::timestamptz, \(cursor.id))
              AND (\(previous?.xmax32)::bigint IS NULL
                   OR (t.xmin::text::bigint - \(previous?.xmax32)::bigint + 4294967296) % 4294967296 < 2147483648
                   OR t.xmin::text::bigint = ANY(\(previous?.inProgress32 ?? [])::bigint[]))
            ORDER BY t.booked_at, t.id LIMIT \(limit)
            """
        ).map(Self.trade)
    }

    /// The snapshot the transaction reads with (REPEATABLE READ: the same for all of it).
    public func snapshot(in transaction: PostgresTransaction) async throws -> TransactionSnapshot {
        let text = try await transaction.query("SELECT pg_current_snapshot()::text AS snapshot").firstRow.decode(
            "snapshot", as: String.self)
        guard let snapshot = TransactionSnapshot(text) else {
            throw ServiceError(.corrupt, "PostgreSQL answered a snapshot this reader cannot read: \(text)")
        }
        return snapshot
    }

    /// The cursor `seconds` before `cursor` (the start of an overlap window), or the very start.
    public func cursor(
        _ seconds: Int, secondsBefore cursor: TradeCursor?, in transaction: PostgresTransaction
    ) async throws -> TradeCursor {
        let start = TradeCursor(bookedAt: "-infinity", id: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!)
        guard let cursor else { return start }
        let text = try await transaction.query(
            "SELECT (\(cursor.bookedAt)::timestamptz - make_interval(secs => \(seconds)))::text AS at"
        ).firstRow.decode("at", as: String.self)
        return TradeCursor(bookedAt: text, id: start.id)
    }

    /// What `account` booked today (UTC), in USD where the trade's rate was known and at face
    /// value otherwise — the figure the daily notional limit is held against.
    public func bookedTodayUSD(of account: UUID, in transaction: PostgresTransaction) async throws -> ExactDecimal {
        try await transaction.query(
            """
            SELECT coalesce(sum(coalesce(notional_usd, notional)), 0) AS booked FROM trades
            WHERE account_id = \(account) AND executed_at >= date_trunc('day', now()) AND cancelled_at IS NULL
            """
        ).firstRow.decode("booked", as: ExactDecimal.self)
    }

    /// The (account, symbol) pairs with a trade cancelled or amended since `previous` (a row
    /// version it could not see; the partial indexes keep this to the changed trades).
    public func changedPairs(
        since previous: TransactionSnapshot, in transaction: PostgresTransaction
    ) async throws -> [AccountSymbol] {
        try await transaction.query(
            """
            SELECT DISTINCT account_id, symbol FROM trades t
            WHERE (t.cancelled_at IS NOT NULL OR t.amended_at IS NOT NULL)
              AND ((t.xmin::text::bigint - \(previous.xmax32)::bigint + 4294967296) % 4294967296 < 2147483648
                   OR t.xmin::text::bigint = ANY(\(previous.inProgress32)::bigint[]))
            """
        ).map {
            AccountSymbol(
                accountId: try $0.decode("account_id", as: UUID.self), symbol: try $0.decode("symbol", as: String.self))
        }
    }

    /// Every trade of one account in one symbol, in execution order.
    public func trades(of pair: AccountSymbol, in transaction: PostgresTransaction) async throws -> [BookedTrade] {
        try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM trades t LEFT JOIN instruments i ON i.symbol = t.symbol
            WHERE t.account_id = \(pair.accountId) AND t.symbol = \(pair.symbol)
            ORDER BY t.executed_at, t.id
            """
        ).map(Self.trade)
    }

    static func trade(_ row: PostgresRow) throws -> BookedTrade {
        BookedTrade(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            symbol: try row.decode("symbol", as: String.self), side: try row.decode("side", as: String.self),
            quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
            unitValue: try row.decode("unit_value", as: ExactDecimal.self).normalized,
            notional: try row.decode("notional", as: ExactDecimal.self).normalized,
            notionalUSD: try row.decode("notional_usd", as: ExactDecimal?.self)?.normalized,
            venue: try row.decode("venue", as: String?.self), executedAt: try row.decode("executed_at", as: Date.self),
            bookedAt: try row.decode("booked_at", as: Date.self),
            cursor: TradeCursor(
                bookedAt: try row.decode("booked_at_text", as: String.self), id: try row.decode("id", as: UUID.self)),
            cancelled: try row.decode("cancelled", as: Bool.self))
    }
}

/// A PostgreSQL snapshot (`pg_current_snapshot()`): transactions below `xmin` had ended,
/// those from `xmax` had not begun, those in `inProgress` were running. A row version whose
/// inserting transaction (its `xmin`) is at or past `xmax`, or was in progress, was invisible to
/// it: that is how a reader following the trades finds exactly what it has not seen, without
/// remembering ids. Row `xmin`s are 32-bit and wrap: they are compared modulo 2^32 (sound for the
/// recent rows the readers look at, which are far less than 2^31 transactions apart).
public struct TransactionSnapshot: Sendable, Codable, Equatable, CustomStringConvertible {
    public var xmin: Int64
    public var xmax: Int64
    public var inProgress: [Int64]

    /// Reads `xmin:xmax:xip,xip,…`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let xmin = Int64(parts[0]), let xmax = Int64(parts[1]) else { return nil }
        let running = parts[2].split(separator: ",").compactMap { Int64($0) }
        guard running.count == parts[2].split(separator: ",").count else { return nil }
        self.xmin = xmin
        self.xmax = xmax
        self.inProgress = running
    }

    /// `xmin:xmax:xip,…`, as PostgreSQL writes it.
    public var description: String {
        "\(xmin):\(xmax):" + inProgress.map(String.init).joined(separator: ",")
    }

    var xmax32: Int64 { xmax % 4_294_967_296 }
    var inProgress32: [Int64] { inProgress.map { $0 % 4_294_967_296 } }
}

/// One account's trading in one symbol.
public struct AccountSymbol: Sendable, Hashable {
    public var accountId: UUID
    public var symbol: String

    public init(accountId: UUID, symbol: String) {
        self.accountId = accountId
        self.symbol = symbol
    }
}

/// A position with what values it: the instrument's reference price (per unit of quantity,
/// contract size included) and the USD rate of its quote currency (the compliance engine's
/// rule: USD, else the latest FX rate, else the latest `<currency>/USD` market price).
public struct ValuedPosition: Sendable, Equatable {
    public var accountId: UUID
    public var symbol: String
    public var quantity: ExactDecimal
    /// In the quote currency; nil without a reference price.
    public var unitPrice: ExactDecimal?
    public var quoteCurrency: String
    public var usdPerQuoteUnit: ExactDecimal?
    public var priceAsOf: Date?

    /// quantity × unit price × USD rate; nil when a price or rate is missing.
    public var valueUSD: ExactDecimal? {
        guard let unitPrice, let usdPerQuoteUnit else { return nil }
        let (value, overflow) = quantity.multipliedReportingOverflow(by: unitPrice)
        guard !overflow else { return nil }
        let (usd, over) = value.multipliedReportingOverflow(by: usdPerQuoteUnit)
        return over ? nil : usd
    }
}

/// What one unit of an instrument is worth: its reference price (contract size included), in
/// its quote currency, and that currency's USD rate.
public struct SymbolValuation: Sendable, Equatable {
    public var unitPrice: ExactDecimal?
    public var quoteCurrency: String
    public var usdPerQuoteUnit: ExactDecimal?
    public var priceAsOf: Date?
}

extension TradeHistory {
    /// The quote currency of a symbol such as `ETH/USDC` (USD when it names no pair).
    public static func quoteCurrency(of symbol: String) -> String {
        let parts = symbol.split(separator: "/")
        return parts.count > 1 ? parts[1].uppercased() : "USD"
    }

    /// How each of `symbols` is valued now (the compliance engine's rule for the USD rate: USD,
    /// else the latest FX rate, else the latest `<currency>/USD` market price).
    public func valuations(
        of symbols: [String], in transaction: PostgresTransaction
    ) async throws
        -> [String: SymbolValuation]
    {
        guard !symbols.isEmpty else { return [:] }
        let rows = try await transaction.query(
            """
            WITH wanted AS (
                SELECT DISTINCT s AS symbol, upper(coalesce(nullif(split_part(s, '/', 2), ''), 'USD')) AS quote
                FROM unnest(\(symbols)::text[]) AS s
            )
            SELECT w.symbol, w.quote, r.as_of,
                r.price * coalesce((i.derivative_terms ->> 'multiplier')::numeric, 1) AS unit_price,
                CASE WHEN w.quote = 'USD' THEN 1 ELSE coalesce(
                    (SELECT usd_per_unit FROM fx_rates WHERE currency = w.quote AND as_of <= now()
                     ORDER BY as_of DESC LIMIT 1),
                    (SELECT price FROM market_prices WHERE symbol = w.quote || '/USD' AND as_of <= now()
                     ORDER BY as_of DESC LIMIT 1)) END AS usd_rate
            FROM wanted w
            LEFT JOIN reference_prices r ON r.symbol = w.symbol
            LEFT JOIN instruments i ON i.symbol = w.symbol
            """)
        var valuations: [String: SymbolValuation] = [:]
        for row in rows {
            valuations[try row.decode("symbol", as: String.self)] = SymbolValuation(
                unitPrice: try row.decode("unit_price", as: ExactDecimal?.self)?.normalized,
                quoteCurrency: try row.decode("quote", as: String.self),
                usdPerQuoteUnit: try row.decode("usd_rate", as: ExactDecimal?.self)?.normalized,
                priceAsOf: try row.decode("as_of", as: Date?.self))
        }
        return valuations
    }

    /// The prices of `symbols` just before `instant`, as reports value holdings: the reference
    /// price in force, else the last trade that was not busted; symbols with neither are absent.
    public func prices(
        of symbols: [String], before instant: Date, in transaction: PostgresTransaction
    ) async throws
        -> [String: ExactDecimal]
    {
        try await ValuationPrices.prices(of: symbols, before: instant, in: transaction).mapValues(\.value)
    }

    /// The open positions of `accounts`, valued.
    public func valuedPositions(
        of accounts: [UUID], in transaction: PostgresTransaction
    ) async throws
        -> [ValuedPosition]
    {
        let held = try await transaction.query(
            """
            SELECT account_id, symbol, quantity FROM positions
            WHERE account_id = ANY(\(accounts)::uuid[]) AND quantity <> 0 ORDER BY account_id, symbol
            """
        ).map {
            (
                try $0.decode("account_id", as: UUID.self), try $0.decode("symbol", as: String.self),
                try $0.decode("quantity", as: ExactDecimal.self).normalized
            )
        }
        let valuations = try await valuations(of: held.map(\.1), in: transaction)
        return held.map { account, symbol, quantity in
            let valuation = valuations[symbol]
            return ValuedPosition(
                accountId: account, symbol: symbol, quantity: quantity, unitPrice: valuation?.unitPrice,
                quoteCurrency: valuation?.quoteCurrency ?? Self.quoteCurrency(of: symbol),
                usdPerQuoteUnit: valuation?.usdPerQuoteUnit, priceAsOf: valuation?.priceAsOf)
        }
    }
}
