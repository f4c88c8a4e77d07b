public import Foundation
public import ScryptexCompliance
import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional
public import ScryptexPostgres

/// What a broker sends back about orders, handled in the tenant's transaction: each
/// ExecutionReport once per ExecID (a fill books a trade through the compliance order book — the
/// booking path's position, audit and monitoring), cancel refusals, business rejects, and
/// position reports kept for reconciliation.
public struct BrokerExecutionDesk: Sendable {
    let orders: OrderService
    let checks: TradeCheckService
    let monitoring: MonitoringService

    /// - Parameter orders: The order book fills are booked in; by default one whose bookings
    ///   review the account's credit lines at once.
    public init(
        orders: OrderService = OrderService(checks: TradeCheckService(credit: CreditLineService())),
        monitoring: MonitoringService = MonitoringService()
    ) {
        self.orders = orders
        self.checks = orders.checks
        self.monitoring = monitoring
    }

    /// What handling a message came to.
    public enum Outcome: Sendable, Equatable {
        /// A fill booked as this trade.
        case booked(UUID)
        /// An ExecID already handled (a resend): nothing done.
        case duplicate
        /// Recorded; nothing booked.
        case recorded
        /// Not an application message this desk reads.
        case ignored
    }

    /// Handles a message in a transaction of its own. A message that can never be handled — a
    /// figure that is no decimal or beyond the columns, a value a constraint refuses — is not
    /// retried (the broker would resend it after every reconnection and the session would never
    /// get past it): it is counted, and a high alert with the reason and the message is raised
    /// for someone to book by hand. Any other failure (the database away) is thrown: the message
    /// stays uncounted and comes again.
    public func handle(
        _ message: FIXMessage, session: UUID, audit: any AuditSink,
        transaction: (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void
    ) async throws {
        do {
            try await transaction { _ = try await handle(message, session: session, audit: audit, in: $0) }
        } catch let error where Self.isPermanent(error) {
            let reason = String(describing: error).prefix(300)
            let readable = String(message.readable.prefix(1_000))
            try await transaction { transaction in
                let account = try await transaction.query(
                    "SELECT account_id FROM tradfi_broker_sessions WHERE id = \(session)"
                ).first?.decode("account_id", as: UUID.self)
                _ = try await monitoring.raise(
                    .init(
                        kind: "broker_message_unhandled", severity: "high",
                        summary: "a \(message.type) from the broker could not be handled (\(reason)); book it by hand"),
                    accountID: account, subject: ["session": session.uuidString.lowercased(), "message": readable],
                    audit: audit, in: transaction)
            }
        }
    }

    /// A failure that the same message would meet again.
    static func isPermanent(_ error: any Error) -> Bool {
        if error is ExactDecimalParsingError { return true }
        if let error = error as? PostgresError, let state = error.sqlState {
            // Data exceptions and integrity constraint violations.
            return state.errorClass == "22" || state.errorClass == "23"
        }
        if let error = error as? ServiceError { return error.code == .invalidInput }
        return false
    }

    public func handle(
        _ message: FIXMessage, session: UUID, audit: any AuditSink, in transaction: PostgresTransaction,
        now: Date = Date()
    ) async throws -> Outcome {
        switch message.type {
        case FIXMessageType.executionReport:
            return try await executionReport(message, session: session, audit: audit, in: transaction, now: now)
        case FIXMessageType.orderCancelReject:
            let text = message[FIXTag.text] ?? "refused (CxlRejReason \(message[FIXTag.cxlRejReason] ?? "none"))"
            // CxlRejResponseTo 2: a replacement refused; otherwise a cancel.
            let replace = message[FIXTag.cxlRejResponseTo] == "2"
            let rows = try await transaction.query(
                """
                UPDATE tradfi_orders SET
                    cancel_refused = CASE WHEN \(replace) THEN cancel_refused ELSE \(String(text.prefix(500))) END,
                    replace_refused = CASE WHEN \(replace) THEN \(String(text.prefix(500))) ELSE replace_refused END,
                    updated_at = now()
                WHERE session_id = \(session)
                  AND (CASE WHEN \(replace) THEN replace_cl_ord_id ELSE cancel_cl_ord_id END) = \(message[FIXTag.clOrdID] ?? "")
                RETURNING id
                """)
            if let id = try rows.first?.decode("id", as: UUID.self) {
                try await audit.record(
                    replace ? "tradfi.order_replace_refused" : "tradfi.order_cancel_refused",
                    objectType: "tradfi_order",
                    objectID: id.uuidString.lowercased(), accountID: nil, details: ["reason": String(text.prefix(200))],
                    in: transaction)
            }
            return .recorded
        case FIXMessageType.businessMessageReject:
            // An order the broker's application refused outright (RefMsgType D).
            guard message[FIXTag.refMsgType] == FIXMessageType.newOrderSingle,
                let reference = message[FIXTag.businessRejectRefID]
            else { return .recorded }
            let text = message[FIXTag.text] ?? "BusinessRejectReason \(message[FIXTag.businessRejectReason] ?? "?")"
            if let row = try await transaction.query(
                """
                UPDATE tradfi_orders SET status = 'rejected', detail = \("refused by the broker: " + text.prefix(400)),
                    updated_at = now()
                WHERE session_id = \(session) AND cl_ord_id = \(reference) AND status IN ('sent', 'queued')
                RETURNING id, order_id
                """
            ).first {
                try await closeComplianceOrder(try row.decode("order_id", as: UUID.self), audit: audit, in: transaction)
            }
            return .recorded
        case FIXMessageType.positionReport:
            try await positionReport(message, session: session, in: transaction)
            return .recorded
        case FIXMessageType.collateralReport:
            try await collateralReport(message, session: session, audit: audit, in: transaction)
            return .recorded
        default:
            return .ignored
        }
    }

    private func executionReport(
        _ message: FIXMessage, session: UUID, audit: any AuditSink, in transaction: PostgresTransaction, now: Date
    ) async throws -> Outcome {
        let execID = Self.key(message[FIXTag.execID] ?? "")
        let execType = message[FIXTag.execType] ?? ""
        let lastQuantity = try message[FIXTag.lastQty].map { try ExactDecimal(parsing: $0) }
        let lastPrice = try message[FIXTag.lastPx].map { try ExactDecimal(parsing: $0) }
        let clOrdID = message[FIXTag.clOrdID] ?? ""
        let routed = try await transaction.query(
            """
            SELECT id, order_id, status, cl_ord_id FROM tradfi_orders
            WHERE session_id = \(session)
              AND (cl_ord_id = \(clOrdID) OR cancel_cl_ord_id = \(clOrdID) OR replace_cl_ord_id = \(clOrdID)
                   OR cl_ord_id = \(message[FIXTag.origClOrdID]) OR \(clOrdID) = ANY(previous_cl_ord_ids))
            ORDER BY cl_ord_id = \(clOrdID) DESC LIMIT 1
            FOR UPDATE
            """
        ).first
        let routedID = try routed?.decode("id", as: UUID.self)
        let inserted = try await transaction.query(
            """
            INSERT INTO tradfi_executions (session_id, exec_id, tradfi_order_id, exec_type, order_status, last_quantity,
                last_price, message)
            VALUES (\(session), \(execID), \(routedID), \(execType), \(message[FIXTag.ordStatus] ?? ""), \(lastQuantity),
                    \(lastPrice), \(message.readable))
            ON CONFLICT (session_id, exec_id) DO NOTHING
            RETURNING exec_id
            """)
        guard !inserted.isEmpty else { return .duplicate }
        guard let routed, let routedID else {
            // Not an order of ours: kept, and a fill raises an alert (someone must look).
            try await note("no order with ClOrdID \(clOrdID.prefix(64)) on this session", execID, session, transaction)
            if execType == "F" {
                let account = try await transaction.query(
                    "SELECT account_id FROM tradfi_broker_sessions WHERE id = \(session)"
                ).first?.decode("account_id", as: UUID.self)
                _ = try await monitoring.raise(
                    .init(
                        kind: "broker_execution_unknown_order", severity: "high",
                        summary:
                            "the broker reported a fill (ExecID \(execID.prefix(64))) for ClOrdID \(clOrdID.prefix(64)), which is no order of this session"
                    ), accountID: account, subject: ["session": session.uuidString.lowercased(), "execId": execID],
                    audit: audit, in: transaction)
            }
            return .recorded
        }
        let orderID = try routed.decode("order_id", as: UUID.self)
        let brokerOrderID = message[FIXTag.orderID]
        var outcome = Outcome.recorded
        var status = Self.status(forOrderStatus: message[FIXTag.ordStatus] ?? "")
        switch execType {
        case "F":
            guard let lastQuantity, let lastPrice, lastQuantity > .zero, lastPrice > .zero else {
                try await note("a fill without LastQty and LastPx above zero: not booked", execID, session, transaction)
                break
            }
            let executedAt = (message[FIXTag.transactTime] ?? message[FIXTag.sendingTime]).flatMap(FIXTime.parse)
            let tradeID = try await bookFill(
                orderID: orderID, routedID: routedID, quantity: lastQuantity, price: lastPrice,
                executedAt: min(executedAt ?? now, now), execID: execID, audit: audit, in: transaction)
            try await transaction.execute(
                "UPDATE tradfi_executions SET trade_id = \(tradeID) WHERE session_id = \(session) AND exec_id = \(execID)"
            )
            outcome = .booked(tradeID)
        case "H":
            // The broker busts an earlier fill: the trade it booked is cancelled.
            let reference = message[FIXTag.execRefID] ?? ""
            if let trade = try await transaction.query(
                """
                SELECT trade_id FROM tradfi_executions
                WHERE session_id = \(session) AND exec_id = \(reference) AND trade_id IS NOT NULL
                """
            ).first?.decode("trade_id", as: UUID.self) {
                try await checks.cancel(
                    trade,
                    reason: "busted by the broker (ExecID \(execID.prefix(64)), ExecRefID \(reference.prefix(64)))",
                    kind: .bust, audit: audit, in: transaction)
            } else {
                try await note(
                    "a trade cancel for ExecRefID \(reference.prefix(64)), which booked nothing", execID, session,
                    transaction)
            }
        case "5":
            try await applyReplacement(
                routedID: routedID, orderID: orderID, clOrdID: clOrdID, execID: execID, session: session,
                audit: audit, in: transaction)
        case "4", "C", "3", "8":
            try await closeComplianceOrder(orderID, audit: audit, in: transaction)
            if execType == "8" { status = .rejected }
            if execType == "C" { status = .expired }
        default:
            break
        }
        let detail = execType == "8" ? message[FIXTag.text].map { "refused by the broker: " + $0.prefix(400) } : nil
        try await transaction.execute(
            """
            UPDATE tradfi_orders SET
                status = CASE WHEN status IN ('filled', 'cancelled', 'rejected', 'expired', 'not_sent') THEN status
                              ELSE coalesce(\(status?.rawValue), status) END,
                broker_order_id = coalesce(\(brokerOrderID), broker_order_id),
                cumulative_quantity = coalesce(\(try message[FIXTag.cumQty].map { try ExactDecimal(parsing: $0) }),
                                               cumulative_quantity),
                average_price = coalesce(\(try message[FIXTag.avgPx].map { try ExactDecimal(parsing: $0) }), average_price),
                detail = coalesce(\(detail), detail), updated_at = now()
            WHERE id = \(routedID)
            """)
        try await audit.record(
            "tradfi.execution_received", objectType: "tradfi_order", objectID: routedID.uuidString.lowercased(),
            accountID: nil,
            details: [
                "execId": String(execID.prefix(128)), "execType": execType,
                "orderStatus": message[FIXTag.ordStatus] ?? "",
            ], in: transaction)
        return outcome
    }

    /// The broker replaced an order (ExecType 5): the compliance order takes the new terms and the
    /// routed order the new ClOrdID (the earlier ones kept for fills in flight).
    private func applyReplacement(
        routedID: UUID, orderID: UUID, clOrdID: String, execID: String, session: UUID, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws {
        let pending = try await transaction.query(
            """
            SELECT replace_quantity, replace_price, replace_check_id FROM tradfi_orders
            WHERE id = \(routedID) AND replace_cl_ord_id = \(clOrdID)
            """
        ).first
        guard let pending, let quantity = try pending.decode("replace_quantity", as: ExactDecimal?.self),
            let price = try pending.decode("replace_price", as: ExactDecimal?.self)
        else {
            try await note(
                "a replacement under ClOrdID \(clOrdID.prefix(64)), which no replacement asked for: not applied",
                execID,
                session, transaction)
            return
        }
        let checkID = try pending.decode("replace_check_id", as: UUID?.self)
        _ = try await orders.replace(
            orderID, with: OrderTerms(quantity: quantity, limitPrice: price), checkID: checkID, audit: audit,
            in: transaction)
        try await transaction.execute(
            """
            UPDATE tradfi_orders SET previous_cl_ord_ids = previous_cl_ord_ids || cl_ord_id, cl_ord_id = \(clOrdID),
                replace_cl_ord_id = NULL, replace_quantity = NULL, replace_price = NULL, replace_check_id = NULL,
                replace_requested_by = NULL, replace_refused = NULL
            WHERE id = \(routedID)
            """)
        try await audit.record(
            "tradfi.order_replaced", objectType: "tradfi_order", objectID: routedID.uuidString.lowercased(),
            accountID: nil,
            details: ["quantity": quantity.normalized.description, "price": price.normalized.description],
            in: transaction)
    }

    /// Books a fill through the compliance order (its limit and what is left to fill); a fill the
    /// order cannot take (already filled, cancelled here, beyond its limit) is still booked — the
    /// broker executed it — and raises a critical alert.
    private func bookFill(
        orderID: UUID, routedID: UUID, quantity: ExactDecimal, price: ExactDecimal, executedAt: Date, execID: String,
        audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> UUID {
        let order = try await orders.order(orderID, in: transaction)
        let left = order.quantity - order.filledQuantity
        let buying = order.side == "buy"
        let withinLimit = order.limitPrice.map { buying ? price <= $0 : price >= $0 } ?? true
        if order.status == .open, quantity <= left, withinLimit {
            return try await orders.fill(
                orderID, with: Execution(quantity: quantity, price: price, executedAt: executedAt), audit: audit,
                monitoring: monitoring, in: transaction
            ).tradeId
        }
        let (tradeID, _) = try await checks.book(
            TradeCheckRequest(
                accountId: order.accountId, symbol: order.symbol, side: order.side, quantity: quantity, price: price,
                counterparty: order.counterparty),
            arrivalPrice: order.limitPrice, executedAt: executedAt, orderID: orderID, audit: audit,
            monitoring: monitoring, in: transaction)
        _ = try await monitoring.raise(
            .init(
                kind: "broker_execution_outside_order", severity: "critical",
                summary:
                    "the broker filled \(quantity) at \(price) (ExecID \(execID.prefix(64))) on order \(orderID.uuidString.lowercased()), which is \(order.status.rawValue) with \(left) left\(withinLimit ? "" : " and a limit of \(order.limitPrice?.description ?? "")"); booked"
            ), accountID: order.accountId, subject: ["trade": tradeID.uuidString.lowercased()], audit: audit,
            in: transaction)
        return tradeID
    }

    /// Takes an order the broker no longer works off the compliance book (it stops resting).
    private func closeComplianceOrder(
        _ orderID: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    )
        async throws
    {
        let order = try await orders.order(orderID, in: transaction)
        if order.status == .open || order.status == .held {
            _ = try await orders.cancel(orderID, audit: audit, in: transaction)
        }
    }

    private func note(
        _ text: String, _ execID: String, _ session: UUID, _ transaction: PostgresTransaction
    )
        async throws
    {
        try await transaction.execute(
            "UPDATE tradfi_executions SET note = \(text) WHERE session_id = \(session) AND exec_id = \(execID)")
    }

    private func positionReport(
        _ message: FIXMessage, session: UUID, in transaction: PostgresTransaction
    )
        async throws
    {
        guard let reportID = message[FIXTag.positionReportID].map(Self.key), let symbol = message[FIXTag.symbol]
        else { return }
        // The net of the transaction-quantity entries (PosType TQ), else of every entry.
        let types = message.values(of: FIXTag.posType)
        let longs = message.values(of: FIXTag.longQty)
        let shorts = message.values(of: FIXTag.shortQty)
        var net = ExactDecimal.zero
        let counted = types.contains("TQ") ? types.indices.filter { types[$0] == "TQ" } : Array(types.indices)
        for index in counted {
            if index < longs.count { net = net + (try ExactDecimal(parsing: longs[index])) }
            if index < shorts.count { net = net - (try ExactDecimal(parsing: shorts[index])) }
        }
        let businessDate = message[FIXTag.clearingBusinessDate].flatMap(FIXTime.isoDate(fromBusinessDate:))
        try await transaction.execute(
            """
            INSERT INTO tradfi_broker_positions (session_id, report_id, symbol, quantity, business_date, message,
                pos_req_id)
            VALUES (\(session), \(reportID), \(String(symbol.prefix(64))), \(net), \(businessDate)::date,
                    \(message.readable), \(message[FIXTag.posReqID].map(Self.key)))
            ON CONFLICT (session_id, report_id) DO NOTHING
            """)
    }

    /// Keeps a CollateralReport (once per CollRptID); a value in US dollars (or without a
    /// currency) becomes the collateral of the account's credit line with the broker (the
    /// session's name), whose margin is reviewed at once.
    private func collateralReport(
        _ message: FIXMessage, session: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        let reportID = Self.key(message[FIXTag.collRptID] ?? "")
        let value = try message[FIXTag.totalNetValue].map { try ExactDecimal(parsing: $0) }
        let currency = message[FIXTag.currency]
        let inserted = try await transaction.query(
            """
            INSERT INTO tradfi_collateral_reports
                (session_id, report_id, coll_inquiry_id, status, currency, total_net_value, message)
            VALUES (\(session), \(reportID), \(message[FIXTag.collInquiryID].map(Self.key)), \(message[FIXTag.collStatus]),
                    \(currency), \(value), \(message.readable))
            ON CONFLICT (session_id, report_id) DO NOTHING
            RETURNING report_id
            """)
        guard !inserted.isEmpty, let value, !value.isNegative, currency == nil || currency == "USD" else { return }
        let collateral = value.rounded(toScale: 2, rule: .towardZero).normalized
        let lines = try await transaction.query(
            """
            UPDATE tradfi_credit_lines l SET collateral = \(collateral), updated_at = now()
            FROM tradfi_broker_sessions s
            WHERE s.id = \(session) AND l.account_id = s.account_id AND lower(l.counterparty) = lower(s.name)
            RETURNING l.id, l.account_id
            """)
        for line in lines {
            let id = try line.decode("id", as: UUID.self)
            try await audit.record(
                "tradfi.collateral_reported", objectType: "credit_line", objectID: id.uuidString.lowercased(),
                accountID: try line.decode("account_id", as: UUID.self),
                details: ["collateral": collateral.description, "collRptID": String(reportID.prefix(128))],
                in: transaction)
            try await CreditLineService().reviewMargins(lines: [id], audit: audit, in: transaction)
        }
    }

    /// A broker's identifier as stored (ExecID, PosMaintRptID): as sent up to 128 characters, a
    /// longer one by its SHA-256 — still one key per identifier, so a resend still finds its row,
    /// and never a value the column refuses (which would fail the message on every resend).
    static func key(_ identifier: String) -> String {
        guard identifier.isEmpty || identifier.count > 128 else { return identifier }
        return "sha256:" + SHA256.hexDigest(identifier)
    }

    /// Where a routed order stands, from the report's OrdStatus (nil: as it was).
    static func status(forOrderStatus code: String) -> RoutedOrder.Status? {
        switch code {
        case "0", "A": .acknowledged
        case "1": .partiallyFilled
        case "2": .filled
        case "4": .cancelled
        case "8": .rejected
        case "C": .expired
        default: nil
        }
    }
}
