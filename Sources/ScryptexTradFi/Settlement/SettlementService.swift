public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// What a client sends to settle an account's trades with a counterparty in one currency on one
/// trade date.
public struct SettlementRequest: Sendable, Codable, Equatable {
    /// The client's id of the instruction (ISO 20022 Max35Text): the same id again returns the
    /// same settlement.
    public var instructionId: String
    public var accountId: UUID
    public var counterparty: String
    public var currency: String
    /// `YYYY-MM-DD` (UTC): the trades executed that day are netted.
    public var tradeDate: String

    static let fields: Set<String> = ["instructionId", "accountId", "counterparty", "currency", "tradeDate"]

    public static func decode(_ bytes: [UInt8]) throws -> SettlementRequest {
        try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a settlement instruction")
    }
}

/// Where a party is paid in a currency (a standing settlement instruction).
public struct SettlementAccountDefinition: Sendable, Codable, Equatable {
    /// None: the tenant's own account (what it pays from and is paid into).
    public var counterparty: String?
    public var currency: String
    public var holder: String
    public var bic: String
    public var account: String

    static let fields: Set<String> = ["counterparty", "currency", "holder", "bic", "account"]

    public static func decode(_ bytes: [UInt8]) throws -> SettlementAccountDefinition {
        try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a settlement account")
    }
}

public struct SettlementAccount: Sendable, Codable, Equatable {
    public var id: UUID
    public var counterparty: String?
    public var currency: String
    public var holder: String
    public var bic: String
    public var account: String
}

public struct Settlement: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, instructed, sent, settled, failed, cancelled

        /// The states each may move to.
        var next: Set<Status> {
            switch self {
            case .pending: [.instructed, .cancelled, .settled]
            case .instructed: [.sent, .cancelled, .settled]
            case .sent: [.settled, .failed]
            // A failed payment is instructed again once its cause is fixed.
            case .failed: [.instructed, .cancelled]
            case .settled, .cancelled: []
            }
        }
    }

    public var id: UUID
    public var instructionId: String
    public var accountId: UUID
    public var counterparty: String
    public var currency: String
    public var tradeDate: String
    public var valueDate: String
    /// `pay`, `receive`, or `none` (the trades net to zero).
    public var direction: String
    public var amount: ExactDecimal
    public var status: Status
    public var statusReason: String?
    public var messageId: String?
    public var endToEndId: String
    public var uetr: UUID
    public var settledAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// The trades netted (one settlement's view only).
    public var trades: [SettledTrade]?
    /// Every change of state (one settlement's view only).
    public var events: [SettlementEvent]?
}

public struct SettledTrade: Sendable, Codable, Equatable {
    public var tradeId: UUID
    /// What the trade adds to the net: received positive, paid negative.
    public var amount: ExactDecimal
}

public struct SettlementEvent: Sendable, Codable, Equatable {
    public var from: String?
    public var to: String
    public var actor: String
    public var reason: String?
    public var at: Date
}

/// What applying one camt.054 booking came to.
public struct BookingOutcome: Sendable, Codable, Equatable {
    public var entry: String
    public var endToEndId: String?
    public var settlementId: UUID?
    /// `settled`, `failed` (a reversal), `already_applied`, `unmatched`, `mismatch`, `not_booked`.
    public var outcome: String
    public var detail: String?
}

/// A settlement statement: every settlement with value dates in a period, with totals per
/// currency of what was paid and received and what is still open.
public struct SettlementStatement: Sendable, Codable, Equatable {
    public struct Totals: Sendable, Codable, Equatable {
        public var currency: String
        public var paid: ExactDecimal
        public var received: ExactDecimal
        public var openToPay: ExactDecimal
        public var openToReceive: ExactDecimal
    }

    public var from: String
    public var to: String
    public var counterparty: String?
    public var totals: [Totals]
    public var settlements: [Settlement]
}

/// Fiat settlement of trades: the trades an account made with a counterparty in one currency on
/// one day netted into one instruction with its value date (the currency's cycle and cut-off,
/// business days by its calendar), moved through pending → instructed → sent → settled | failed
/// | cancelled (every change recorded), paid with a pacs.008 and confirmed by the bank's
/// camt.054.
public struct SettlementService: Sendable {
    public init() {}

