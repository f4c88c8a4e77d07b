public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A fee the platform earned on a partner's platform, reported once with an idempotency key.
public struct FeeEvent: Sendable, Codable, Equatable {
    /// What one fee may be: below 10^15 (a quadrillion) in its currency, so that a month of
    /// millions of them still adds up exactly.
    public static let amountLimits = DecimalLimits(integerDigits: 15, fractionDigits: 18)

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

/// A fee event and the partner (tenant) it belongs to.
public struct PartnerFeeEvent: Sendable, Equatable {
    public var partner: UUID
    public var event: FeeEvent

    public init(partner: UUID, event: FeeEvent) {
        self.partner = partner
        self.event = event
    }
}

/// Takes fee events into the ledger. A batch is validated whole before anything is written;
/// each event is stored once per (partner, idempotency key) and booked in a period: the month it
/// occurred in, or — when that month is already closed — the partner's next open month, where
/// the period close posts it as an adjustment (a closed period is never edited). The batch's
/// new fees post as one balanced entry per partner, currency and period (fees receivable
/// against platform revenue) in the same transaction, and every event row names its posting.
/// Replaying events changes nothing; a known key with a different payload is a conflict and
/// the whole batch is refused.
public struct FeeEventIngestion: Sendable {
    public init() {}

    public enum Outcome: Sendable, Equatable {
        case recorded
        case duplicate
    }

    /// What a batch did.
    public struct Summary: Sendable, Equatable, Codable {
        /// Events stored and posted now.
        public var recorded = 0
        /// Events already stored with the same payload (replays), which changed nothing.
        public var duplicates = 0
        /// Recorded events whose month was closed, booked in the next open month as adjustments.
        public var late = 0

        public init() {}
    }

