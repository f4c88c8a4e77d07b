public import Foundation
public import ScryptexCompliance
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// What a client sends to open a credit line.
public struct CreditLineDefinition: Sendable, Codable, Equatable {
    public var accountId: UUID
    /// The counterparty the line is with (matched without regard to case against a trade's or an
    /// order's counterparty; a broker session's orders carry the session's name); none: the line
    /// covers the account's whole exposure.
    public var counterparty: String?
    /// US dollars.
    public var limit: ExactDecimal
    public var collateral: ExactDecimal?
    /// The share of what is in use that collateral must cover (default 0.25).
    public var maintenanceMargin: ExactDecimal?
    /// The share of the limit in use at which an alert is raised (default 0.8).
    public var warningShare: ExactDecimal?

    public init(
        accountId: UUID, counterparty: String? = nil, limit: ExactDecimal, collateral: ExactDecimal? = nil,
        maintenanceMargin: ExactDecimal? = nil, warningShare: ExactDecimal? = nil
    ) {
        self.accountId = accountId
        self.counterparty = counterparty
        self.limit = limit
        self.collateral = collateral
        self.maintenanceMargin = maintenanceMargin
        self.warningShare = warningShare
    }

    static let fields: Set<String> = [
        "accountId", "counterparty", "limit", "collateral", "maintenanceMargin", "warningShare",
    ]

    public static func decode(_ bytes: [UInt8]) throws -> CreditLineDefinition {
        let definition = try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a credit line")
        try definition.validate()
        return definition
    }

    public func validate() throws(ServiceError) {
        if let counterparty {
            let trimmed = counterparty.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...300).contains(counterparty.count), trimmed == counterparty,
                !counterparty.contains(where: \.isNewline)
            else {
                throw ServiceError(.invalidInput, "field 'counterparty': 1 to 300 characters on one line")
            }
        }
        try CreditLineChange(
            limit: limit, collateral: collateral, maintenanceMargin: maintenanceMargin, warningShare: warningShare
        ).validate()
    }
}

/// A change to a credit line: only the fields sent change.
public struct CreditLineChange: Sendable, Codable, Equatable {
    public var limit: ExactDecimal?
    public var collateral: ExactDecimal?
    public var maintenanceMargin: ExactDecimal?
    public var warningShare: ExactDecimal?
    /// False suspends the line (orders no longer draw on it, nor are they checked against it).
    public var active: Bool?

    public init(
        limit: ExactDecimal? = nil, collateral: ExactDecimal? = nil, maintenanceMargin: ExactDecimal? = nil,
        warningShare: ExactDecimal? = nil, active: Bool? = nil
    ) {
        self.limit = limit
        self.collateral = collateral
        self.maintenanceMargin = maintenanceMargin
        self.warningShare = warningShare
        self.active = active
    }

    static let fields: Set<String> = ["limit", "collateral", "maintenanceMargin", "warningShare", "active"]

    public static func decode(_ bytes: [UInt8]) throws -> CreditLineChange {
        let change = try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a credit line change")
        guard change != CreditLineChange() else {
            throw ServiceError(.invalidInput, "send at least one of \(fields.sorted().joined(separator: ", "))")
        }
        try change.validate()
        return change
    }

    public func validate() throws(ServiceError) {
        // The columns are numeric(38, 2): below 10^36.
        let largest = ExactDecimal(significand: 1_000_000_000_000_000_000_000_000_000_000_000_000, scale: 0)
        if let limit, limit <= .zero || limit >= largest || limit.normalized.scale > 2 {
            throw ServiceError(.invalidInput, "field 'limit': US dollars above 0, below 10^36, at most 2 decimals")
        }
        if let collateral, collateral.isNegative || collateral >= largest || collateral.normalized.scale > 2 {
            throw ServiceError(.invalidInput, "field 'collateral': US dollars from 0, below 10^36, at most 2 decimals")
        }
        if let maintenanceMargin,
            maintenanceMargin.isNegative || maintenanceMargin > ExactDecimal(1)
                || maintenanceMargin.normalized.scale > 6
        {
            throw ServiceError(.invalidInput, "field 'maintenanceMargin': a share from 0 to 1, at most 6 decimals")
        }
        if let warningShare,
            warningShare <= .zero || warningShare > ExactDecimal(1) || warningShare.normalized.scale > 6
        {
            throw ServiceError(.invalidInput, "field 'warningShare': a share above 0, at most 1, at most 6 decimals")
        }
    }
}

