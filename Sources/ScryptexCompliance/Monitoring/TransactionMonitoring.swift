public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// A deposit or withdrawal of an account.
public struct Transfer: Sendable, Codable, Equatable {
    public enum Direction: String, Sendable, Codable { case deposit, withdrawal }

    public var id: UUID?
    public var direction: String
    public var asset: String
    public var amount: ExactDecimal
    /// The value in US dollars at the time, for thresholds.
    public var usdValue: ExactDecimal
    public var counterpartyName: String?
    public var walletAddress: String?
    /// ISO 3166-1 alpha-2 country of the counterparty or its institution.
    public var counterpartyCountry: String?
    public var occurredAt: Date?
}

/// An AML or monitoring alert and its case.
public struct ComplianceAlert: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID?
    public var kind: String
    public var severity: String
    public var status: String
    public var assignee: String?
    public var summary: String
    public var closeReason: String?
    public var createdAt: Date
    public var updatedAt: Date
}

/// AML transaction-monitoring rules, applied as transfers and trades are recorded.
///
/// - structuring: three or more deposits within 24 h, each between 90 % and 100 % of the
///   reporting threshold (USD 10,000 by default);
/// - velocity: more than 10 transfers in 24 h, or 24-hour volume above five times the account's
///   daily average over the previous 30 days (and at least USD 50,000);
/// - rapid in-and-out: a withdrawal within 48 h of a deposit, of at least 80 % of its value;
/// - high-risk jurisdiction: a counterparty in a FATF "call for action" country (KP, IR, MM), or
///   in a country under increased monitoring (reviewed, lower severity);
/// - sanctioned-address exposure: a wallet address on a loaded sanctions list.
public struct TransactionMonitoring: Sendable {
    public var reportingThreshold = ExactDecimal(10_000)
    public var velocityCount = 10
    public var velocityMultiple = ExactDecimal(5)
    public var velocityFloor = ExactDecimal(50_000)
    public var rapidWindowHours = 48
    public static let callForAction: Set<String> = ["KP", "IR", "MM"]
    /// FATF jurisdictions under increased monitoring (a subset; the list changes three times a year).
    public static let increasedMonitoring: Set<String> = [
        "DZ", "AO", "BG", "BF", "CM", "CD", "HT", "KE", "LA", "LB", "MC", "MZ", "NA", "NP", "NG", "ZA", "SS", "SY",
        "VE", "VN", "YE",
    ]

    public init() {}

    /// A raised alert before it is stored.
    public struct Finding: Sendable, Equatable {
        public var kind: String
        public var severity: String
        public var summary: String

        public init(kind: String, severity: String, summary: String) {
            self.kind = kind
            self.severity = severity
            self.summary = summary
        }
    }

    /// The findings a new transfer raises, given the account's transfers of the last 30 days
    /// (newest first, not including this one) and the sanctions screener.
    public func evaluate(
        _ transfer: Transfer, direction: Transfer.Direction, at now: Date,
        history: [(Transfer.Direction, ExactDecimal, Date)],
        screener: SanctionsScreener
    ) -> [Finding] {
        var findings: [Finding] = []
        let day = now.addingTimeInterval(-86_400)
        let lowerBand = reportingThreshold * ExactDecimal(significand: 9, scale: 1)
        func nearThreshold(_ value: ExactDecimal) -> Bool { value >= lowerBand && value < reportingThreshold }
        if direction == .deposit, nearThreshold(transfer.usdValue) {
            let similar = history.filter { $0.0 == .deposit && $0.2 >= day && nearThreshold($0.1) }
            if similar.count >= 2 {
                findings.append(
                    Finding(
                        kind: "structuring", severity: "high",
                        summary:
                            "\(similar.count + 1) deposits within 24 h just below the \(reportingThreshold) USD reporting threshold"
                    ))
            }
        }
        let lastDay = history.filter { $0.2 >= day }
        let dayVolume = lastDay.reduce(transfer.usdValue) { $0 + $1.1 }
        let earlier = history.filter { $0.2 < day }
        let dailyAverage =
            (earlier.reduce(ExactDecimal.zero) { $0 + $1.1 }).divided(by: ExactDecimal(29), scale: 2) ?? .zero
        if lastDay.count + 1 > velocityCount {
            findings.append(
                Finding(kind: "velocity", severity: "medium", summary: "\(lastDay.count + 1) transfers within 24 h"))
        } else if dayVolume >= velocityFloor, dayVolume > dailyAverage * velocityMultiple {
            findings.append(
                Finding(
                    kind: "velocity", severity: "medium",
                    summary:
                        "24-hour volume \(dayVolume) USD is more than \(velocityMultiple) times the daily average \(dailyAverage) USD"
                ))
        }
        if direction == .withdrawal {
            let window = now.addingTimeInterval(-Double(rapidWindowHours) * 3600)
            let eightyPercent = transfer.usdValue.divided(by: ExactDecimal(significand: 8, scale: 1), scale: 2) ?? .zero
            if let deposit = history.first(where: { $0.0 == .deposit && $0.2 >= window && $0.1 <= eightyPercent }) {
                findings.append(
                    Finding(
                        kind: "rapid_in_out", severity: "high",
                        summary:
                            "withdrawal of \(transfer.usdValue) USD within \(rapidWindowHours) h of a \(deposit.1) USD deposit"
                    ))
            }
        }
        if let country = transfer.counterpartyCountry {
            if Self.callForAction.contains(country) {
                findings.append(
                    Finding(
                        kind: "high_risk_jurisdiction", severity: "high",
                        summary: "counterparty in \(country), a FATF call-for-action jurisdiction"))
            } else if Self.increasedMonitoring.contains(country) {
                findings.append(
                    Finding(
                        kind: "high_risk_jurisdiction", severity: "low",
                        summary: "counterparty in \(country), a jurisdiction under FATF increased monitoring"))
            }
        }
        if let wallet = transfer.walletAddress, let hit = screener.screen(address: wallet).first {
            findings.append(
                Finding(
                    kind: "sanctioned_address", severity: "high",
                    summary:
                        "wallet \(wallet) is listed on \(hit.source.rawValue) (entry \(hit.identifier), \(hit.name))"))
        }
        return findings
    }
}