    /// Validates an event; throws naming the field.
    public static func validate(_ event: FeeEvent) throws(ServiceError) -> (RevenueProduct, Currency) {
        guard (1...128).contains(event.idempotencyKey.utf8.count),
            event.idempotencyKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw ServiceError(.invalidInput, "field 'idempotencyKey': 1 to 128 printable ASCII characters")
        }
        guard let product = RevenueProduct(rawValue: event.product) else {
            throw ServiceError(
                .invalidInput,
                "field 'product': unknown product '\(event.product)'; known: \(RevenueProduct.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let currency = try Currency(event.currency)
        guard !event.amount.isNegative else {
            throw ServiceError(.invalidInput, "field 'amount': must not be negative")
        }
        // A month's amounts add up exactly however many events it holds.
        try FeeEvent.amountLimits.check(event.amount, field: "amount")
        guard event.amount.significantScale <= currency.precision else {
            throw ServiceError(
                .invalidInput, "field 'amount': \(currency) amounts have at most \(currency.precision) decimals")
        }
        if let volume = event.volume {
            guard !volume.isNegative else {
                throw ServiceError(.invalidInput, "field 'volume': must not be negative")
            }
            try DecimalLimits.stored.check(volume, field: "volume")
        }
        guard RevenueMonth.isValid(RevenueMonth.of(event.occurredAt)) else {
            throw ServiceError(.invalidInput, "field 'occurredAt': a time between the years 2000 and 2100")
        }
        return (product, currency)
    }

    /// Whether two events with one key say the same thing (amounts compared as numbers, times
    /// to the microsecond PostgreSQL keeps).
    static func samePayload(_ left: FeeEvent, _ right: FeeEvent) -> Bool {
        left.product == right.product && left.amount == right.amount && left.currency == right.currency
            && (left.volume ?? .zero) == (right.volume ?? .zero)
            && left.occurredAt.postgresText == right.occurredAt.postgresText
    }

    /// Records one event for a partner (tenant) in `transaction` (the host role's).
    public func ingest(_ event: FeeEvent, partner: UUID, in transaction: PostgresTransaction) async throws -> Outcome {
        let summary = try await ingest([PartnerFeeEvent(partner: partner, event: event)], in: transaction, prefix: nil)
        return summary.recorded == 1 ? .recorded : .duplicate
    }

    /// Records a batch of events in `transaction`; all or nothing.
    /// - Throws: `ServiceError` naming the event and field (`events[3].amount`) for bad input,
    ///   an unknown or deleted partner, or a currency other than the partner's plan's;
    ///   `.conflict` for a known key with a different payload.
    public func ingest(_ events: [PartnerFeeEvent], in transaction: PostgresTransaction) async throws -> Summary {
        try await ingest(events, in: transaction, prefix: "events")
    }

    private func ingest(
        _ events: [PartnerFeeEvent], in transaction: PostgresTransaction, prefix: String?
    ) async throws -> Summary {
        func named(_ index: Int, _ error: ServiceError) -> ServiceError {
            guard let prefix else { return error }
            var error = error
            if let range = error.message.range(of: "field '") {
                error.message.replaceSubrange(range, with: "field '\(prefix)[\(index)].")
            } else {
                error.message = "\(prefix)[\(index)]: " + error.message
            }
            return error
        }
        var currencies: [Currency] = []
        currencies.reserveCapacity(events.count)
        for (index, item) in events.enumerated() {
            do {
                currencies.append(try Self.validate(item.event).1)
            } catch {
                throw named(index, error)
            }
        }
        guard !events.isEmpty else { return Summary() }

        // A shared lock per partner: batches run side by side, a period close waits for them.
        let partners = Array(Set(events.map(\.partner)))
        try await RevenueLocks.shared(partners, in: transaction)
        let state = try await PartnerState.load(partners, in: transaction)

        // Book each event, check its partner and currency, group new fees into postings.
        struct Group: Hashable {
            var partner: UUID
            var currency: String
            var period: String
        }
        struct Identity: Hashable {
            var partner: UUID
            var key: String
        }
        var postingIDs: [Group: UUID] = [:]
        var columns = EventColumns(capacity: events.count)
        // The first event of each (partner, key) in the batch; a repeat is a replay of it, or a
        // conflict when it says something else.
        var firstIndex: [Identity: Int] = [:]
        firstIndex.reserveCapacity(events.count)
        struct PartnerMonth: Hashable {
            var partner: UUID
            var period: String
        }
        /// Months without a plan: the currency of their events in this batch.
        var unplanned: [PartnerMonth: String] = [:]
        var summary = Summary()
        for (index, item) in events.enumerated() {
            guard let partner = state[item.partner], partner.acceptsFees else {
                throw named(
                    index,
                    ServiceError(
                        .invalidInput,
                        "field 'partner': unknown or deleted partner \(item.partner.uuidString.lowercased())"))
            }
            let identity = Identity(partner: item.partner, key: item.event.idempotencyKey)
            if let first = firstIndex[identity] {
                guard Self.samePayload(events[first].event, item.event) else {
                    throw ServiceError(
                        .conflict,
                        "field 'idempotencyKey': '\(item.event.idempotencyKey)' is used twice in the batch for different events"
                    )
                }
                summary.duplicates += 1
                continue
            }
            firstIndex[identity] = index
            let occurred = RevenueMonth.of(item.event.occurredAt)
            let booked = partner.bookingMonth(for: occurred)
            let planCurrency = partner.planCurrency(in: booked)
            if let planCurrency, planCurrency != currencies[index].code {
                throw named(
                    index,
                    ServiceError(
                        .invalidInput,
                        "field 'currency': \(currencies[index]) is not the currency of the partner's plan for \(booked) (\(planCurrency))"
                    ))
            }
            // Without a plan yet, a month still has one currency: its first event's.
            if planCurrency == nil {
                let month = PartnerMonth(partner: item.partner, period: booked)
                if let other = unplanned[month], other != currencies[index].code {
                    throw named(
                        index,
                        ServiceError(
                            .invalidInput,
                            "field 'currency': \(currencies[index]) beside \(other) in \(booked): a month's fee events share one currency"
                        ))
                }
                unplanned[month] = currencies[index].code
            }
            let group = Group(partner: item.partner, currency: currencies[index].code, period: booked)
            let postingID = postingIDs[group] ?? UUID()
            postingIDs[group] = postingID
            columns.append(item, bookedPeriod: booked, postingID: postingID, late: booked != occurred)
        }

        // …and the one of the events already booked in those months.
        if !unplanned.isEmpty {
            let months = Array(unplanned.keys)
            for row in try await transaction.query(
                """
                SELECT DISTINCT e.tenant_id, e.booked_period, e.currency FROM platform.fee_events e
                JOIN unnest(\(months.map(\.partner))::uuid[], \(months.map(\.period))::text[]) AS m (tenant_id, period)
                    ON e.tenant_id = m.tenant_id AND e.booked_period = m.period
                """
            ) {
                let month = PartnerMonth(
                    partner: try row.decode("tenant_id", as: UUID.self),
                    period: try row.decode("booked_period", as: String.self))
                let stored = try row.decode("currency", as: String.self)
                if let incoming = unplanned[month], incoming != stored {
                    throw ServiceError(
                        .invalidInput,
                        "field 'currency': \(incoming) beside the \(stored) fee events already booked in \(month.period): a month's fee events share one currency"
                    )
                }
            }
        }

        let insertedCount = try await transaction.execute(
            """
            INSERT INTO platform.fee_events
                (tenant_id, idempotency_key, product, amount, currency, volume, occurred_at, booked_period, posting_id)
            SELECT * FROM unnest(\(columns.partners)::uuid[], \(columns.keys)::text[], \(columns.products)::text[],
                \(columns.amounts)::numeric[], \(columns.currencies)::text[], \(columns.volumes)::numeric[],
                \(columns.times)::timestamptz[], \(columns.periods)::text[], \(columns.postingIDs)::uuid[])
            ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
            """
        )
        // Usually every event is new. Otherwise, find which rows are this batch's (they carry its
        // fresh posting ids) and check that the others were stored with the same payload.
        var recorded = [Bool](repeating: true, count: columns.keys.count)
        if insertedCount < columns.keys.count {
            let ours = Array(Set(columns.postingIDs))
            let rows = try await transaction.query(
                """
                SELECT n.position, e.posting_id = ANY(\(ours)::uuid[]) AS ours,
                    (e.product, e.amount, e.currency, e.volume, e.occurred_at)
                        IS NOT DISTINCT FROM (n.product, n.amount, n.currency, n.volume, n.occurred_at) AS same
                FROM unnest(\(columns.partners)::uuid[], \(columns.keys)::text[], \(columns.products)::text[],
                    \(columns.amounts)::numeric[], \(columns.currencies)::text[], \(columns.volumes)::numeric[],
                    \(columns.times)::timestamptz[])
                    WITH ORDINALITY AS n (tenant_id, key, product, amount, currency, volume, occurred_at, position)
                JOIN platform.fee_events e ON e.tenant_id = n.tenant_id AND e.idempotency_key = n.key
                """
            )
            for row in rows {
                let position = try row.decode("position", as: Int.self) - 1
                if try row.decode("ours", as: Bool.self) { continue }
                guard try row.decode("same", as: Bool.self) else {
                    throw ServiceError(
                        .conflict,
                        "field 'idempotencyKey': '\(columns.keys[position])' was already used for a different event")
                }
                recorded[position] = false
            }
        }

        // Sum what was stored per posting.
        var totals: [UUID: (group: Group, amount: ExactDecimal)] = [:]
        for index in columns.keys.indices {
            guard recorded[index] else {
                summary.duplicates += 1
                continue
            }
            let group = Group(
                partner: columns.partners[index], currency: columns.currencies[index], period: columns.periods[index])
            totals[columns.postingIDs[index], default: (group, .zero)].amount += columns.amounts[index]
            summary.recorded += 1
            if columns.late[index] { summary.late += 1 }
        }

        var postings: [LedgerStore.Entry] = []
        for (postingID, total) in totals {
            let currency = try Currency(total.group.currency)
            postings.append(
                LedgerStore.Entry(
                    id: postingID,
                    posting: try Posting.feesEarned(
                        Money(total.amount, currency), memo: "fee events booked in \(total.group.period)"),
                    partner: total.group.partner, source: nil, period: total.group.period))
        }
        try await LedgerStore.record(postings, in: transaction)
        return summary
    }
}

/// What ingestion needs to know of each partner in a batch: whether it takes fees, the last
/// closed month, and the currency of each plan version.
struct PartnerState {
    var status: String
    var lastClosed: String?
    /// Plan versions (start month, currency), latest first.
    var plans: [(month: String, currency: String)]

