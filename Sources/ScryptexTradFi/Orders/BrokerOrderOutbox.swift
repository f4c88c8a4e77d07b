public import Foundation
import ScryptexCompliance
import ScryptexCore
public import ScryptexPostgres

/// Sends a session's due orders and cancels: the queued orders whose compliance order is open,
/// and the cancels asked for. Each row is locked while it is sent (a cancel asked for meanwhile
/// waits and then sees it sent); a message already in the FIX store for its ClOrdID is never sent
/// again (a host that stopped between storing and marking finds it there).
public struct BrokerOrderOutbox: Sendable {
    public init() {}

    /// What one sweep did.
    public struct Outcome: Sendable, Equatable {
        public var ordersSent = 0
        public var cancelsSent = 0
        public var replacesSent = 0
        public var settled = 0
        public var positionRequestsSent = 0
        public var collateralInquiriesSent = 0
    }

    /// Sends what is due through `send` (which stores the message and writes it, or throws when
    /// the session is not logged on — the order then stays queued).
    public func sendDue(
        session: UUID, in transaction: PostgresTransaction, now: Date = Date(),
        send: (FIXMessage) async throws -> Void
    ) async throws -> Outcome {
        let rows = try await transaction.query(
            """
            SELECT t.id, t.cl_ord_id, t.status, t.cancel_cl_ord_id, o.symbol, o.side, o.order_type, o.time_in_force,
                   o.quantity, o.limit_price,
                   CASE WHEN o.status IN ('open', 'held') AND o.expires_at <= now() THEN 'expired' ELSE o.status END
                       AS order_status,
                   EXISTS (SELECT 1 FROM tradfi_fix_messages m WHERE m.session_id = t.session_id
                           AND m.cl_ord_id = t.cl_ord_id) AS order_stored,
                   t.cancel_cl_ord_id IS NOT NULL AND t.cancel_refused IS NULL AND NOT EXISTS (
                       SELECT 1 FROM tradfi_fix_messages m
                       WHERE m.session_id = t.session_id AND m.cl_ord_id = t.cancel_cl_ord_id) AS cancel_due,
                   t.replace_cl_ord_id, t.replace_quantity, t.replace_price,
                   t.replace_cl_ord_id IS NOT NULL AND t.replace_refused IS NULL AND NOT EXISTS (
                       SELECT 1 FROM tradfi_fix_messages m
                       WHERE m.session_id = t.session_id AND m.cl_ord_id = t.replace_cl_ord_id) AS replace_due
            FROM tradfi_orders t JOIN orders o ON o.id = t.order_id
            WHERE t.session_id = \(session)
              AND (t.status IN ('held', 'queued')
                   OR (((t.cancel_cl_ord_id IS NOT NULL AND t.cancel_refused IS NULL)
                        OR (t.replace_cl_ord_id IS NOT NULL AND t.replace_refused IS NULL))
                       AND t.status IN ('sent', 'acknowledged', 'partially_filled')))
            ORDER BY t.created_at, t.id
            LIMIT 200
            FOR UPDATE OF t SKIP LOCKED
            """)
        var outcome = Outcome()
        for row in rows {
            let id = try row.decode("id", as: UUID.self)
            let status = try row.decode("status", as: String.self)
            let orderStatus = try row.decode("order_status", as: String.self)
            if status == "held" || status == "queued" {
                if try row.decode("order_stored", as: Bool.self) {
                    try await markSent(id, in: transaction)
                    continue
                }
                switch orderStatus {
                case "open":
                    let message = try Self.newOrderSingle(row, now: now)
                    try await send(message)
                    try await markSent(id, in: transaction)
                    outcome.ordersSent += 1
                case "held":
                    continue
                default:
                    // Declined by compliance, cancelled or expired before it went out.
                    try await transaction.execute(
                        """
                        UPDATE tradfi_orders SET status = 'not_sent',
                            detail = \("the compliance order is \(orderStatus); not sent"), updated_at = now()
                        WHERE id = \(id)
                        """)
                    outcome.settled += 1
                }
            } else if let cancel = try row.decode("cancel_cl_ord_id", as: String?.self),
                try row.decode("cancel_due", as: Bool.self)
            {
                try await send(try Self.orderCancelRequest(row, cancelID: cancel, now: now))
                outcome.cancelsSent += 1
            } else if let replace = try row.decode("replace_cl_ord_id", as: String?.self),
                try row.decode("replace_due", as: Bool.self)
            {
                try await send(try Self.orderCancelReplaceRequest(row, replaceID: replace, now: now))
                outcome.replacesSent += 1
            }
        }
        try await sendPositionRequests(session: session, in: transaction, now: now, send: send, outcome: &outcome)
        try await sendCollateralInquiries(session: session, in: transaction, send: send, outcome: &outcome)
        return outcome
    }