/// A credit line as the API shows it: its terms and where it stands now.
public struct CreditLine: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var scope: CreditLineStanding.Scope
    public var counterparty: String?
    public var limit: ExactDecimal
    public var collateral: ExactDecimal
    public var maintenanceMargin: ExactDecimal
    public var warningShare: ExactDecimal
    public var active: Bool
    /// What is in use now (US dollars); nil when part of it cannot be valued (`unvalued` says which).
    public var utilisation: ExactDecimal?
    public var unvalued: String?
    /// The limit less what is in use (negative when prices carried the line beyond it).
    public var available: ExactDecimal?
    /// The collateral maintenance asks for: utilisation × maintenanceMargin, rounded up to the cent.
    public var requiredCollateral: ExactDecimal?
    /// The call for collateral that is open, if any.
    public var openMarginCall: MarginCall?
    public var warnedAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
    /// Every margin call of the line, newest first (one line's view only).
    public var marginCalls: [MarginCall]?
}

/// A call for collateral raised when it fell below maintenance.
public struct MarginCall: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case open, met, waived }

    public var id: UUID
    public var creditLineId: UUID
    public var utilisation: ExactDecimal
    public var collateral: ExactDecimal
    public var required: ExactDecimal
    public var shortfall: ExactDecimal
    public var status: Status
    public var raisedAt: Date
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var resolution: String?
}

/// The tenant's credit lines: opened and changed over the API, drawn on by the pre-trade check
/// (`CreditLineSource`), and reviewed for margin — a call opens when collateral falls below what
/// maintenance asks of what is in use, and is met when it covers it again.
///
/// What is in use, in US dollars at the time asked:
/// - on the account's line: the gross value of every position of the account (reference price,
///   else its last trade's price, times the contract size) and the remaining quantity of each
///   working order (open or held) at its price;
/// - on a line with a counterparty: the notional of each of the account's trades with it that
///   is not cancelled and not settled (no settled settlement carries it), and the remaining
///   notional of working orders with it.
public struct CreditLineService: CreditLineSource {
    let monitoring = MonitoringService()

    public init() {}

    static let columns: StaticString = """
        l.id, l.account_id, l.counterparty, l.credit_limit, l.collateral, l.maintenance_margin, l.warning_share,
        l.active, l.warned_at, l.created_by, l.created_at, l.updated_at
        """

    struct Terms {
        var id: UUID
        var accountID: UUID
        var counterparty: String?
        var limit: ExactDecimal
        var collateral: ExactDecimal
        var maintenanceMargin: ExactDecimal
        var warningShare: ExactDecimal
        var active: Bool
        var warnedAt: Date?
        var createdBy: String
        var createdAt: Date
        var updatedAt: Date

        init(_ row: PostgresRow) throws {
            id = try row.decode("id", as: UUID.self)
            accountID = try row.decode("account_id", as: UUID.self)
            counterparty = try row.decode("counterparty", as: String?.self)
            limit = try row.decode("credit_limit", as: ExactDecimal.self).normalized
            collateral = try row.decode("collateral", as: ExactDecimal.self).normalized
            maintenanceMargin = try row.decode("maintenance_margin", as: ExactDecimal.self).normalized
            warningShare = try row.decode("warning_share", as: ExactDecimal.self).normalized
            active = try row.decode("active", as: Bool.self)
            warnedAt = try row.decode("warned_at", as: Date?.self)
            createdBy = try row.decode("created_by", as: String.self)
            createdAt = try row.decode("created_at", as: Date.self)
            updatedAt = try row.decode("updated_at", as: Date.self)
        }
    }

    // MARK: Opening and changing lines