    var acceptsFees: Bool { status == "active" || status == "suspended" }

    /// The month an event that occurred in `month` is booked in: its own, unless closed.
    func bookingMonth(for month: String) -> String {
        guard let lastClosed, month <= lastClosed else { return month }
        return RevenueMonth.next(after: lastClosed)
    }

    func planCurrency(in month: String) -> String? {
        plans.first { $0.month <= month }?.currency
    }

    static func load(_ partners: [UUID], in transaction: PostgresTransaction) async throws -> [UUID: PartnerState] {
        var state: [UUID: PartnerState] = [:]
        let rows = try await transaction.query(
            """
            SELECT t.id, t.status,
                (SELECT max(period) FROM platform.revenue_periods p WHERE p.tenant_id = t.id AND p.status = 'closed')
                    AS last_closed
            FROM platform.tenants t WHERE t.id = ANY(\(partners))
            """
        )
        for row in rows {
            state[try row.decode("id", as: UUID.self)] = PartnerState(
                status: try row.decode("status", as: String.self),
                lastClosed: try row.decode("last_closed", as: String?.self), plans: [])
        }
        let plans = try await transaction.query(
            """
            SELECT tenant_id, effective_month, plan ->> 'currency' AS currency FROM platform.revenue_plans
            WHERE tenant_id = ANY(\(partners)) ORDER BY effective_month DESC
            """
        )
        for row in plans {
            state[try row.decode("tenant_id", as: UUID.self)]?.plans.append(
                (try row.decode("effective_month", as: String.self), try row.decode("currency", as: String.self)))
        }
        return state
    }
}

/// A batch of events as parallel arrays, for one `unnest` insert.
private struct EventColumns {
    var partners: [UUID] = []
    var keys: [String] = []
    var products: [String] = []
    var amounts: [ExactDecimal] = []
    var currencies: [String] = []
    var volumes: [ExactDecimal] = []
    var times: [Date] = []
    var periods: [String] = []
    var postingIDs: [UUID] = []
    var late: [Bool] = []