    /// RequestForPositions asked for over the API, each sent once (found in the FIX store by its
    /// PosReqID when a host stopped between storing and marking).
    private func sendPositionRequests(
        session: UUID, in transaction: PostgresTransaction, now: Date, send: (FIXMessage) async throws -> Void,
        outcome: inout Outcome
    ) async throws {
        let rows = try await transaction.query(
            """
            SELECT r.id, r.pos_req_id, s.account_id,
                   EXISTS (SELECT 1 FROM tradfi_fix_messages m WHERE m.session_id = r.session_id
                           AND m.cl_ord_id = r.pos_req_id) AS stored
            FROM tradfi_position_requests r JOIN tradfi_broker_sessions s ON s.id = r.session_id
            WHERE r.session_id = \(session) AND r.sent_at IS NULL
            ORDER BY r.requested_at LIMIT 20
            FOR UPDATE OF r SKIP LOCKED
            """)
        for row in rows {
            if try !row.decode("stored", as: Bool.self) {
                try await send(
                    FIXMessage(
                        type: FIXMessageType.requestForPositions,
                        fields: [
                            FIXField(FIXTag.posReqID, try row.decode("pos_req_id", as: String.self)),
                            // 0: positions.
                            FIXField(FIXTag.posReqType, "0"),
                            FIXField(
                                FIXTag.account, try row.decode("account_id", as: UUID.self).uuidString.lowercased()),
                            // 1: carried on the customer side of the books.
                            FIXField(FIXTag.accountType, "1"),
                            FIXField(FIXTag.clearingBusinessDate, FIXTime.businessDate(now)),
                            FIXField(FIXTag.transactTime, FIXTime.format(now)),
                        ]))
                outcome.positionRequestsSent += 1
            }
            try await transaction.execute(
                "UPDATE tradfi_position_requests SET sent_at = now() WHERE id = \(try row.decode("id", as: UUID.self))")
        }
    }

    /// CollateralInquiries asked for over the API, each sent once (a snapshot of the collateral
    /// the broker holds for the session's account).
    private func sendCollateralInquiries(
        session: UUID, in transaction: PostgresTransaction, send: (FIXMessage) async throws -> Void,
        outcome: inout Outcome
    ) async throws {
        let rows = try await transaction.query(
            """
            SELECT i.id, i.coll_inquiry_id, s.account_id,
                   EXISTS (SELECT 1 FROM tradfi_fix_messages m WHERE m.session_id = i.session_id
                           AND m.cl_ord_id = i.coll_inquiry_id) AS stored
            FROM tradfi_collateral_inquiries i JOIN tradfi_broker_sessions s ON s.id = i.session_id
            WHERE i.session_id = \(session) AND i.sent_at IS NULL
            ORDER BY i.requested_at LIMIT 20
            FOR UPDATE OF i SKIP LOCKED
            """)
        for row in rows {
            if try !row.decode("stored", as: Bool.self) {
                try await send(
                    FIXMessage(
                        type: FIXMessageType.collateralInquiry,
                        fields: [
                            FIXField(FIXTag.collInquiryID, try row.decode("coll_inquiry_id", as: String.self)),
                            // 0: a snapshot.
                            FIXField(FIXTag.subscriptionRequestType, "0"),
                            FIXField(
                                FIXTag.account, try row.decode("account_id", as: UUID.self).uuidString.lowercased()),
                        ]))
                outcome.collateralInquiriesSent += 1
            }
            try await transaction.execute(
                "UPDATE tradfi_collateral_inquiries SET sent_at = now() WHERE id = \(try row.decode("id", as: UUID.self))"
            )
        }
    }

