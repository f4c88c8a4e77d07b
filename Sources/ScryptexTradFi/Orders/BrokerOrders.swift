public import Foundation
public import ScryptexCompliance
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// What a client sends to route an order to a prime broker: the order (checked and kept as a
/// compliance order of the session's account) and the session that carries it.
public struct BrokerOrderDraft: Sendable, Codable, Equatable {
    public var sessionId: UUID
    /// The client's own id: sending it again returns the same order.
    public var clientOrderId: String
    public var symbol: String
    public var side: String
    /// `limit` (the default) or `market`.
    public var type: String?
    public var quantity: ExactDecimal
    public var price: ExactDecimal?
    /// `gtc` (the default) or `day`.
    public var timeInForce: String?

    public init(
        sessionId: UUID, clientOrderId: String, symbol: String, side: String, type: String? = nil,
        quantity: ExactDecimal, price: ExactDecimal? = nil, timeInForce: String? = nil
    ) {
        self.sessionId = sessionId
        self.clientOrderId = clientOrderId
        self.symbol = symbol
        self.side = side
        self.type = type
        self.quantity = quantity
        self.price = price
        self.timeInForce = timeInForce
    }
}

/// An order routed to a broker, as the API shows it.
public struct RoutedOrder: Sendable, Codable, Equatable {
    /// Where it stands at the broker.
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Held by the pre-trade check until a compliance user decides.
        case held
        /// Waiting to be sent (the session is not logged on, or the next sweep sends it).
        case queued
        case sent, acknowledged
        case partiallyFilled = "partially_filled"
        case filled, cancelled, rejected, expired
        /// Declined, cancelled or expired before it was sent.
        case notSent = "not_sent"

        /// Nothing more happens to it.
        public var isFinal: Bool { [.filled, .cancelled, .rejected, .expired, .notSent].contains(self) }
    }

    public var id: UUID
    public var sessionId: UUID
    /// The ClOrdID it carries at the broker.
    public var clOrdID: String
    public var brokerOrderId: String?
    public var status: Status
    public var cumulativeQuantity: ExactDecimal
    public var averagePrice: ExactDecimal?
    public var cancelRequested: Bool
    /// The broker's answer to the last cancel asked for, when it refused.
    public var cancelRefused: String?
    /// A replacement asked for and not yet answered, or the last one the broker refused.
    public var replacement: Replacement?
    public var detail: String?
    public var sentAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// The compliance order it carries out (its check, its fills).
    public var order: Order
    /// The broker's execution reports, oldest first (one order's view only).
    public var executions: [BrokerExecution]?
}

/// New terms asked for an order working at a broker (OrderCancelReplaceRequest).
public struct Replacement: Sendable, Codable, Equatable {
    public var clOrdID: String
    public var quantity: ExactDecimal
    public var price: ExactDecimal
    /// The broker's refusal (OrderCancelReject); nil while it is pending.
    public var refused: String?
}

/// What a client sends to replace an order working at a broker: a new quantity, a new limit, or
/// both.
public struct BrokerOrderReplacement: Sendable, Codable, Equatable {
    public var quantity: ExactDecimal?
    public var price: ExactDecimal?

    public init(quantity: ExactDecimal? = nil, price: ExactDecimal? = nil) {
        self.quantity = quantity
        self.price = price
    }
}

/// One ExecutionReport as received (once per ExecID).
public struct BrokerExecution: Sendable, Codable, Equatable {
    public var execId: String
    public var execType: String
    public var orderStatus: String
    public var lastQuantity: ExactDecimal?
    public var lastPrice: ExactDecimal?
    /// The trade it booked, if it was a fill.
    public var tradeId: UUID?
    public var note: String?
    public var receivedAt: Date
}

/// Orders routed to prime brokers over FIX: entered through the compliance order book (the
/// pre-trade check binds), queued for their session and sent by the host that holds it.
public struct BrokerOrderService: Sendable {
    /// The channel that wakes a session's sender (payload: the session id).
    public static let channel = "scryptex_tradfi"

    let orders: OrderService

