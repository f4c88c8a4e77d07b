public import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// A fee the platform earned on a partner's platform, reported once with an idempotency key.
public struct FeeEvent: Sendable, Codable, Equatable {
    public var idempotencyKey: String
    public var product: String
    public var amount: ExactDecimal
    public var currency: String
    /// Trading volume behind the fee (for volume tiers); zero when not a trade.
    public var volume: ExactDecimal?
    public var occurredAt: Date

    public init(
        idempotencyKey: String, product: String, amount: ExactDecimal, currency: String, volume: ExactDecimal? = nil,
        occurredAt: Date
    ) {
        self.idempotencyKey = idempotencyKey
        self.product = product
        self.amount = amount
        self.currency = currency
        self.volume = volume
        self.occurredAt = occurredAt
    }
}

/// Takes fee events into the ledger: each is validated, stored once per idempotency key, and
/// posted (fees receivable against platform revenue) in the same transaction. Replaying an event
/// changes nothing; the same key with a different payload is a conflict.
public struct FeeEventIngestion: Sendable {
    public init() {}

    public enum Outcome: Sendable, Equatable {
        case recorded
        case duplicate
    }

    /// Validates an event; throws naming the field.
    public static func validate(_ event: FeeEvent) throws(RevenueError) -> (RevenueProduct, Currency) {
        guard (1...128).contains(event.idempotencyKey.utf8.count),
            event.idempotencyKey.allSatisfy({ $0.isASCII && !$0.isWhitespace })
        else {
            throw RevenueError(.invalidInput, "field 'idempotencyKey': 1 to 128 printable ASCII characters")
        }
        guard let product = RevenueProduct(rawValue: event.product) else {
            throw RevenueError(
                .invalidInput,
                "field 'product': unknown product '\(event.product)'; known: \(RevenueProduct.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let currency = try Currency(event.currency)
        guard !event.amount.isNegative else {
            throw RevenueError(.invalidInput, "field 'amount': must not be negative")
        }
        guard event.amount.significantScale <= currency.precision else {
            throw RevenueError(
                .invalidInput, "field 'amount': \(currency) amounts have at most \(currency.precision) decimals")
        }
        if let volume = event.volume, volume.isNegative {
            throw RevenueError(.invalidInput, "field 'volume': must not be negative")
        }
        return (product, currency)
    }

    /// Records one event for a partner (tenant) in `transaction` (the host role's).
    public func ingest(_ event: FeeEvent, partner: UUID, in transaction: PostgresTransaction) async throws -> Outcome {
        let (product, currency) = try Self.validate(event)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .iso8601
        let payloadHash = SHA256.hexDigest(String(decoding: try encoder.encode(event), as: UTF8.self))
        let inserted = try await transaction.query(
            """
            INSERT INTO platform.fee_events
                (tenant_id, idempotency_key, product, amount, currency, volume, occurred_at, payload_hash)
            VALUES (\(partner), \(event.idempotencyKey), \(product.rawValue), \(event.amount), \(currency.code),
                    \(event.volume ?? .zero), \(event.occurredAt), \(payloadHash))
            ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
            RETURNING id
            """
        )
        guard let id = try inserted.first?.decode("id", as: UUID.self) else {
            let existing = try await transaction.query(
                """
                SELECT payload_hash FROM platform.fee_events
                WHERE tenant_id = \(partner) AND idempotency_key = \(event.idempotencyKey)
                """
            )
            guard try existing.first?.decode("payload_hash", as: String.self) == payloadHash else {
                throw RevenueError(
                    .conflict,
                    "field 'idempotencyKey': '\(event.idempotencyKey)' was already used for a different event")
            }
            return .duplicate
        }
        let posting = try Posting.feesEarned(Money(event.amount, currency), memo: "fee event \(event.idempotencyKey)")
        try await LedgerStore.record(posting, partner: partner, source: id, in: transaction)
        return .recorded
    }
}

/// Stores postings in `platform.ledger_entries` (append-only: one row per line, a posting id
/// grouping them).
public enum LedgerStore {
    public static func record(
        _ posting: Posting, partner: UUID, source: UUID?, in transaction: PostgresTransaction
    )
        async throws
    {
        let postingID = UUID()
        for line in posting.lines {
            try await transaction.execute(
                """
                INSERT INTO platform.ledger_entries (posting_id, tenant_id, account, currency, amount, memo, source_id)
                VALUES (\(postingID), \(partner), \(line.account.rawValue), \(line.amount.currency.code),
                        \(line.amount.amount), \(posting.memo), \(source))
                """
            )
        }
    }

    /// Balances by account for a partner and currency.
    public static func balances(
        of partner: UUID, in transaction: PostgresTransaction
    ) async throws
        -> [String: ExactDecimal]
    {
        let rows = try await transaction.query(
            """
            SELECT account || ':' || currency AS key, sum(amount)::text AS total FROM platform.ledger_entries
            WHERE tenant_id = \(partner) GROUP BY account, currency
            """
        )
        var balances: [String: ExactDecimal] = [:]
        for row in rows {
            balances[try row.decode("key", as: String.self)] = try ExactDecimal(
                parsing: try row.decode("total", as: String.self)
            ).normalized
        }
        return balances
    }
}