    public func create(
        _ definition: CreditLineDefinition, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> CreditLine {
        try definition.validate()
        _ = try await AccountService().account(definition.accountId, in: transaction)
        guard
            try await transaction.query(
                """
                SELECT 1 FROM tradfi_credit_lines
                WHERE account_id = \(definition.accountId)
                  AND lower(coalesce(counterparty, '')) = lower(coalesce(\(definition.counterparty)::text, ''))
                """
            ).isEmpty
        else {
            throw ServiceError(
                .conflict,
                definition.counterparty.map { "the account has a credit line with \($0): change that one" }
                    ?? "the account has a credit line over its whole exposure: change that one")
        }
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_credit_lines
                (account_id, counterparty, credit_limit, collateral, maintenance_margin, warning_share, created_by)
            VALUES (\(definition.accountId), \(definition.counterparty), \(definition.limit),
                    \(definition.collateral ?? .zero), \(definition.maintenanceMargin ?? ExactDecimal(significand: 25, scale: 2)),
                    \(definition.warningShare ?? ExactDecimal(significand: 8, scale: 1)), \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        var details = ["limit": definition.limit.description]
        details["counterparty"] = definition.counterparty
        details["collateral"] = definition.collateral?.description
        try await audit.record(
            "tradfi.credit_line_opened", objectType: "credit_line", objectID: id.uuidString.lowercased(),
            accountID: definition.accountId, details: details, in: transaction)
        _ = try await reviewMargins(lines: [id], audit: audit, in: transaction)
        return try await line(id, in: transaction)
    }

    /// Changes a line's terms (audited with the values before and after), then reviews its margin.
    public func change(
        _ id: UUID, _ change: CreditLineChange, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> CreditLine {
        try change.validate()
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_credit_lines l WHERE l.id = \(id) FOR UPDATE"
            ).first
        else { throw ServiceError(.notFound, "no credit line with this id") }
        let before = try Terms(row)
        try await transaction.execute(
            """
            UPDATE tradfi_credit_lines SET
                credit_limit = coalesce(\(change.limit), credit_limit),
                collateral = coalesce(\(change.collateral), collateral),
                maintenance_margin = coalesce(\(change.maintenanceMargin), maintenance_margin),
                warning_share = coalesce(\(change.warningShare), warning_share),
                active = coalesce(\(change.active), active),
                updated_at = now()
            WHERE id = \(id)
            """
        )
        var details: [String: String] = [:]
        func note(_ name: String, _ old: String, _ new: String?) {
            if let new, new != old { details[name] = "\(old) → \(new)" }
        }
        note("limit", before.limit.description, change.limit?.normalized.description)
        note("collateral", before.collateral.description, change.collateral?.normalized.description)
        note(
            "maintenanceMargin", before.maintenanceMargin.description, change.maintenanceMargin?.normalized.description)
        note("warningShare", before.warningShare.description, change.warningShare?.normalized.description)
        note("active", String(before.active), change.active.map(String.init))
        try await audit.record(
            "tradfi.credit_line_changed", objectType: "credit_line", objectID: id.uuidString.lowercased(),
            accountID: before.accountID, details: details, in: transaction)
        _ = try await reviewMargins(lines: [id], audit: audit, in: transaction)
        return try await line(id, in: transaction)
    }

    /// Waives an open margin call (a person decides the shortfall is acceptable), with the reason.
    public func waive(
        call callID: UUID, ofLine lineID: UUID, reason: String, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> MarginCall {
        guard (3...500).contains(reason.count) else {
            throw ServiceError(.invalidInput, "field 'reason': why the call is waived (3 to 500 characters)")
        }
        let rows = try await transaction.query(
            """
            UPDATE tradfi_margin_calls SET status = 'waived', resolved_at = now(), resolved_by = \(actor),
                resolution = \(reason)
            WHERE id = \(callID) AND credit_line_id = \(lineID) AND status = 'open'
            RETURNING \(sql: Self.callColumns)
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no open margin call with this id on this credit line")
        }
        let call = try Self.marginCall(row)
        try await audit.record(
            "tradfi.margin_call_waived", objectType: "margin_call", objectID: callID.uuidString.lowercased(),
            accountID: nil, details: ["creditLine": lineID.uuidString.lowercased(), "reason": reason],
            in: transaction)
        return call
    }

    // MARK: Reading lines

    public func lines(ofAccount account: UUID? = nil, in transaction: PostgresTransaction) async throws -> [CreditLine]
    {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM tradfi_credit_lines l
            WHERE \(account)::uuid IS NULL OR l.account_id = \(account)
            ORDER BY l.account_id, l.counterparty NULLS FIRST
            """
        )
        var lines: [CreditLine] = []
        for row in rows {
            lines.append(try await view(try Terms(row), history: false, in: transaction))
        }
        return lines
    }

    /// - Throws: `.notFound` for an id that is not one of the tenant's lines.
    public func line(_ id: UUID, in transaction: PostgresTransaction) async throws -> CreditLine {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_credit_lines l WHERE l.id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no credit line with this id") }
        return try await view(try Terms(row), history: true, in: transaction)
    }

    func view(_ terms: Terms, history: Bool, in transaction: PostgresTransaction) async throws -> CreditLine {
        let use = try await utilisation(of: terms, in: transaction)
        let calls = try await transaction.query(
            """
            SELECT \(sql: Self.callColumns) FROM tradfi_margin_calls
            WHERE credit_line_id = \(terms.id) AND (\(history) OR status = 'open')
            ORDER BY raised_at DESC
            """
        ).map(Self.marginCall)
        return CreditLine(
            id: terms.id, accountId: terms.accountID, scope: terms.counterparty == nil ? .account : .counterparty,
            counterparty: terms.counterparty, limit: terms.limit, collateral: terms.collateral,
            maintenanceMargin: terms.maintenanceMargin, warningShare: terms.warningShare, active: terms.active,
            utilisation: use.amount, unvalued: use.unvalued,
            available: use.amount.flatMap { try? terms.limit.subtracting($0, figure: "the credit available") },
            requiredCollateral: use.amount.flatMap { Self.required(terms, utilisation: $0) },
            openMarginCall: calls.first { $0.status == .open }, warnedAt: terms.warnedAt, createdBy: terms.createdBy,
            createdAt: terms.createdAt, updatedAt: terms.updatedAt, marginCalls: history ? calls : nil)
    }

    public func standings(
        ofAccount account: UUID, counterparty: String?, in transaction: PostgresTransaction
    ) async throws -> [CreditLineStanding] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM tradfi_credit_lines l
            WHERE l.account_id = \(account) AND l.active
              AND (l.counterparty IS NULL OR lower(l.counterparty) = lower(\(counterparty)::text))
            """
        )
        var standings: [CreditLineStanding] = []
        for row in rows {
            let terms = try Terms(row)
            let use = try await utilisation(of: terms, in: transaction)
            standings.append(
                CreditLineStanding(
                    id: terms.id, scope: terms.counterparty == nil ? .account : .counterparty,
                    counterparty: terms.counterparty, limit: terms.limit, utilisation: use.amount,
                    unvalued: use.unvalued))
        }
        return standings
    }

    // MARK: What is in use

    /// What `terms` has in use now, in US dollars (to the cent, rounded up); nil with the reason
    /// when an exposure has no price or its currency no rate.
    func utilisation(
        of terms: Terms, in transaction: PostgresTransaction, now: Date = Date()
    ) async throws -> (amount: ExactDecimal?, unvalued: String?) {
        // Each exposure: its notional in its quote currency, or in US dollars when already known.
        let rows = try await transaction.query(
            """
            SELECT 'position' AS kind, p.symbol, abs(p.quantity) AS quantity,
                   coalesce((SELECT r.price FROM reference_prices r WHERE r.symbol = p.symbol),
                            (SELECT t.price FROM trades t
                             WHERE t.account_id = p.account_id AND t.symbol = p.symbol AND t.cancelled_at IS NULL
                             ORDER BY t.executed_at DESC LIMIT 1)) AS price,
                   coalesce(i.derivative_terms ->> 'multiplier', '1') AS multiplier, NULL::numeric AS notional_usd
            FROM positions p LEFT JOIN instruments i ON i.symbol = p.symbol
            WHERE \(terms.counterparty)::text IS NULL AND p.account_id = \(terms.accountID) AND p.quantity <> 0
            UNION ALL
            SELECT 'order', o.symbol, o.quantity - o.filled_quantity, coalesce(o.limit_price, o.check_price),
                   coalesce(i.derivative_terms ->> 'multiplier', '1'), NULL
            FROM orders o LEFT JOIN instruments i ON i.symbol = o.symbol
            WHERE o.account_id = \(terms.accountID) AND o.status IN ('open', 'held')
              AND o.quantity > o.filled_quantity
              AND (\(terms.counterparty)::text IS NULL OR lower(o.counterparty) = lower(\(terms.counterparty)::text))
            UNION ALL
            SELECT 'trade', t.symbol, t.quantity, t.price, coalesce(i.derivative_terms ->> 'multiplier', '1'),
                   t.notional_usd
            FROM trades t LEFT JOIN instruments i ON i.symbol = t.symbol
            WHERE \(terms.counterparty)::text IS NOT NULL AND t.account_id = \(terms.accountID)
              AND lower(t.counterparty) = lower(\(terms.counterparty)::text) AND t.cancelled_at IS NULL
              AND NOT EXISTS (
                  SELECT 1 FROM tradfi_settlement_trades st JOIN tradfi_settlements s ON s.id = st.settlement_id
                  WHERE st.trade_id = t.id AND NOT st.released AND s.status = 'settled')
            """
        )
        var total = ExactDecimal.zero
        var inQuote: [(currency: String, notional: ExactDecimal, symbol: String)] = []
        for row in rows {
            let symbol = try row.decode("symbol", as: String.self)
            if let usd = try row.decode("notional_usd", as: ExactDecimal?.self) {
                total = try total.adding(usd, figure: "the credit in use")
                continue
            }
            guard let price = try row.decode("price", as: ExactDecimal?.self) else {
                return (nil, "the position in \(symbol) has no reference price and no trade")
            }
            let notional = try row.decode("quantity", as: ExactDecimal.self)
                .multiplied(by: price, figure: "an exposure's notional")
                .multiplied(
                    by: try ExactDecimal(parsing: try row.decode("multiplier", as: String.self)),
                    figure: "an exposure's notional")
            inQuote.append((TradeCheckService.quoteCurrency(of: symbol), notional, symbol))
        }
        let rates = try await ComplianceReferenceData.usdPerUnit(
            of: inQuote.map { ($0.currency, now) }, in: transaction)
        for (exposure, rate) in zip(inQuote, rates) {
            guard let rate else {
                return (nil, "no US dollar rate for \(exposure.currency) (\(exposure.symbol))")
            }
            total = try total.adding(
                exposure.notional.multiplied(by: rate, figure: "an exposure in US dollars"),
                figure: "the credit in use")
        }
        return (total.rounded(toScale: 2, rule: .awayFromZero).normalized, nil)
    }

    /// What maintenance asks of `utilisation`, rounded up to the cent; nil when the product is
    /// beyond what a decimal holds (a use no collateral column could cover either).
    static func required(_ terms: Terms, utilisation: ExactDecimal) -> ExactDecimal? {
        let product = utilisation.multipliedReportingOverflow(by: terms.maintenanceMargin)
        guard !product.overflow else { return nil }
        return product.partialValue.rounded(toScale: 2, rule: .awayFromZero).normalized
    }

    // MARK: Margin review

    /// Reviews the margin and warning level of `lines` (nil: every active line of the tenant):
    /// opens a call with a high alert when collateral is below what maintenance asks, marks an
    /// open call met when it covers it again, raises a warning once when use reaches the warning
    /// share of the limit. Lines another transaction is reviewing are skipped (several hosts may
    /// review at once; each line is reviewed by one).
    /// - Returns: The alerts raised.
    @discardableResult
    public func reviewMargins(
        lines ids: [UUID]? = nil, ofAccount account: UUID? = nil, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> [ComplianceAlert] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM tradfi_credit_lines l
            WHERE l.active AND (\(ids)::uuid[] IS NULL OR l.id = ANY(\(ids)::uuid[]))
              AND (\(account)::uuid IS NULL OR l.account_id = \(account))
            ORDER BY l.id
            FOR UPDATE SKIP LOCKED
            """
        )
        var alerts: [ComplianceAlert] = []
        for row in rows {
            let terms = try Terms(row)
            // A use that cannot be valued, or multiplied out, is not reviewed (the check sends such
            // orders to review).
            guard let used = try await utilisation(of: terms, in: transaction).amount,
                let required = Self.required(terms, utilisation: used),
                case let (shortfall, false) = required.addingReportingOverflow(-terms.collateral)
            else { continue }
            let open = try await transaction.query(
                "SELECT \(sql: Self.callColumns) FROM tradfi_margin_calls WHERE credit_line_id = \(terms.id) AND status = 'open'"
            ).first.map(Self.marginCall)
            let label = terms.counterparty.map { "the credit line with \($0)" } ?? "the account's credit line"
            if terms.collateral < required, open == nil {
                let call = try Self.marginCall(
                    try await transaction.query(
                        """
                        INSERT INTO tradfi_margin_calls (credit_line_id, utilisation, collateral, required, shortfall)
                        VALUES (\(terms.id), \(used), \(terms.collateral), \(required), \(shortfall))
                        RETURNING \(sql: Self.callColumns)
                        """
                    ).firstRow)
                alerts.append(
                    try await monitoring.raise(
                        .init(
                            kind: "margin_call", severity: "high",
                            summary:
                                "margin call on \(label): collateral \(terms.collateral) USD is below the \(required) USD maintenance asks of \(used) USD in use (short \(call.shortfall))"
                        ),
                        accountID: terms.accountID,
                        subject: [
                            "credit_line": terms.id.uuidString.lowercased(),
                            "margin_call": call.id.uuidString.lowercased(),
                        ],
                        audit: audit, in: transaction))
            } else if let open, terms.collateral >= required {
                try await transaction.execute(
                    """
                    UPDATE tradfi_margin_calls SET status = 'met', resolved_at = now(), resolved_by = 'system',
                        resolution = \("collateral \(terms.collateral) USD covers the \(required) USD maintenance asks")
                    WHERE id = \(open.id)
                    """
                )
                try await audit.record(
                    "tradfi.margin_call_met", objectType: "margin_call", objectID: open.id.uuidString.lowercased(),
                    accountID: terms.accountID,
                    details: ["collateral": terms.collateral.description, "required": required.description],
                    in: transaction)
            }
            // Beyond what a decimal holds, the warning level is taken as the limit itself.
            let product = terms.limit.multipliedReportingOverflow(by: terms.warningShare)
            let warnAt = product.overflow ? terms.limit : product.partialValue
            if used >= warnAt, terms.warnedAt == nil {
                try await transaction.execute(
                    "UPDATE tradfi_credit_lines SET warned_at = now() WHERE id = \(terms.id)")
                let beyond = used > terms.limit ? ", beyond its limit" : ""
                alerts.append(
                    try await monitoring.raise(
                        .init(
                            kind: "credit_line_warning", severity: used > terms.limit ? "high" : "medium",
                            summary: "\(label) has \(used) of \(terms.limit) USD in use\(beyond)"),
                        accountID: terms.accountID, subject: ["credit_line": terms.id.uuidString.lowercased()],
                        audit: audit, in: transaction))
            } else if used < warnAt, terms.warnedAt != nil {
                try await transaction.execute(
                    "UPDATE tradfi_credit_lines SET warned_at = NULL WHERE id = \(terms.id)")
            }
        }
        return alerts
    }

    public func reviewAfterBooking(
        ofAccount account: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> [ComplianceAlert] {
        try await reviewMargins(ofAccount: account, audit: audit, in: transaction)
    }

    static let callColumns: StaticString = """
        id, credit_line_id, utilisation, collateral, required, shortfall, status, raised_at, resolved_at,
        resolved_by, resolution
        """

    static func marginCall(_ row: PostgresRow) throws -> MarginCall {
        MarginCall(
            id: try row.decode("id", as: UUID.self), creditLineId: try row.decode("credit_line_id", as: UUID.self),
            utilisation: try row.decode("utilisation", as: ExactDecimal.self).normalized,
            collateral: try row.decode("collateral", as: ExactDecimal.self).normalized,
            required: try row.decode("required", as: ExactDecimal.self).normalized,
            shortfall: try row.decode("shortfall", as: ExactDecimal.self).normalized,
            status: MarginCall.Status(rawValue: try row.decode("status", as: String.self)) ?? .open,
            raisedAt: try row.decode("raised_at", as: Date.self),
            resolvedAt: try row.decode("resolved_at", as: Date?.self),
            resolvedBy: try row.decode("resolved_by", as: String?.self),
            resolution: try row.decode("resolution", as: String?.self))
    }
}
