public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// A position a broker reported (PositionReport), net of its transaction-quantity entries.
public struct BrokerPosition: Sendable, Codable, Equatable {
    public var symbol: String
    public var quantity: ExactDecimal
    public var businessDate: String?
    public var reportId: String
    /// The request it answered, when it answered one.
    public var posReqId: String?
    public var receivedAt: Date
}

/// A RequestForPositions asked of a broker.
public struct PositionRequest: Sendable, Codable, Equatable {
    public var id: UUID
    public var sessionId: UUID
    public var posReqId: String
    public var requestedBy: String
    public var requestedAt: Date
}

/// Positions held at prime brokers: asked for over FIX (sent by the session's holder) and kept as
/// reported, for reconciliation.
public struct BrokerPositionService: Sendable {
    public init() {}

    /// Asks the session's broker for its positions (sent when the session is logged on).
    public func request(
        session: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> PositionRequest {
        let owner = try await BrokerSessionService().session(session, in: transaction)
        let row = try await transaction.query(
            """
            INSERT INTO tradfi_position_requests (session_id, pos_req_id, requested_by)
            VALUES (\(session), \(UUID().uuidString.lowercased()), \(actor))
            RETURNING id, session_id, pos_req_id, requested_by, requested_at
            """
        ).firstRow
        let request = PositionRequest(
            id: try row.decode("id", as: UUID.self), sessionId: try row.decode("session_id", as: UUID.self),
            posReqId: try row.decode("pos_req_id", as: String.self),
            requestedBy: try row.decode("requested_by", as: String.self),
            requestedAt: try row.decode("requested_at", as: Date.self))
        try await audit.record(
            "tradfi.positions_requested", objectType: "broker_session", objectID: session.uuidString.lowercased(),
            accountID: owner.accountId, details: ["posReqId": request.posReqId], in: transaction)
        try await BrokerOrderService.wake(session, in: transaction)
        return request
    }

    /// The latest position the session's broker reported for each symbol.
    public func positions(session: UUID, in transaction: PostgresTransaction) async throws -> [BrokerPosition] {
        _ = try await BrokerSessionService().session(session, in: transaction)
        return try await transaction.query(
            """
            SELECT DISTINCT ON (symbol) symbol, quantity, business_date::text AS business_date, report_id, pos_req_id,
                   received_at
            FROM tradfi_broker_positions WHERE session_id = \(session)
            ORDER BY symbol, received_at DESC, report_id DESC
            """
        ).map { row in
            BrokerPosition(
                symbol: try row.decode("symbol", as: String.self),
                quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
                businessDate: try row.decode("business_date", as: String?.self),
                reportId: try row.decode("report_id", as: String.self),
                posReqId: try row.decode("pos_req_id", as: String?.self),
                receivedAt: try row.decode("received_at", as: Date.self))
        }
    }
}

/// A CollateralReport as kept.
public struct BrokerCollateral: Sendable, Codable, Equatable {
    public var reportId: String
    public var collInquiryId: String?
    public var status: String?
    public var currency: String?
    public var totalNetValue: ExactDecimal?
    public var receivedAt: Date
}

/// The collateral a session's broker holds: asked for with a CollateralInquiry (sent by the
/// session's holder), reported with CollateralReports.
public struct BrokerCollateralService: Sendable {
    public init() {}

    /// Records an inquiry for the session's holder to send; the reports land in `collateral(…)`.
    public func inquire(
        session: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> [String: String] {
        let owner = try await BrokerSessionService().session(session, in: transaction)
        let inquiry = "COL-" + UUID().uuidString.lowercased()
        try await transaction.execute(
            """
            INSERT INTO tradfi_collateral_inquiries (session_id, coll_inquiry_id, requested_by)
            VALUES (\(session), \(inquiry), \(actor))
            """)
        try await audit.record(
            "tradfi.collateral_inquired", objectType: "broker_session", objectID: session.uuidString.lowercased(),
            accountID: owner.accountId, details: ["collInquiryID": inquiry], in: transaction)
        try await BrokerOrderService.wake(session, in: transaction)
        return ["collInquiryId": inquiry, "sessionId": session.uuidString.lowercased()]
    }

    /// The session's collateral reports, newest first (100 at most).
    public func collateral(session: UUID, in transaction: PostgresTransaction) async throws -> [BrokerCollateral] {
        _ = try await BrokerSessionService().session(session, in: transaction)
        return try await transaction.query(
            """
            SELECT report_id, coll_inquiry_id, status, currency, total_net_value, received_at
            FROM tradfi_collateral_reports WHERE session_id = \(session)
            ORDER BY received_at DESC, report_id DESC LIMIT 100
            """
        ).map { row in
            BrokerCollateral(
                reportId: try row.decode("report_id", as: String.self),
                collInquiryId: try row.decode("coll_inquiry_id", as: String?.self),
                status: try row.decode("status", as: String?.self),
                currency: try row.decode("currency", as: String?.self),
                totalNetValue: try row.decode("total_net_value", as: ExactDecimal?.self)?.normalized,
                receivedAt: try row.decode("received_at", as: Date.self))
        }
    }
}
