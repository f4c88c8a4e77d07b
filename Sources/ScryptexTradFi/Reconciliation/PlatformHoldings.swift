public import Foundation
public import ScryptexCompliance
import ScryptexCore
public import ScryptexPostgres

/// What accounts hold at their connected platforms beyond the book, for the regulatory reports
/// (Form 13F, Form PF, CFTC large trader), each position with its source:
///
/// - at a prime broker: the latest position its broker reported on each session (before the
///   report's instant), less what the book's trades routed through that session account for —
///   what the broker holds that the platform did not trade (holdings moved in, trades done at the
///   broker directly). A broker whose report agrees with the book adds nothing.
/// - at a custodian: each custody account's holdings from its completed deposits and
///   withdrawals, in the instrument named by the asset (`IBIT`) or priced in US dollars
///   (`BTC` → `BTC/USD`). Custody is taken to hold what was moved in from outside (the book's
///   trades settle at brokers); an asset with no such instrument is not reportable.
public struct PlatformHoldings: ConnectedPlatformPositions {
    public init() {}

    public func positions(
        ofAccounts accounts: [UUID], before end: Date, in transaction: PostgresTransaction
    ) async throws -> [PlatformPosition] {
        guard !accounts.isEmpty else { return [] }
        var positions: [PlatformPosition] = []
        let brokers = try await transaction.query(
            """
            WITH latest AS (
                SELECT DISTINCT ON (p.session_id, p.symbol) p.session_id, p.symbol, p.quantity
                FROM tradfi_broker_positions p JOIN tradfi_broker_sessions s ON s.id = p.session_id
                WHERE s.account_id = ANY(\(accounts)::uuid[]) AND p.received_at < \(end)
                ORDER BY p.session_id, p.symbol, p.received_at DESC, p.report_id DESC
            )
            SELECT s.name, s.account_id, l.symbol, l.quantity,
                   coalesce((SELECT sum(CASE t.side WHEN 'buy' THEN t.quantity ELSE -t.quantity END)
                             FROM trades t JOIN tradfi_orders o ON o.order_id = t.order_id
                             WHERE o.session_id = l.session_id AND t.symbol = l.symbol AND t.executed_at < \(end)
                               AND t.cancelled_at IS NULL), 0) AS booked
            FROM latest l JOIN tradfi_broker_sessions s ON s.id = l.session_id
            ORDER BY s.name, l.symbol
            """
        )
        for row in brokers {
            let beyond = try row.decode("quantity", as: ExactDecimal.self)
                .subtracting(try row.decode("booked", as: ExactDecimal.self), figure: "a broker's position")
            guard !beyond.isZero else { continue }
            positions.append(
                PlatformPosition(
                    accountId: try row.decode("account_id", as: UUID.self),
                    symbol: try row.decode("symbol", as: String.self), quantity: beyond.normalized,
                    source: "broker:\(try row.decode("name", as: String.self))"))
        }
        let custody = try await transaction.query(
            """
            SELECT c.account_id, c.custodian, c.custodian_account, m.asset,
                   sum(CASE m.kind WHEN 'deposit' THEN m.quantity ELSE -m.quantity END) AS quantity,
                   coalesce((SELECT i.symbol FROM instruments i WHERE i.symbol = m.asset),
                            (SELECT i.symbol FROM instruments i WHERE i.symbol = m.asset || '/USD')) AS symbol
            FROM tradfi_custody_movements m JOIN tradfi_custody_accounts c ON c.id = m.custody_account_id
            WHERE c.account_id = ANY(\(accounts)::uuid[]) AND m.status = 'completed' AND m.updated_at < \(end)
            GROUP BY c.account_id, c.custodian, c.custodian_account, m.asset
            ORDER BY c.custodian, c.custodian_account, m.asset
            """
        )
        for row in custody {
            let quantity = try row.decode("quantity", as: ExactDecimal.self).normalized
            guard !quantity.isZero, let symbol = try row.decode("symbol", as: String?.self) else { continue }
            positions.append(
                PlatformPosition(
                    accountId: try row.decode("account_id", as: UUID.self), symbol: symbol, quantity: quantity,
                    source:
                        "custodian:\(try row.decode("custodian", as: String.self))/\(try row.decode("custodian_account", as: String.self))"
                ))
        }
        return positions
    }
}
