public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// An order as entered, with where it stands.
public struct Order: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Refused by the pre-trade check.
        case rejected
        /// The check asked for review: waiting for a second person's decision.
        case held
        /// Accepted and resting until filled, cancelled or expired.
        case open
        case filled, cancelled, declined, expired
    }

    public var id: UUID
    public var accountId: UUID
    public var clientOrderId: String
    public var symbol: String
    public var side: String
    public var type: String
    public var timeInForce: String
    public var quantity: ExactDecimal
    public var limitPrice: ExactDecimal?
    /// Whom it trades with, when named (its fills' trades carry it).
    public var counterparty: String?
    public var status: Status
    public var filledQuantity: ExactDecimal
    /// The compliance record of its pre-trade check.
    public var checkId: UUID
    public var submittedBy: String
    public var decidedBy: String?
    public var expiresAt: Date?
    public var createdAt: Date
}

/// An order's quantity and limit (what a replacement changes). They travel as one value: an
/// async function taking two `ExactDecimal`s (Int128 inside) among its parameters crashed at its
/// first suspension with Swift 6.3 on Linux (found in `BrokerReplaceDeskTests`).
public struct OrderTerms: Sendable, Equatable {
    public var quantity: ExactDecimal
    public var limitPrice: ExactDecimal

    public init(quantity: ExactDecimal, limitPrice: ExactDecimal) {
        self.quantity = quantity
        self.limitPrice = limitPrice
    }
}

/// An execution reported for an order.
///
/// `fill` takes it as one value on purpose: with its two decimals (each an `Int128` and a scale)
/// as separate parameters among eight, the async `fill` jumped to address 0 at its first
/// suspension on this toolchain (Swift 6, Linux x86_64) — reproduced by `OrderEntryTests`, gone
/// with the values in one struct.
public struct Execution: Sendable, Decodable {
    public var quantity: ExactDecimal
    public var price: ExactDecimal
    /// When it was executed (RFC 3339, to the microsecond); default now.
    public var executedAt: Date?
    public var venue: String?
    /// The other side's LEI, when the execution names it.
    public var counterpartyLei: String?
    /// The central counterparty's LEI, when the execution is cleared.
    public var ccpLei: String?

    public init(
        quantity: ExactDecimal, price: ExactDecimal, executedAt: Date? = nil, venue: String? = nil,
        counterpartyLei: String? = nil, ccpLei: String? = nil
    ) {
        self.quantity = quantity
        self.price = price
        self.executedAt = executedAt
        self.venue = venue
        self.counterpartyLei = counterpartyLei
        self.ccpLei = ccpLei
    }
}

/// A fill booked against an order: the order as it stands after it, and the trade.
public struct OrderFill: Sendable, Encodable {
    public var order: Order
    public var tradeId: UUID
    /// Monitoring alerts the booking raised.
    public var alerts: [ComplianceAlert]
}

/// What a client sends to enter an order.
public struct OrderDraft: Sendable, Codable, Equatable {
    public var accountId: UUID
    /// The client's own id for the order: sending it again returns the same order.
    public var clientOrderId: String
    public var symbol: String
    public var side: String
    /// `limit` (the default) or `market`.
    public var type: String?
    public var quantity: ExactDecimal
    /// The limit price; none for a market order (checked against the reference price).
    public var price: ExactDecimal?
    /// `gtc` (the default) or `day` (expires at the end of the UTC day).
    public var timeInForce: String?
    public var venue: String?
    public var counterparty: String?
    /// What the fills' transaction reports carry: capacity, short selling, who decided and who
    /// executes (the counterparty's and CCP's LEIs come with each execution).
    public var reporting: TradeReportingDetails?

    public init(
        accountId: UUID, clientOrderId: String, symbol: String, side: String, type: String? = nil,
        quantity: ExactDecimal, price: ExactDecimal? = nil, timeInForce: String? = nil, venue: String? = nil,
        counterparty: String? = nil, reporting: TradeReportingDetails? = nil
    ) {
        self.accountId = accountId
        self.clientOrderId = clientOrderId
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.price = price
        self.timeInForce = timeInForce
        self.venue = venue
        self.counterparty = counterparty
        self.reporting = reporting
    }
}

/// Order entry: the pre-trade check binds. A rejected order is refused, a reviewed one is held
/// until a compliance user other than its submitter approves or declines it, an accepted one
/// rests as an open order (which the self-match rule sees) until filled, cancelled or expired;
/// fills book trades through `TradeCheckService.book`.
public struct OrderService: Sendable {
    public let checks: TradeCheckService

    public init(checks: TradeCheckService = TradeCheckService()) {
        self.checks = checks
    }