    static func validCurrency(_ currency: String) throws(ServiceError) -> SettlementCalendar {
        guard let calendar = SettlementCalendar(currency: currency) else {
            throw ServiceError(
                .invalidInput,
                "field 'currency': one of \(SettlementCalendar.currencies.joined(separator: ", ")) (fiat settled by payment)"
            )
        }
        return calendar
    }

    // MARK: Calendars and accounts

    public func addHoliday(
        currency: String, day text: String, name: String, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws {
        _ = try Self.validCurrency(currency)
        guard let day = PostgresDate(iso8601: text) else {
            throw ServiceError(.invalidInput, "field 'day': a date (YYYY-MM-DD)")
        }
        guard (1...100).contains(name.count) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 100 characters")
        }
        try await transaction.execute(
            """
            INSERT INTO tradfi_currency_holidays (currency, day, name) VALUES (\(currency), \(day), \(name))
            ON CONFLICT (currency, day) DO UPDATE SET name = EXCLUDED.name
            """
        )
        try await audit.record(
            "tradfi.holiday_recorded", objectType: "currency_holiday", objectID: "\(currency)/\(day)", accountID: nil,
            details: ["name": name], in: transaction)
    }

    public func calendar(of currency: String, in transaction: PostgresTransaction) async throws -> SettlementCalendar {
        var calendar = try Self.validCurrency(currency)
        calendar.holidays = Set(
            try await transaction.query("SELECT day FROM tradfi_currency_holidays WHERE currency = \(currency)")
                .map { try $0.decode("day", as: PostgresDate.self) })
        return calendar
    }

    public func holidays(in transaction: PostgresTransaction) async throws -> [[String: String]] {
        try await transaction.query("SELECT currency, day, name FROM tradfi_currency_holidays ORDER BY day, currency")
            .map {
                [
                    "currency": try $0.decode("currency", as: String.self),
                    "day": try $0.decode("day", as: PostgresDate.self).description,
                    "name": try $0.decode("name", as: String.self),
                ]
            }
    }