    private func markSent(_ id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE tradfi_orders SET status = 'sent', sent_at = coalesce(sent_at, now()), updated_at = now()
            WHERE id = \(id) AND status IN ('held', 'queued')
            """)
    }

    static func newOrderSingle(_ row: PostgresRow, now: Date) throws -> FIXMessage {
        var fields = [
            FIXField(FIXTag.clOrdID, try row.decode("cl_ord_id", as: String.self)),
            FIXField(FIXTag.symbol, try row.decode("symbol", as: String.self)),
            FIXField(FIXTag.side, try row.decode("side", as: String.self) == "buy" ? "1" : "2"),
            FIXField(FIXTag.transactTime, FIXTime.format(now)),
            FIXField(FIXTag.orderQty, try row.decode("quantity", as: ExactDecimal.self).normalized.description),
        ]
        if let limit = try row.decode("limit_price", as: ExactDecimal?.self) {
            fields.append(FIXField(FIXTag.ordType, "2"))
            fields.append(FIXField(FIXTag.price, limit.normalized.description))
        } else {
            fields.append(FIXField(FIXTag.ordType, "1"))
        }
        fields.append(
            FIXField(FIXTag.timeInForce, try row.decode("time_in_force", as: String.self) == "day" ? "0" : "1"))
        return FIXMessage(type: FIXMessageType.newOrderSingle, fields: fields)
    }

    /// The new terms of a working limit order: its quantity and limit, under a new ClOrdID.
    static func orderCancelReplaceRequest(_ row: PostgresRow, replaceID: String, now: Date) throws -> FIXMessage {
        FIXMessage(
            type: FIXMessageType.orderCancelReplaceRequest,
            fields: [
                FIXField(FIXTag.origClOrdID, try row.decode("cl_ord_id", as: String.self)),
                FIXField(FIXTag.clOrdID, replaceID),
                FIXField(FIXTag.symbol, try row.decode("symbol", as: String.self)),
                FIXField(FIXTag.side, try row.decode("side", as: String.self) == "buy" ? "1" : "2"),
                FIXField(FIXTag.transactTime, FIXTime.format(now)),
                FIXField(
                    FIXTag.orderQty, try row.decode("replace_quantity", as: ExactDecimal.self).normalized.description),
                FIXField(FIXTag.ordType, "2"),
                FIXField(FIXTag.price, try row.decode("replace_price", as: ExactDecimal.self).normalized.description),
                FIXField(
                    FIXTag.timeInForce, try row.decode("time_in_force", as: String.self) == "day" ? "0" : "1"),
            ])
    }

    static func orderCancelRequest(_ row: PostgresRow, cancelID: String, now: Date) throws -> FIXMessage {
        FIXMessage(
            type: FIXMessageType.orderCancelRequest,
            fields: [
                FIXField(FIXTag.origClOrdID, try row.decode("cl_ord_id", as: String.self)),
                FIXField(FIXTag.clOrdID, cancelID),
                FIXField(FIXTag.symbol, try row.decode("symbol", as: String.self)),
                FIXField(FIXTag.side, try row.decode("side", as: String.self) == "buy" ? "1" : "2"),
                FIXField(FIXTag.transactTime, FIXTime.format(now)),
                FIXField(FIXTag.orderQty, try row.decode("quantity", as: ExactDecimal.self).normalized.description),
            ])
    }
}