/// Stores transfers, runs the monitoring rules and keeps alerts with their case workflow.
public struct MonitoringService: Sendable {
    public let rules: TransactionMonitoring
    public let enabled: Bool

    public init(rules: TransactionMonitoring = TransactionMonitoring(), enabled: Bool = true) {
        self.rules = rules
        self.enabled = enabled
    }

    public func record(
        _ transfer: Transfer, for accountID: UUID, screener: SanctionsScreener, audit: any AuditSink,
        in transaction: PostgresTransaction, now: Date = Date()
    ) async throws -> (id: UUID, alerts: [ComplianceAlert]) {
        guard let direction = Transfer.Direction(rawValue: transfer.direction) else {
            throw ServiceError(
                .invalidInput, "field 'direction': 'deposit' or 'withdrawal', not '\(transfer.direction)'")
        }
        guard transfer.amount > .zero else {
            throw ServiceError(.invalidInput, "field 'amount': must be greater than 0")
        }
        guard !transfer.usdValue.isNegative, transfer.usdValue.significantScale <= 2 else {
            throw ServiceError(.invalidInput, "field 'usdValue': a non-negative amount with at most 2 decimals")
        }
        guard transfer.amount.significantScale <= 18 else {
            throw ServiceError(.invalidInput, "field 'amount': at most 18 decimals")
        }
        guard (2...12).contains(transfer.asset.count),
            transfer.asset.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
        else { throw ServiceError(.invalidInput, "field 'asset': a code such as BTC, ETH or USD") }
        if let country = transfer.counterpartyCountry, !(country.count == 2 && country.allSatisfy(\.isUppercase)) {
            throw ServiceError(.invalidInput, "field 'counterpartyCountry': an ISO 3166-1 alpha-2 code such as US")
        }
        _ = try await AccountService().account(accountID, in: transaction)
        let history = try await transaction.query(
            """
            SELECT direction, usd_value, occurred_at FROM account_transfers
            WHERE account_id = \(accountID) AND occurred_at > \(now.addingTimeInterval(-30 * 86_400))
            ORDER BY occurred_at DESC
            """
        ).map { row -> (Transfer.Direction, ExactDecimal, Date) in
            (
                Transfer.Direction(rawValue: try row.decode("direction", as: String.self)) ?? .deposit,
                try row.decode("usd_value", as: ExactDecimal.self), try row.decode("occurred_at", as: Date.self)
            )
        }
        let rows = try await transaction.query(
            """
            INSERT INTO account_transfers
                (account_id, direction, asset, amount, usd_value, counterparty_name, wallet_address, counterparty_country, occurred_at)
            VALUES (\(accountID), \(direction.rawValue), \(transfer.asset), \(transfer.amount), \(transfer.usdValue),
                    \(transfer.counterpartyName), \(transfer.walletAddress), \(transfer.counterpartyCountry), \(now))
            RETURNING id
            """
        )
        let id = try rows.firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "transfer.recorded", objectType: "transfer", objectID: id.uuidString.lowercased(), accountID: accountID,
            details: [
                "direction": direction.rawValue, "asset": transfer.asset, "usdValue": transfer.usdValue.description,
            ],
            in: transaction)
        guard enabled else { return (id, []) }
        var alerts: [ComplianceAlert] = []
        for finding in rules.evaluate(transfer, direction: direction, at: now, history: history, screener: screener) {
            alerts.append(
                try await raise(
                    finding, accountID: accountID, subject: ["transfer": id.uuidString.lowercased()], audit: audit,
                    in: transaction))
        }
        return (id, alerts)
    }

    /// Stores an alert (from transfers, or from trade booking) and audits it.
    public func raise(
        _ finding: TransactionMonitoring.Finding, accountID: UUID?, subject: [String: String], audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> ComplianceAlert {
        let rows = try await transaction.query(
            """
            INSERT INTO compliance_alerts (account_id, kind, severity, status, summary, details)
            VALUES (\(accountID), \(finding.kind), \(finding.severity), 'open', \(finding.summary),
                    \(try PostgresJSON(encoding: subject))::jsonb)
            RETURNING \(sql: Self.columns)
            """
        )
        let alert = try Self.alert(from: rows.firstRow)
        try await audit.record(
            "alert.raised", objectType: "compliance_alert", objectID: alert.id.uuidString.lowercased(),
            accountID: accountID, details: ["kind": finding.kind, "severity": finding.severity], in: transaction)
        return alert
    }

    static let columns: StaticString =
        "id, account_id, kind, severity, status, assignee, summary, close_reason, created_at, updated_at"

    public func alerts(status: String?, in transaction: PostgresTransaction) async throws -> [ComplianceAlert] {
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM compliance_alerts
            WHERE (\(status)::text IS NULL OR status = \(status)) ORDER BY created_at DESC LIMIT 500
            """
        )
        return try rows.map(Self.alert(from:))
    }

    /// Case workflow: `open → assigned → escalated → closed`; any open case can be closed with a
    /// reason; a closed case stays closed.
    public func act(
        on alertID: UUID, action: String, assignee: String?, note: String?, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> ComplianceAlert {
        let rows = try await transaction.query(
            "SELECT \(sql: Self.columns) FROM compliance_alerts WHERE id = \(alertID) FOR UPDATE")
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no alert \(alertID.uuidString.lowercased())")
        }
        let alert = try Self.alert(from: row)
        guard alert.status != "closed" else {
            throw ServiceError(.invalidInput, "the alert is closed; open a new case instead")
        }
        let next: String
        switch action {
        case "assign":
            guard let assignee, (1...200).contains(assignee.count) else {
                throw ServiceError(.invalidInput, "field 'assignee': who takes the case (1 to 200 characters)")
            }
            next = alert.status == "escalated" ? "escalated" : "assigned"
        case "escalate":
            guard alert.status == "assigned" else {
                throw ServiceError(
                    .invalidInput, "only an assigned case can be escalated (this one is \(alert.status))")
            }
            next = "escalated"
        case "close":
            guard let note, (3...1000).contains(note.count) else {
                throw ServiceError(.invalidInput, "field 'reason': why the case is closed (3 to 1000 characters)")
            }
            next = "closed"
        default:
            throw ServiceError(.invalidInput, "unknown action '\(action)'; use assign, escalate or close")
        }
        let updated = try await transaction.query(
            """
            UPDATE compliance_alerts SET status = \(next), assignee = coalesce(\(assignee), assignee),
                close_reason = CASE WHEN \(next) = 'closed' THEN \(note) ELSE close_reason END, updated_at = now()
            WHERE id = \(alertID) RETURNING \(sql: Self.columns)
            """
        )
        try await audit.record(
            "alert.\(action == "assign" ? "assigned" : action == "escalate" ? "escalated" : "closed")",
            objectType: "compliance_alert", objectID: alertID.uuidString.lowercased(), accountID: alert.accountId,
            details: ["from": alert.status, "to": next], in: transaction)
        return try Self.alert(from: updated.firstRow)
    }

    static func alert(from row: PostgresRow) throws -> ComplianceAlert {
        ComplianceAlert(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID?.self),
            kind: try row.decode("kind", as: String.self), severity: try row.decode("severity", as: String.self),
            status: try row.decode("status", as: String.self), assignee: try row.decode("assignee", as: String?.self),
            summary: try row.decode("summary", as: String.self),
            closeReason: try row.decode("close_reason", as: String?.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}