    init(capacity: Int) {
        partners.reserveCapacity(capacity)
        keys.reserveCapacity(capacity)
        amounts.reserveCapacity(capacity)
        times.reserveCapacity(capacity)
    }

    mutating func append(_ item: PartnerFeeEvent, bookedPeriod: String, postingID: UUID, late: Bool) {
        let event = item.event
        let volume = event.volume ?? .zero
        partners.append(item.partner)
        keys.append(event.idempotencyKey)
        products.append(event.product)
        amounts.append(event.amount)
        currencies.append(event.currency)
        volumes.append(volume)
        times.append(event.occurredAt)
        periods.append(bookedPeriod)
        postingIDs.append(postingID)
        self.late.append(late)
    }
}

/// Advisory locks per partner: ingestion holds them shared, anything that reads a period whole
/// or moves the payable (period close, payouts) holds them exclusively.
enum RevenueLocks {
    static func key(_ partner: UUID) -> String { "scryptex-revenue:" + (partner.postgresText ?? "") }

    static func shared(_ partners: [UUID], in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest(\(partners.map(key))::text[]) AS k"
        )
    }

    static func exclusive(_ partner: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("SELECT pg_advisory_xact_lock(hashtextextended(\(key(partner)), 0))")
    }
}

/// Stores postings in `platform.ledger_entries` (append-only: one row per line, a posting id
/// grouping them; the database refuses a posting that does not balance).
public enum LedgerStore {
    public struct Entry: Sendable {
        public var id: UUID
        public var posting: Posting
        public var partner: UUID
        /// What caused it (a payout), if one row does.
        public var source: UUID?
        /// The period it belongs to, when it belongs to one.
        public var period: String?

        public init(id: UUID = UUID(), posting: Posting, partner: UUID, source: UUID?, period: String?) {
            self.id = id
            self.posting = posting
            self.partner = partner
            self.source = source
            self.period = period
        }
    }

    public static func record(
        _ posting: Posting, partner: UUID, source: UUID?, period: String? = nil, in transaction: PostgresTransaction
    ) async throws {
        try await record([Entry(posting: posting, partner: partner, source: source, period: period)], in: transaction)
    }

    /// Records postings, all their lines in one statement.
    public static func record(_ entries: [Entry], in transaction: PostgresTransaction) async throws {
        var postingIDs: [UUID] = []
        var partners: [UUID] = []
        var accounts: [String] = []
        var currencies: [String] = []
        var amounts: [ExactDecimal] = []
        var memos: [String] = []
        var sources: [UUID?] = []
        var periods: [String?] = []
        for entry in entries {
            for line in entry.posting.lines {
                postingIDs.append(entry.id)
                partners.append(entry.partner)
                accounts.append(line.account.rawValue)
                currencies.append(line.amount.currency.code)
                amounts.append(line.amount.amount)
                memos.append(entry.posting.memo)
                sources.append(entry.source)
                periods.append(entry.period)
            }
        }
        guard !postingIDs.isEmpty else { return }
        try await transaction.execute(
            """
            INSERT INTO platform.ledger_entries (posting_id, tenant_id, account, currency, amount, memo, source_id, period)
            SELECT * FROM unnest(\(postingIDs)::uuid[], \(partners)::uuid[], \(accounts)::text[], \(currencies)::text[],
                \(amounts)::numeric[], \(memos)::text[], \(sources)::uuid[], \(periods)::text[])
            """
        )
    }

    /// Balances by account for a partner, keyed `account:currency`.
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

    /// One account's balance for a partner (debits positive).
    public static func balance(
        of account: LedgerAccount, currency: Currency, partner: UUID, in transaction: PostgresTransaction
    ) async throws -> ExactDecimal {
        let rows = try await transaction.query(
            """
            SELECT coalesce(sum(amount), 0)::text AS total FROM platform.ledger_entries
            WHERE tenant_id = \(partner) AND account = \(account.rawValue) AND currency = \(currency.code)
            """
        )
        return try ExactDecimal(parsing: try rows.first?.decode("total", as: String.self) ?? "0").normalized
    }
}