    /// The columns an `Order` is read from. A day order past its day reads as expired at once; its
    /// stored status catches up within a minute (`storeExpired`), so no request pays for a sweep.
    static let columns: StaticString = """
        id, account_id, client_order_id, symbol, side, order_type, time_in_force, quantity, limit_price, counterparty,
        CASE WHEN status IN ('open', 'held') AND expires_at <= now() THEN 'expired' ELSE status END AS status,
        filled_quantity, check_id, submitted_by, decided_by, expires_at, created_at
        """

    /// Enters an order. Returns it, the check's decision, and whether it was new (false: the same
    /// client order id was sent before with the same terms; different terms are a conflict).
    public func submit(
        _ draft: OrderDraft, actor: String, screener: SanctionsScreener, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> (order: Order, decision: TradeDecision?, created: Bool) {
        guard (1...64).contains(draft.clientOrderId.count) else {
            throw ServiceError(.invalidInput, "field 'clientOrderId': 1 to 64 characters")
        }
        let type = draft.type ?? "limit"
        guard type == "limit" || type == "market" else {
            throw ServiceError(.invalidInput, "field 'type': limit or market, not '\(type)'")
        }
        let timeInForce = draft.timeInForce ?? "gtc"
        guard timeInForce == "gtc" || timeInForce == "day" else {
            throw ServiceError(.invalidInput, "field 'timeInForce': gtc or day, not '\(timeInForce)'")
        }
        if type == "limit", draft.price == nil {
            throw ServiceError(.invalidInput, "field 'price': a limit order needs its limit price")
        }
        if type == "market", draft.price != nil {
            throw ServiceError(.invalidInput, "field 'price': a market order has no price (send type limit)")
        }
        if let reporting = draft.reporting, let side = TradeCheckRequest.Side(rawValue: draft.side) {
            try reporting.validate(side: side)
        }
        if let existing = try await order(account: draft.accountId, clientOrderId: draft.clientOrderId, in: transaction)
        {
            let same =
                existing.symbol == draft.symbol && existing.side == draft.side && existing.type == type
                && existing.quantity == draft.quantity && existing.limitPrice == draft.price
                && existing.timeInForce == timeInForce
            guard same else {
                throw ServiceError(
                    .conflict,
                    "field 'clientOrderId': '\(draft.clientOrderId)' was used for another order (\(existing.id.uuidString.lowercased()))"
                )
            }
            return (existing, nil, false)
        }
        // A market order is checked at the reference price it would trade around.
        var checkPrice = draft.price
        if type == "market" {
            checkPrice = try await transaction.query(
                "SELECT price FROM reference_prices WHERE symbol = \(draft.symbol)"
            ).first?.decode("price", as: ExactDecimal.self)
            guard checkPrice != nil else {
                throw ServiceError(
                    .conflict,
                    "no reference price for \(draft.symbol) to check a market order against; send a limit order")
            }
        }
        let request = TradeCheckRequest(
            accountId: draft.accountId, symbol: draft.symbol, side: draft.side, quantity: draft.quantity,
            price: checkPrice ?? .zero, venue: draft.venue, counterparty: draft.counterparty)
        let (checkID, decision) = try await checks.check(
            request, screener: screener, audit: audit, actor: actor, in: transaction)
        let status: Order.Status =
            switch decision.decision {
            case .rejected: .rejected
            case .review: .held
            case .approved: .open
            }
        let rows = try await transaction.query(
            """
            INSERT INTO orders
                (account_id, client_order_id, symbol, side, order_type, time_in_force, quantity, limit_price,
                 check_price, venue, counterparty, status, check_id, submitted_by, expires_at, reporting)
            VALUES (\(draft.accountId), \(draft.clientOrderId), \(draft.symbol), \(draft.side), \(type), \(timeInForce),
                    \(draft.quantity), \(draft.price), \(checkPrice), \(draft.venue?.uppercased()), \(draft.counterparty),
                    \(status.rawValue), \(checkID), \(actor),
                    CASE WHEN \(timeInForce) = 'day' THEN date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day' END,
                    \(try draft.reporting.map { try PostgresJSON(encoding: $0) }))
            RETURNING \(sql: Self.columns)
            """
        )
        let order = try Self.order(from: rows.firstRow)
        try await audit.record(
            "order.\(status.rawValue)", objectType: "order", objectID: order.id.uuidString.lowercased(),
            accountID: order.accountId,
            details: ["clientOrderId": order.clientOrderId, "check": checkID.uuidString.lowercased()], in: transaction)
        return (order, decision, true)
    }

    /// Approves or declines a held order. Four eyes: its submitter cannot decide it.
    public func decide(
        _ id: UUID, approve: Bool, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> Order {
        let order = try await lockedOrder(id, in: transaction)
        guard order.status == .held else {
            throw ServiceError(.conflict, "order \(id.uuidString.lowercased()) is \(order.status.rawValue), not held")
        }
        guard order.submittedBy != actor else {
            throw ServiceError(
                .forbidden,
                "four eyes: \(actor) entered this order and cannot also decide it; another compliance user must")
        }
        let next: Order.Status = approve ? .open : .declined
        let updated = try await setStatus(next, of: id, decidedBy: actor, in: transaction)
        try await audit.record(
            "order.\(approve ? "approved" : "declined")", objectType: "order", objectID: id.uuidString.lowercased(),
            accountID: order.accountId, details: [:], in: transaction)
        return updated
    }

    /// Books a fill of an open order: a trade of `quantity` at `price` (within the limit), through
    /// the booking path (position, audit, monitoring).
    public func fill(
        _ id: UUID, with execution: Execution, audit: any AuditSink, monitoring: MonitoringService?,
        in transaction: PostgresTransaction
    ) async throws -> OrderFill {
        let (quantity, price, executedAt, venue) = (
            execution.quantity, execution.price, execution.executedAt, execution.venue
        )
        let order = try await lockedOrder(id, in: transaction)
        guard order.status == .open else {
            throw ServiceError(.conflict, "order \(id.uuidString.lowercased()) is \(order.status.rawValue), not open")
        }
        guard quantity > .zero else { throw ServiceError(.invalidInput, "field 'quantity': must be greater than 0") }
        let remaining = order.quantity - order.filledQuantity
        guard quantity <= remaining else {
            throw ServiceError(
                .invalidInput, "field 'quantity': \(quantity) is more than the \(remaining) left to fill")
        }
        if let limit = order.limitPrice {
            let buying = order.side == "buy"
            let beyond = buying ? price > limit : price < limit
            if beyond {
                let bound = buying ? "below" : "above"
                throw ServiceError(
                    .invalidInput,
                    "field 'price': \(price) is beyond the order's limit \(limit) (a \(order.side) fills at or \(bound) it)"
                )
            }
        }
        let trade = TradeCheckRequest(
            accountId: order.accountId, symbol: order.symbol, side: order.side, quantity: quantity, price: price,
            venue: venue, counterparty: order.counterparty)
        var details =
            try await transaction.query("SELECT reporting FROM orders WHERE id = \(id)").firstRow.decode(
                "reporting", as: PostgresJSON?.self)?.decode(TradeReportingDetails.self) ?? TradeReportingDetails()
        details.counterpartyLei = execution.counterpartyLei
        details.ccpLei = execution.ccpLei
        var (tradeID, alerts) = try await checks.book(
            trade, arrivalPrice: order.limitPrice, executedAt: executedAt, orderID: id, details: details, audit: audit,
            monitoring: monitoring, reviewingCredit: false, in: transaction)
        let filled = order.filledQuantity + quantity
        let rows = try await transaction.query(
            """
            UPDATE orders SET filled_quantity = \(filled), status = \(filled == order.quantity ? "filled" : "open"),
                   updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        // Credit is reviewed once the order no longer counts what it just filled as working.
        if let credit = checks.credit {
            alerts += try await credit.reviewAfterBooking(ofAccount: order.accountId, audit: audit, in: transaction)
        }
        return OrderFill(order: try Self.order(from: rows.firstRow), tradeId: tradeID, alerts: alerts)
    }

    /// Cancels a held or open order (what was filled stays booked).
    public func cancel(_ id: UUID, audit: any AuditSink, in transaction: PostgresTransaction) async throws -> Order {
        let order = try await lockedOrder(id, in: transaction)
        guard order.status == .open || order.status == .held else {
            throw ServiceError(
                .conflict, "order \(id.uuidString.lowercased()) is \(order.status.rawValue): nothing to cancel")
        }
        let updated = try await setStatus(.cancelled, of: id, decidedBy: nil, in: transaction)
        try await audit.record(
            "order.cancelled", objectType: "order", objectID: id.uuidString.lowercased(), accountID: order.accountId,
            details: [:], in: transaction)
        return updated
    }

    /// Takes new terms for an open limit order (a broker replaced it): its quantity and limit
    /// (the quantity never below what is filled), audited with the terms before and after.
    public func replace(
        _ id: UUID, with terms: OrderTerms, checkID: UUID?, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> Order {
        let quantity = terms.quantity
        let limitPrice = terms.limitPrice
        let order = try await lockedOrder(id, in: transaction)
        guard order.status == .open, order.limitPrice != nil else {
            throw ServiceError(
                .conflict, "order \(id.uuidString.lowercased()) is \(order.status.rawValue) \(order.type): not replaced"
            )
        }
        guard quantity >= order.filledQuantity else {
            throw ServiceError(
                .invalidInput, "field 'quantity': \(quantity) is below the \(order.filledQuantity) already filled")
        }
        let rows = try await transaction.query(
            """
            UPDATE orders SET quantity = \(quantity), limit_price = \(limitPrice), check_price = \(limitPrice),
                check_id = coalesce(\(checkID), check_id),
                status = CASE WHEN filled_quantity = \(quantity) THEN 'filled' ELSE status END, updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """)
        try await audit.record(
            "order.replaced", objectType: "order", objectID: id.uuidString.lowercased(), accountID: order.accountId,
            details: [
                "quantity": "\(order.quantity) → \(quantity.normalized)",
                "limitPrice": "\(order.limitPrice?.description ?? "") → \(limitPrice.normalized)",
            ], in: transaction)
        return try Self.order(from: rows.firstRow)
    }

    /// One order; not found when unknown.
    public func order(_ id: UUID, in transaction: PostgresTransaction) async throws -> Order {
        guard let row = try await transaction.query("SELECT \(sql: Self.columns) FROM orders WHERE id = \(id)").first
        else { throw ServiceError(.notFound, "no order with this id") }
        return try Self.order(from: row)
    }

    /// An account's orders, newest first, optionally of one status.
    public func orders(
        of accountID: UUID, status: Order.Status?, in transaction: PostgresTransaction
    ) async throws -> [Order] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM orders
            WHERE account_id = \(accountID)
              AND (\(status?.rawValue)::text IS NULL
                   OR CASE WHEN status IN ('open', 'held') AND expires_at <= now() THEN 'expired' ELSE status END
                      = \(status?.rawValue))
            ORDER BY created_at DESC, id LIMIT 500
            """
        )
        return try rows.map(Self.order(from:))
    }

    private func order(
        account: UUID, clientOrderId: String, in transaction: PostgresTransaction
    ) async throws -> Order? {
        try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM orders WHERE account_id = \(account) AND client_order_id = \(clientOrderId)
            """
        ).first.map(Self.order(from:))
    }

    private func lockedOrder(_ id: UUID, in transaction: PostgresTransaction) async throws -> Order {
        guard
            let row = try await transaction.query("SELECT \(sql: Self.columns) FROM orders WHERE id = \(id) FOR UPDATE")
                .first
        else { throw ServiceError(.notFound, "no order with this id") }
        return try Self.order(from: row)
    }

    /// Stores day orders past their day as expired (they already read so); the host runs it for
    /// every tenant every minute, off the request path.
    /// - Returns: How many orders it stored as expired.
    @discardableResult
    public func storeExpired(in transaction: PostgresTransaction) async throws -> Int {
        try await transaction.query(
            """
            UPDATE orders SET status = 'expired', updated_at = now()
            WHERE status IN ('open', 'held') AND expires_at <= now()
            RETURNING id
            """
        ).count
    }

    private func setStatus(
        _ status: Order.Status, of id: UUID, decidedBy: String?, in transaction: PostgresTransaction
    ) async throws -> Order {
        let rows = try await transaction.query(
            """
            UPDATE orders SET status = \(status.rawValue), decided_by = coalesce(\(decidedBy), decided_by), updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        return try Self.order(from: rows.firstRow)
    }

    /// The stored status; one the code does not know is corrupt data, never read as another.
    static func status(_ row: PostgresRow) throws -> Order.Status {
        let text = try row.decode("status", as: String.self)
        guard let status = Order.Status(rawValue: text) else {
            throw ServiceError(.corrupt, "order status '\(text)' is not one this version knows")
        }
        return status
    }

    static func order(from row: PostgresRow) throws -> Order {
        Order(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            clientOrderId: try row.decode("client_order_id", as: String.self),
            symbol: try row.decode("symbol", as: String.self), side: try row.decode("side", as: String.self),
            type: try row.decode("order_type", as: String.self),
            timeInForce: try row.decode("time_in_force", as: String.self),
            quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
            limitPrice: try row.decode("limit_price", as: ExactDecimal?.self)?.normalized,
            counterparty: try row.decode("counterparty", as: String?.self),
            status: try status(row),
            filledQuantity: try row.decode("filled_quantity", as: ExactDecimal.self).normalized,
            checkId: try row.decode("check_id", as: UUID.self),
            submittedBy: try row.decode("submitted_by", as: String.self),
            decidedBy: try row.decode("decided_by", as: String?.self),
            expiresAt: try row.decode("expires_at", as: Date?.self),
            createdAt: try row.decode("created_at", as: Date.self))
    }
}
