public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Money paid out of a partner's payable. `pending` reserves it; `sent` moves it from the
/// payable to payouts in transit; `settled` clears it into partner paid; `failed` either
/// releases the reservation (from pending) or makes it owed again (from sent). Every move that
/// touches the ledger posts its own balanced entry, naming the payout as its source.
public struct Payout: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, sent, settled, failed
    }

    public var id: UUID
    public var partner: UUID
    public var amount: String
    public var currency: String
    public var status: Status
    public var reference: String?
    public var failureReason: String?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

public struct PayoutService: Sendable {
    public init() {}

    /// What can still be paid out: owed on the ledger less pending payouts.
    public func available(
        partner: UUID, currency: Currency, in transaction: PostgresTransaction
    ) async throws -> ExactDecimal {
        let owed =
            -(try await LedgerStore.balance(
                of: .partnerPayable, currency: currency, partner: partner, in: transaction))
        let pending = try await transaction.query(
            """
            SELECT coalesce(sum(amount), 0)::text AS total FROM platform.revenue_payouts
            WHERE tenant_id = \(partner) AND currency = \(currency.code) AND status = 'pending'
            """
        )
        return (owed - (try ExactDecimal(parsing: try pending.firstRow.decode("total", as: String.self)))).normalized
    }

    /// Creates a pending payout.
    /// - Throws: `ServiceError` naming the field for a bad amount or currency; `.conflict` when
    ///   the amount exceeds what is owed and not yet reserved.
    public func create(
        partner: UUID, amount: ExactDecimal, currency: Currency, reference: String?, createdBy: String,
        in transaction: PostgresTransaction
    ) async throws -> Payout {
        guard amount > .zero else { throw ServiceError(.invalidInput, "field 'amount': must be above zero") }
        guard amount.significantScale <= currency.precision else {
            throw ServiceError(
                .invalidInput, "field 'amount': \(currency) amounts have at most \(currency.precision) decimals")
        }
        if let reference, reference.count > 200 || reference.contains(where: \.isNewline) {
            throw ServiceError(.invalidInput, "field 'reference': one line of at most 200 characters")
        }
        try await RevenueLocks.exclusive(partner, in: transaction)
        let available = try await available(partner: partner, currency: currency, in: transaction)
        guard amount <= available else {
            throw ServiceError(
                .conflict,
                "field 'amount': \(amount) \(currency) exceeds what can be paid out (\(available) \(currency))")
        }
        let rows = try await transaction.query(
            """
            INSERT INTO platform.revenue_payouts (tenant_id, amount, currency, status, reference, created_by)
            VALUES (\(partner), \(amount), \(currency.code), 'pending', \(reference), \(createdBy))
            RETURNING \(sql: Self.columns)
            """
        )
        return try Self.payout(rows.firstRow)
    }

    /// Moves a payout to `status`, posting what the move means.
    /// - Throws: `.notFound` for an unknown payout (or one of another partner when `partner` is
    ///   given); `.conflict` for a move its state does not allow.
    public func move(
        _ id: UUID, to status: Payout.Status, reason: String? = nil, in transaction: PostgresTransaction
    ) async throws -> Payout {
        guard
            let partner = try await transaction.query(
                "SELECT tenant_id FROM platform.revenue_payouts WHERE id = \(id)"
            ).first?.decode("tenant_id", as: UUID.self)
        else { throw ServiceError(.notFound, "no payout \(id.uuidString.lowercased())") }
        try await RevenueLocks.exclusive(partner, in: transaction)
        let current = try Self.payout(
            try await transaction.query(
                "SELECT \(sql: Self.columns) FROM platform.revenue_payouts WHERE id = \(id) FOR UPDATE"
            ).firstRow)
        let allowed: [Payout.Status: Set<Payout.Status>] = [
            .pending: [.sent, .failed], .sent: [.settled, .failed], .settled: [], .failed: [],
        ]
        guard allowed[current.status]!.contains(status) else {
            throw ServiceError(
                .conflict, "field 'status': a \(current.status.rawValue) payout cannot become \(status.rawValue)")
        }
        if status == .failed, (reason ?? "").isEmpty {
            throw ServiceError(.invalidInput, "field 'reason': say why the payout failed")
        }
        let currency = try Currency(current.currency)
        let amount = Money(try ExactDecimal(parsing: current.amount), currency)
        let memo = "payout \(id.uuidString.lowercased()) \(status.rawValue)"
        let lines: [Posting.Line]
        switch (current.status, status) {
        case (.pending, .sent):
            lines = [.init(.partnerPayable, amount), .init(.payoutsInTransit, -amount)]
        case (.sent, .settled):
            lines = [.init(.payoutsInTransit, amount), .init(.partnerPaid, -amount)]
        case (.sent, .failed):
            lines = [.init(.payoutsInTransit, amount), .init(.partnerPayable, -amount)]
        default:
            lines = []
        }
        if !lines.isEmpty {
            try await LedgerStore.record(
                try Posting(memo: memo, lines: lines), partner: partner, source: id, in: transaction)
        }
        let rows = try await transaction.query(
            """
            UPDATE platform.revenue_payouts SET status = \(status.rawValue), updated_at = now(),
                failure_reason = CASE WHEN \(status.rawValue) = 'failed' THEN \(reason) ELSE failure_reason END
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        return try Self.payout(rows.firstRow)
    }

    public func list(partner: UUID, in transaction: PostgresTransaction) async throws -> [Payout] {
        try await transaction.query(
            "SELECT \(sql: Self.columns) FROM platform.revenue_payouts WHERE tenant_id = \(partner) ORDER BY created_at, id"
        ).map(Self.payout)
    }

    static let columns: StaticString =
        "id, tenant_id, amount::text AS amount, currency, status, reference, failure_reason, created_by, created_at, updated_at"

    static func payout(_ row: PostgresRow) throws -> Payout {
        Payout(
            id: try row.decode("id", as: UUID.self), partner: try row.decode("tenant_id", as: UUID.self),
            amount: try ExactDecimal(parsing: try row.decode("amount", as: String.self)).normalized.description,
            currency: try row.decode("currency", as: String.self),
            status: Payout.Status(rawValue: try row.decode("status", as: String.self)) ?? .pending,
            reference: try row.decode("reference", as: String?.self),
            failureReason: try row.decode("failure_reason", as: String?.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}