    public func addAccount(
        _ definition: SettlementAccountDefinition, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> SettlementAccount {
        _ = try Self.validCurrency(definition.currency)
        if let counterparty = definition.counterparty {
            try CustodyService.oneLine(counterparty, field: "counterparty", maximum: 300)
        }
        try CustodyService.oneLine(definition.holder, field: "holder", maximum: 140)
        guard definition.bic.wholeMatch(of: /[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?/) != nil else {
            throw ServiceError(.invalidInput, "field 'bic': a BIC of 8 or 11 characters (DEUTDEFF, CHASUS33XXX)")
        }
        guard definition.account.wholeMatch(of: /[A-Za-z0-9]{1,34}/) != nil else {
            throw ServiceError(.invalidInput, "field 'account': an IBAN or account number, 1 to 34 letters or digits")
        }
        if definition.account.wholeMatch(of: /[A-Z]{2}[0-9]{2}[A-Za-z0-9]{1,30}/) != nil,
            !ISO20022.isIBAN(definition.account)
        {
            throw ServiceError(.invalidInput, "field 'account': an IBAN whose check digits are wrong")
        }
        let rows = try await transaction.query(
            """
            INSERT INTO tradfi_settlement_accounts (counterparty, currency, holder, bic, account, created_by)
            VALUES (\(definition.counterparty), \(definition.currency), \(definition.holder), \(definition.bic),
                    \(definition.account), \(actor))
            ON CONFLICT DO NOTHING
            RETURNING id
            """
        )
        guard let id = try rows.first?.decode("id", as: UUID.self) else {
            throw ServiceError(
                .conflict,
                "a settlement account for \(definition.counterparty ?? "the tenant") in \(definition.currency) exists")
        }
        try await audit.record(
            "tradfi.settlement_account_added", objectType: "settlement_account", objectID: id.uuidString.lowercased(),
            accountID: nil,
            details: ["counterparty": definition.counterparty ?? "own", "currency": definition.currency],
            in: transaction)
        return SettlementAccount(
            id: id, counterparty: definition.counterparty, currency: definition.currency, holder: definition.holder,
            bic: definition.bic, account: definition.account)
    }

    public func accounts(in transaction: PostgresTransaction) async throws -> [SettlementAccount] {
        try await transaction.query(
            """
            SELECT id, counterparty, currency, holder, bic, account FROM tradfi_settlement_accounts
            ORDER BY counterparty NULLS FIRST, currency
            """
        ).map {
            SettlementAccount(
                id: try $0.decode("id", as: UUID.self), counterparty: try $0.decode("counterparty", as: String?.self),
                currency: try $0.decode("currency", as: String.self), holder: try $0.decode("holder", as: String.self),
                bic: try $0.decode("bic", as: String.self), account: try $0.decode("account", as: String.self))
        }
    }

    func party(
        _ counterparty: String?, currency: String, in transaction: PostgresTransaction
    ) async throws
        -> SettlementParty?
    {
        try await transaction.query(
            """
            SELECT holder, bic, account FROM tradfi_settlement_accounts
            WHERE lower(coalesce(counterparty, '')) = lower(coalesce(\(counterparty)::text, '')) AND currency = \(currency)
            """
        ).first.map {
            SettlementParty(
                holder: try $0.decode("holder", as: String.self), bic: try $0.decode("bic", as: String.self),
                account: try $0.decode("account", as: String.self))
        }
    }

    // MARK: Instructions

    static let columns: StaticString = """
        s.id, s.instruction_id, s.account_id, s.counterparty, s.currency, s.trade_date, s.value_date, s.direction,
        s.amount, s.status, s.status_reason, s.message_id, s.end_to_end_id, s.uetr, s.settled_at, s.created_by,
        s.created_at, s.updated_at
        """

    static func settlement(_ row: PostgresRow) throws -> Settlement {
        Settlement(
            id: try row.decode("id", as: UUID.self), instructionId: try row.decode("instruction_id", as: String.self),
            accountId: try row.decode("account_id", as: UUID.self),
            counterparty: try row.decode("counterparty", as: String.self),
            currency: try row.decode("currency", as: String.self),
            tradeDate: try row.decode("trade_date", as: PostgresDate.self).description,
            valueDate: try row.decode("value_date", as: PostgresDate.self).description,
            direction: try row.decode("direction", as: String.self),
            amount: try row.decode("amount", as: ExactDecimal.self).normalized,
            status: Settlement.Status(rawValue: try row.decode("status", as: String.self)) ?? .pending,
            statusReason: try row.decode("status_reason", as: String?.self),
            messageId: try row.decode("message_id", as: String?.self),
            endToEndId: try row.decode("end_to_end_id", as: String.self), uetr: try row.decode("uetr", as: UUID.self),
            settledAt: try row.decode("settled_at", as: Date?.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }

    /// Nets the account's unsettled trades with the counterparty in the currency on the trade
    /// date into one instruction. Returns it and whether it is new (the same instruction id with
    /// the same terms: the one stored; other terms: `.conflict`).
    public func instruct(
        _ request: SettlementRequest, actor: String, audit: any AuditSink, in transaction: PostgresTransaction,
        now: Date = Date()
    ) async throws -> (Settlement, created: Bool) {
        guard request.instructionId.wholeMatch(of: /[A-Za-z0-9\/?:().,'+ -]{1,35}/) != nil else {
            throw ServiceError(
                .invalidInput,
                "field 'instructionId': 1 to 35 characters of the SWIFT set (letters, digits, /-?:().,'+ )")
        }
        try CustodyService.oneLine(request.counterparty, field: "counterparty", maximum: 300)
        guard let tradeDate = PostgresDate(iso8601: request.tradeDate) else {
            throw ServiceError(.invalidInput, "field 'tradeDate': a date (YYYY-MM-DD)")
        }
        guard tradeDate <= PostgresDate(containing: now) else {
            throw ServiceError(.invalidInput, "field 'tradeDate': \(tradeDate) is in the future")
        }
        let calendar = try await calendar(of: request.currency, in: transaction)
        if let row = try await transaction.query(
            "SELECT \(sql: Self.columns) FROM tradfi_settlements s WHERE s.instruction_id = \(request.instructionId)"
        ).first {
            let stored = try Self.settlement(row)
            guard stored.accountId == request.accountId, stored.counterparty == request.counterparty,
                stored.currency == request.currency, stored.tradeDate == tradeDate.description
            else {
                throw ServiceError(
                    .conflict, "field 'instructionId': an instruction with this id and other terms exists")
            }
            return (try await settlement(stored.id, in: transaction), false)
        }
        _ = try await AccountService().account(request.accountId, in: transaction)
        // The trades, locked so two instructions cannot take the same one.
        let trades = try await transaction.query(
            """
            SELECT t.id, t.side, t.notional FROM trades t
            WHERE t.account_id = \(request.accountId) AND lower(t.counterparty) = lower(\(request.counterparty))
              AND t.cancelled_at IS NULL AND split_part(t.symbol, '/', 2) = \(request.currency)
              AND t.executed_at >= \(tradeDate)::timestamp AT TIME ZONE 'UTC'
              AND t.executed_at < (\(tradeDate)::date + 1)::timestamp AT TIME ZONE 'UTC'
              AND NOT EXISTS (SELECT 1 FROM tradfi_settlement_trades st WHERE st.trade_id = t.id AND NOT st.released)
            ORDER BY t.executed_at, t.id
            FOR UPDATE OF t
            """
        ).map {
            (
                id: try $0.decode("id", as: UUID.self), side: try $0.decode("side", as: String.self),
                notional: try $0.decode("notional", as: ExactDecimal.self).normalized
            )
        }
        guard !trades.isEmpty else {
            throw ServiceError(
                .conflict,
                "no unsettled \(request.currency) trades of the account with \(request.counterparty) on \(tradeDate)")
        }
        var net = ExactDecimal.zero
        for trade in trades {
            net = try net.adding(trade.side == "sell" ? trade.notional : -trade.notional, figure: "the net amount")
        }
        // Cash moves in cents: the net is rounded once, half to even.
        let amount = (net.isNegative ? -net : net).rounded(toScale: 2).normalized
        let direction = amount.isZero ? "none" : net.isNegative ? "pay" : "receive"
        let (valueDate, rolled) = calendar.valueDate(tradeDate: tradeDate, instructedAt: now)
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_settlements
                (instruction_id, account_id, counterparty, currency, trade_date, value_date, direction, amount, status,
                 status_reason, end_to_end_id, uetr, settled_at, created_by)
            VALUES (\(request.instructionId), \(request.accountId), \(request.counterparty), \(request.currency),
                    \(tradeDate), \(valueDate), \(direction), \(amount),
                    \(direction == "none" ? "settled" : "pending"),
                    \(direction == "none" ? "the trades net to zero: nothing moves" : rolled ? "past the cut-off of the cycle's value date: rolled to \(valueDate)" : nil),
                    \(request.instructionId), \(UUID()), \(direction == "none" ? now : nil), \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        for trade in trades {
            try await transaction.execute(
                """
                INSERT INTO tradfi_settlement_trades (settlement_id, trade_id, amount)
                VALUES (\(id), \(trade.id), \(trade.side == "sell" ? trade.notional : -trade.notional))
                """
            )
        }
        try await record(
            id, from: nil, to: direction == "none" ? .settled : .pending, actor: actor, reason: nil, in: transaction)
        try await audit.record(
            "tradfi.settlement_instructed", objectType: "settlement", objectID: id.uuidString.lowercased(),
            accountID: request.accountId,
            details: [
                "counterparty": request.counterparty, "currency": request.currency, "direction": direction,
                "amount": amount.description, "valueDate": valueDate.description, "trades": String(trades.count),
            ], in: transaction)
        return (try await settlement(id, in: transaction), true)
    }

    private func record(
        _ id: UUID, from: Settlement.Status?, to: Settlement.Status, actor: String, reason: String?,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            INSERT INTO tradfi_settlement_events (settlement_id, from_status, to_status, actor, reason)
            VALUES (\(id), \(from?.rawValue), \(to.rawValue), \(actor), \(reason))
            """
        )
    }

    public func settlement(_ id: UUID, in transaction: PostgresTransaction) async throws -> Settlement {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_settlements s WHERE s.id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no settlement with this id") }
        var settlement = try Self.settlement(row)
        settlement.trades = try await transaction.query(
            "SELECT trade_id, amount FROM tradfi_settlement_trades WHERE settlement_id = \(id) ORDER BY trade_id"
        ).map {
            SettledTrade(
                tradeId: try $0.decode("trade_id", as: UUID.self),
                amount: try $0.decode("amount", as: ExactDecimal.self).normalized)
        }
        settlement.events = try await transaction.query(
            """
            SELECT from_status, to_status, actor, reason, occurred_at FROM tradfi_settlement_events
            WHERE settlement_id = \(id) ORDER BY id
            """
        ).map {
            SettlementEvent(
                from: try $0.decode("from_status", as: String?.self), to: try $0.decode("to_status", as: String.self),
                actor: try $0.decode("actor", as: String.self), reason: try $0.decode("reason", as: String?.self),
                at: try $0.decode("occurred_at", as: Date.self))
        }
        return settlement
    }

    public func settlements(
        status: Settlement.Status?, counterparty: String?, currency: String?, valueFrom: PostgresDate? = nil,
        valueTo: PostgresDate? = nil, in transaction: PostgresTransaction
    ) async throws -> [Settlement] {
        try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM tradfi_settlements s
            WHERE (\(status?.rawValue)::text IS NULL OR s.status = \(status?.rawValue))
              AND (\(counterparty)::text IS NULL OR lower(s.counterparty) = lower(\(counterparty)))
              AND (\(currency)::text IS NULL OR s.currency = \(currency))
              AND (\(valueFrom)::date IS NULL OR s.value_date >= \(valueFrom))
              AND (\(valueTo)::date IS NULL OR s.value_date <= \(valueTo))
            ORDER BY s.value_date, s.created_at, s.id LIMIT 1000
            """
        ).map(Self.settlement)
    }

    /// Moves a settlement to `target` if its state allows (`.conflict` naming the allowed ones
    /// otherwise). Instructing a payment needs both parties' accounts in the currency; failing or
    /// cancelling needs a reason; cancelling releases the trades (they may be settled again).
    public func transition(
        _ id: UUID, to target: Settlement.Status, reason: String?, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction, now: Date = Date()
    ) async throws -> Settlement {
        _ = try await transaction.query("SELECT 1 FROM tradfi_settlements WHERE id = \(id) FOR UPDATE")
        let current = try await settlement(id, in: transaction)
        guard current.status.next.contains(target) else {
            let allowed = current.status.next.map(\.rawValue).sorted()
            throw ServiceError(
                .conflict,
                "the settlement is \(current.status.rawValue): it \(allowed.isEmpty ? "changes no more" : "may become \(allowed.joined(separator: ", "))"), not \(target.rawValue)"
            )
        }
        if [.failed, .cancelled, .settled].contains(target) {
            guard let reason, (3...500).contains(reason.count) else {
                throw ServiceError(.invalidInput, "field 'reason': why it is \(target.rawValue) (3 to 500 characters)")
            }
        }
        if target == .instructed, current.direction == "pay" {
            _ = try await creditTransfer(current, in: transaction, now: now)
        }
        try await transaction.execute(
            """
            UPDATE tradfi_settlements SET status = \(target.rawValue), status_reason = \(reason),
                settled_at = CASE WHEN \(target.rawValue) = 'settled' THEN now() ELSE settled_at END, updated_at = now()
            WHERE id = \(id)
            """
        )
        if target == .cancelled {
            try await transaction.execute(
                "UPDATE tradfi_settlement_trades SET released = true WHERE settlement_id = \(id)")
        }
        try await record(id, from: current.status, to: target, actor: actor, reason: reason, in: transaction)
        var details = ["from": current.status.rawValue, "to": target.rawValue]
        details["reason"] = reason
        try await audit.record(
            "tradfi.settlement_\(target.rawValue)", objectType: "settlement", objectID: id.uuidString.lowercased(),
            accountID: current.accountId, details: details, in: transaction)
        return try await settlement(id, in: transaction)
    }

    /// The payment of a `pay` settlement as a pacs.008 (its message id fixed the first time).
    public func pacs008(_ id: UUID, in transaction: PostgresTransaction, now: Date = Date()) async throws -> String {
        let current = try await settlement(id, in: transaction)
        guard current.direction == "pay" else {
            throw ServiceError(
                .conflict,
                "the settlement \(current.direction == "none" ? "moves nothing" : "is received, not paid"): no pacs.008"
            )
        }
        guard [.instructed, .sent, .settled, .failed].contains(current.status) else {
            throw ServiceError(.conflict, "the settlement is \(current.status.rawValue): instruct it first")
        }
        return ISO20022.pacs008(try await creditTransfer(current, in: transaction, now: now))
    }

    private func creditTransfer(
        _ settlement: Settlement, in transaction: PostgresTransaction, now: Date
    ) async throws -> ISO20022.CreditTransfer {
        guard let debtor = try await party(nil, currency: settlement.currency, in: transaction) else {
            throw ServiceError(
                .conflict, "no settlement account of the tenant in \(settlement.currency): add one to pay from")
        }
        guard let creditor = try await party(settlement.counterparty, currency: settlement.currency, in: transaction)
        else {
            throw ServiceError(
                .conflict,
                "no settlement account of \(settlement.counterparty) in \(settlement.currency): add one to pay to")
        }
        // ActiveCurrencyAndAmount: 18 digits at most.
        guard settlement.amount < ExactDecimal(significand: 10_000_000_000_000_000, scale: 0) else {
            throw ServiceError(.conflict, "the amount \(settlement.amount) is beyond the 18 digits a pacs.008 carries")
        }
        let messageID =
            try await transaction.query(
                """
                UPDATE tradfi_settlements
                SET message_id = coalesce(message_id, \("SCX" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(29)))
                WHERE id = \(settlement.id) RETURNING message_id
                """
            ).firstRow.decode("message_id", as: String.self)
        return ISO20022.CreditTransfer(
            messageID: messageID, createdAt: now, instructionID: settlement.instructionId,
            endToEndID: settlement.endToEndId, uetr: settlement.uetr, amount: settlement.amount,
            currency: settlement.currency, valueDate: PostgresDate(iso8601: settlement.valueDate)!, debtor: debtor,
            creditor: creditor,
            remittance: "Net settlement \(settlement.instructionId), trades of \(settlement.tradeDate)")
    }

    /// Applies the bank's camt.054: each booked debit or credit whose EndToEndId (or UETR) is a
    /// settlement's, in its currency, amount and direction, settles it (a reversal fails it);
    /// each entry applied once (a notification sent again changes nothing).
    public func apply(
        notification data: Data, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> [BookingOutcome] {
        let bookings: [ISO20022.Booking]
        do {
            bookings = try ISO20022.camt054Bookings(data)
        } catch {
            throw ServiceError(.invalidInput, "the body: \(error)")
        }
        var outcomes: [BookingOutcome] = []
        for booking in bookings {
            var outcome = BookingOutcome(entry: booking.key, endToEndId: booking.endToEndID, outcome: "unmatched")
            if let applied = try await transaction.query(
                "SELECT settlement_id, outcome FROM tradfi_settlement_notifications WHERE entry_key = \(booking.key)"
            ).first {
                outcome.settlementId = try applied.decode("settlement_id", as: UUID?.self)
                outcome.outcome = "already_applied"
                outcome.detail = try applied.decode("outcome", as: String.self)
                outcomes.append(outcome)
                continue
            }
            let match = try await transaction.query(
                """
                SELECT \(sql: Self.columns) FROM tradfi_settlements s
                WHERE s.end_to_end_id = \(booking.endToEndID ?? "") OR s.uetr::text = lower(\(booking.uetr ?? ""))
                FOR UPDATE
                """
            ).first.map(Self.settlement)
            if let settlement = match {
                outcome.settlementId = settlement.id
                let expectedCredit = settlement.direction == "receive"
                if !booking.isBooked {
                    outcome.outcome = "not_booked"
                    outcome.detail = "the entry is not booked (status other than BOOK)"
                } else if booking.currency != settlement.currency || booking.amount != settlement.amount
                    || booking.isCredit != expectedCredit
                {
                    outcome.outcome = "mismatch"
                    outcome.detail =
                        "booked \(booking.isCredit ? "credit" : "debit") \(booking.amount) \(booking.currency), expected \(expectedCredit ? "credit" : "debit") \(settlement.amount) \(settlement.currency)"
                } else if booking.isReversal {
                    if settlement.status.next.contains(.failed) || settlement.status == .settled {
                        try await force(
                            settlement, to: .failed, reason: "reversed by the bank (\(booking.key))", actor: actor,
                            audit: audit, in: transaction)
                        outcome.outcome = "failed"
                    } else {
                        outcome.outcome = "mismatch"
                        outcome.detail = "a reversal of a settlement that is \(settlement.status.rawValue)"
                    }
                } else if settlement.status == .settled {
                    outcome.outcome = "already_applied"
                    outcome.detail = "the settlement was settled before"
                } else if settlement.status.next.contains(.settled) {
                    try await force(
                        settlement, to: .settled, reason: "booked by the bank (\(booking.key))", actor: actor,
                        audit: audit, in: transaction)
                    outcome.outcome = "settled"
                } else {
                    outcome.outcome = "mismatch"
                    outcome.detail = "the settlement is \(settlement.status.rawValue)"
                }
            } else {
                outcome.detail = "no settlement with EndToEndId \(booking.endToEndID ?? "none")"
            }
            try await transaction.execute(
                """
                INSERT INTO tradfi_settlement_notifications (entry_key, settlement_id, outcome, received_by)
                VALUES (\(booking.key), \(outcome.settlementId), \(outcome.outcome), \(actor))
                """
            )
            outcomes.append(outcome)
        }
        return outcomes
    }

    /// A change the bank reports: recorded like any other, a settled payment failing included.
    private func force(
        _ settlement: Settlement, to target: Settlement.Status, reason: String, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE tradfi_settlements SET status = \(target.rawValue), status_reason = \(reason),
                settled_at = CASE WHEN \(target.rawValue) = 'settled' THEN now() ELSE NULL END, updated_at = now()
            WHERE id = \(settlement.id)
            """
        )
        try await record(
            settlement.id, from: settlement.status, to: target, actor: actor, reason: reason, in: transaction)
        try await audit.record(
            "tradfi.settlement_\(target.rawValue)", objectType: "settlement",
            objectID: settlement.id.uuidString.lowercased(), accountID: settlement.accountId,
            details: ["from": settlement.status.rawValue, "to": target.rawValue, "reason": reason], in: transaction)
    }

    /// The statement of the settlements with value dates from `from` to `to`.
    public func statement(
        from: PostgresDate, to: PostgresDate, counterparty: String?, in transaction: PostgresTransaction
    ) async throws -> SettlementStatement {
        guard from <= to else { throw ServiceError(.invalidInput, "query 'from': after 'to'") }
        let settlements = try await settlements(
            status: nil, counterparty: counterparty, currency: nil, valueFrom: from, valueTo: to, in: transaction)
        var totals: [String: SettlementStatement.Totals] = [:]
        for settlement in settlements where settlement.status != .cancelled {
            var total =
                totals[settlement.currency]
                ?? .init(
                    currency: settlement.currency, paid: .zero, received: .zero, openToPay: .zero, openToReceive: .zero)
            let settled = settlement.status == .settled
            switch settlement.direction {
            case "pay" where settled: total.paid = try total.paid.adding(settlement.amount, figure: "the total paid")
            case "pay": total.openToPay = try total.openToPay.adding(settlement.amount, figure: "the total to pay")
            case "receive" where settled:
                total.received = try total.received.adding(settlement.amount, figure: "the total received")
            case "receive":
                total.openToReceive = try total.openToReceive.adding(settlement.amount, figure: "the total to receive")
            default: break
            }
            totals[settlement.currency] = total
        }
        return SettlementStatement(
            from: from.description, to: to.description, counterparty: counterparty,
            totals: totals.values.sorted { $0.currency < $1.currency }, settlements: settlements)
    }
}