    /// - Parameter orders: The order book orders are entered in; by default one whose check keeps
    ///   orders within the tenant's credit lines.
    public init(orders: OrderService = OrderService(checks: TradeCheckService(credit: CreditLineService()))) {
        self.orders = orders
    }

    static let columns: StaticString = """
        t.id AS routed_id, t.session_id, t.cl_ord_id, t.broker_order_id, t.status AS routed_status,
        t.cumulative_quantity, t.average_price, t.cancel_cl_ord_id IS NOT NULL AS cancel_requested, t.cancel_refused,
        t.detail, t.sent_at, t.created_by AS routed_by, t.created_at AS routed_at, t.updated_at AS routed_updated_at,
        t.order_id, t.replace_cl_ord_id, t.replace_quantity, t.replace_price, t.replace_refused
        """

    /// Enters an order for the session's account and queues it for the broker. Returns the
    /// routed order (nil when the check refused it), the check's decision, and whether it is new.
    public func submit(
        _ draft: BrokerOrderDraft, actor: String, screener: SanctionsScreener, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> (routed: RoutedOrder?, order: Order, decision: TradeDecision?, created: Bool) {
        let session = try await BrokerSessionService().session(draft.sessionId, in: transaction)
        guard session.enabled else {
            throw ServiceError(.conflict, "field 'sessionId': the broker session '\(session.name)' is disabled")
        }
        let (order, decision, created) = try await orders.submit(
            OrderDraft(
                accountId: session.accountId, clientOrderId: draft.clientOrderId, symbol: draft.symbol,
                side: draft.side, type: draft.type, quantity: draft.quantity, price: draft.price,
                timeInForce: draft.timeInForce, venue: nil, counterparty: session.name, reporting: nil),
            actor: actor, screener: screener, audit: audit, in: transaction)
        if !created {
            guard let routed = try await routing(ofOrder: order.id, in: transaction) else {
                throw ServiceError(
                    .conflict,
                    "field 'clientOrderId': '\(draft.clientOrderId)' names an order that was not routed to a broker")
            }
            guard routed.sessionId == draft.sessionId else {
                throw ServiceError(
                    .conflict, "field 'clientOrderId': '\(draft.clientOrderId)' was routed to another broker session")
            }
            return (routed, order, nil, false)
        }
        guard order.status != .rejected else { return (nil, order, decision, true) }
        let status: RoutedOrder.Status = order.status == .held ? .held : .queued
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_orders (order_id, session_id, cl_ord_id, status, created_by)
            VALUES (\(order.id), \(draft.sessionId), \(order.id.uuidString.lowercased()), \(status.rawValue), \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "tradfi.order_routed", objectType: "tradfi_order", objectID: id.uuidString.lowercased(),
            accountID: session.accountId,
            details: ["session": session.name, "order": order.id.uuidString.lowercased(), "status": status.rawValue],
            in: transaction)
        try await Self.wake(draft.sessionId, in: transaction)
        return (try await routed(id, in: transaction), order, decision, true)
    }

    /// Asks the broker to cancel an order (sent by the session's holder); an order not yet sent is
    /// cancelled here at once.
    public func requestCancel(
        _ id: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> RoutedOrder {
        let current = try await routed(id, locked: true, in: transaction)
        guard !current.status.isFinal else {
            throw ServiceError(
                .conflict,
                "order \(id.uuidString.lowercased()) is \(current.status.rawValue) at the broker: nothing to cancel")
        }
        if current.status == .held || current.status == .queued {
            // Not sent: the sender locks the row while it sends, so it is not half way through.
            _ = try await orders.cancel(current.order.id, audit: audit, in: transaction)
            try await transaction.execute(
                """
                UPDATE tradfi_orders SET status = 'not_sent', detail = \("cancelled by \(actor) before it was sent"),
                    updated_at = now()
                WHERE id = \(id)
                """)
        } else {
            try await transaction.execute(
                """
                UPDATE tradfi_orders SET cancel_cl_ord_id = \(UUID().uuidString.lowercased()),
                    cancel_requested_by = \(actor), cancel_refused = NULL, updated_at = now()
                WHERE id = \(id)
                """)
            try await Self.wake(current.sessionId, in: transaction)
        }
        try await audit.record(
            "tradfi.order_cancel_requested", objectType: "tradfi_order", objectID: id.uuidString.lowercased(),
            accountID: current.order.accountId, details: ["status": current.status.rawValue], in: transaction)
        return try await routed(id, withExecutions: true, in: transaction)
    }

    /// Asks the broker to replace an order working there with new terms (an
    /// OrderCancelReplaceRequest sent by the session's holder), once the pre-trade check approves
    /// them: the remaining quantity at the new limit, checked as a new order would be. Returns the
    /// routed order and the check's decision; a decision other than approved sends nothing (an
    /// order the check would hold is cancelled and entered again instead).
    public func requestReplace(
        _ id: UUID, _ replacement: BrokerOrderReplacement, actor: String, screener: SanctionsScreener,
        audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> (routed: RoutedOrder, decision: TradeDecision) {
        let current = try await routed(id, locked: true, withExecutions: false, in: transaction)
        let order = current.order
        guard [.sent, .acknowledged, .partiallyFilled].contains(current.status), order.status == .open else {
            throw ServiceError(
                .conflict,
                "order \(id.uuidString.lowercased()) is \(current.status.rawValue) at the broker: only an order working there is replaced (one not yet sent is cancelled and entered again)"
            )
        }
        guard let limit = order.limitPrice else {
            throw ServiceError(.conflict, "a market order has no limit to replace: cancel it and enter another")
        }
        if current.cancelRequested, current.cancelRefused == nil {
            throw ServiceError(.conflict, "a cancel of this order is pending at the broker")
        }
        if let pending = current.replacement, pending.refused == nil {
            throw ServiceError(.conflict, "a replacement (ClOrdID \(pending.clOrdID)) is pending at the broker")
        }
        let quantity = replacement.quantity?.normalized ?? order.quantity
        let price = replacement.price?.normalized ?? limit
        guard quantity != order.quantity || price != limit else {
            throw ServiceError(.invalidInput, "send a 'quantity' or 'price' that differs from the order's")
        }
        guard quantity > order.filledQuantity else {
            throw ServiceError(
                .invalidInput, "field 'quantity': must stay above the \(order.filledQuantity) already filled")
        }
        guard price > .zero else { throw ServiceError(.invalidInput, "field 'price': above 0") }
        let session = try await BrokerSessionService().session(current.sessionId, in: transaction)
        let (checkID, decision) = try await orders.checks.check(
            TradeCheckRequest(
                accountId: order.accountId, symbol: order.symbol, side: order.side,
                quantity: quantity - order.filledQuantity, price: price, counterparty: session.name),
            screener: screener, audit: audit, actor: actor, in: transaction)
        guard decision.decision == .approved else { return (current, decision) }
        try await transaction.execute(
            """
            UPDATE tradfi_orders SET replace_cl_ord_id = \(UUID().uuidString.lowercased()), replace_quantity = \(quantity),
                replace_price = \(price), replace_check_id = \(checkID), replace_requested_by = \(actor),
                replace_refused = NULL, updated_at = now()
            WHERE id = \(id)
            """)
        try await Self.wake(current.sessionId, in: transaction)
        try await audit.record(
            "tradfi.order_replace_requested", objectType: "tradfi_order", objectID: id.uuidString.lowercased(),
            accountID: order.accountId,
            details: [
                "quantity": "\(order.quantity) → \(quantity)", "price": "\(limit) → \(price)",
                "check": checkID.uuidString.lowercased(),
            ], in: transaction)
        return (try await routed(id, withExecutions: true, in: transaction), decision)
    }

    /// The routed orders, newest first, optionally of one session or status (500 at most).
    public func routedOrders(
        session: UUID?, status: RoutedOrder.Status?, in transaction: PostgresTransaction
    ) async throws -> [RoutedOrder] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM tradfi_orders t
            WHERE (\(session)::uuid IS NULL OR t.session_id = \(session))
              AND (\(status?.rawValue)::text IS NULL OR t.status = \(status?.rawValue))
            ORDER BY t.created_at DESC, t.id LIMIT 500
            """)
        var routed: [RoutedOrder] = []
        for row in rows {
            routed.append(
                try Self.routed(
                    row, order: try await orders.order(row.decode("order_id", as: UUID.self), in: transaction)))
        }
        return routed
    }

    /// One routed order with its executions; `.notFound` when unknown.
    public func routed(
        _ id: UUID, locked: Bool = false, withExecutions: Bool = true, in transaction: PostgresTransaction
    ) async throws -> RoutedOrder {
        let rows =
            locked
            ? try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_orders t WHERE t.id = \(id) FOR UPDATE")
            : try await transaction.query("SELECT \(sql: Self.columns) FROM tradfi_orders t WHERE t.id = \(id)")
        guard let row = rows.first else { throw ServiceError(.notFound, "no routed order with this id") }
        var routed = try Self.routed(
            row, order: try await orders.order(row.decode("order_id", as: UUID.self), in: transaction))
        if withExecutions { routed.executions = try await executions(of: id, in: transaction) }
        return routed
    }

    /// The routing of a compliance order, if it was routed to a broker.
    public func routing(ofOrder orderID: UUID, in transaction: PostgresTransaction) async throws -> RoutedOrder? {
        guard
            let id = try await transaction.query("SELECT id FROM tradfi_orders WHERE order_id = \(orderID)").first?
                .decode("id", as: UUID.self)
        else { return nil }
        return try await routed(id, in: transaction)
    }

    func executions(of id: UUID, in transaction: PostgresTransaction) async throws -> [BrokerExecution] {
        try await transaction.query(
            """
            SELECT exec_id, exec_type, order_status, last_quantity, last_price, trade_id, note, received_at
            FROM tradfi_executions WHERE tradfi_order_id = \(id) ORDER BY received_at, exec_id
            """
        ).map { row in
            BrokerExecution(
                execId: try row.decode("exec_id", as: String.self),
                execType: try row.decode("exec_type", as: String.self),
                orderStatus: try row.decode("order_status", as: String.self),
                lastQuantity: try row.decode("last_quantity", as: ExactDecimal?.self)?.normalized,
                lastPrice: try row.decode("last_price", as: ExactDecimal?.self)?.normalized,
                tradeId: try row.decode("trade_id", as: UUID?.self), note: try row.decode("note", as: String?.self),
                receivedAt: try row.decode("received_at", as: Date.self))
        }
    }

    static func routed(_ row: PostgresRow, order: Order) throws -> RoutedOrder {
        RoutedOrder(
            id: try row.decode("routed_id", as: UUID.self), sessionId: try row.decode("session_id", as: UUID.self),
            clOrdID: try row.decode("cl_ord_id", as: String.self),
            brokerOrderId: try row.decode("broker_order_id", as: String?.self),
            status: RoutedOrder.Status(rawValue: try row.decode("routed_status", as: String.self)) ?? .queued,
            cumulativeQuantity: try row.decode("cumulative_quantity", as: ExactDecimal.self).normalized,
            averagePrice: try row.decode("average_price", as: ExactDecimal?.self)?.normalized,
            cancelRequested: try row.decode("cancel_requested", as: Bool.self),
            cancelRefused: try row.decode("cancel_refused", as: String?.self),
            replacement: try row.decode("replace_cl_ord_id", as: String?.self).map { clOrdID in
                Replacement(
                    clOrdID: clOrdID, quantity: try row.decode("replace_quantity", as: ExactDecimal.self).normalized,
                    price: try row.decode("replace_price", as: ExactDecimal.self).normalized,
                    refused: try row.decode("replace_refused", as: String?.self))
            },
            detail: try row.decode("detail", as: String?.self), sentAt: try row.decode("sent_at", as: Date?.self),
            createdBy: try row.decode("routed_by", as: String.self),
            createdAt: try row.decode("routed_at", as: Date.self),
            updatedAt: try row.decode("routed_updated_at", as: Date.self), order: order, executions: nil)
    }

    /// Wakes the holder of the session's connection when the transaction commits.
    static func wake(_ session: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("SELECT pg_notify(\(channel), \(session.uuidString.lowercased()))")
    }
}
