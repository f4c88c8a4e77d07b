public import Foundation
import ScryptexCore
import ScryptexInstitutional
public import ScryptexPostgres

/// An account's compliance picture: a score, what is open, and what is due.
public struct ComplianceStatus: Sendable, Codable, Equatable {
    public var accountId: UUID
    public var score: Int
    public var formula: String
    public var kycStatus: String
    public var kycReviewDue: String?
    public var openAlerts: Int
    public var openHighSeverityAlerts: Int
    public var rejectedChecksLast30Days: Int
    public var upcomingDeadlines: [Deadline]

    public struct Deadline: Sendable, Codable, Equatable {
        public var kind: String
        public var dueDate: String
        public var overdue: Bool
    }
}

public struct ComplianceStatusService: Sendable {
    public init() {}

    public static let formula =
        "100, minus 20 if KYC is not approved, 10 if the KYC review is overdue, 10 per open high-severity alert and 5 per other open alert, 2 per rejected trade check in the last 30 days (at most 20), and 15 per overdue report; never below 0"

    public func status(of accountID: UUID, in transaction: PostgresTransaction) async throws -> ComplianceStatus {
        let account = try await AccountService().account(accountID, in: transaction)
        let row = try await transaction.query(
            """
            SELECT
              (SELECT count(*) FROM compliance_alerts c WHERE c.account_id = \(accountID) AND c.status <> 'closed') AS open_alerts,
              (SELECT count(*) FROM compliance_alerts c
                 WHERE c.account_id = \(accountID) AND c.status <> 'closed' AND c.severity = 'high') AS open_high,
              (SELECT count(*) FROM compliance_records r WHERE r.account_id = \(accountID) AND r.decision = 'rejected'
                 AND r.created_at > now() - interval '30 days') AS rejected,
              \(account.kycReviewDue)::date < current_date AS review_overdue
            """
        ).firstRow
        let kyc = account.kycStatus.rawValue
        let reviewDue = account.kycReviewDue
        let reviewOverdue = try row.decode("review_overdue", as: Bool?.self) ?? false
        let openAlerts = try row.decode("open_alerts", as: Int.self)
        let openHigh = try row.decode("open_high", as: Int.self)
        let rejected = try row.decode("rejected", as: Int.self)
        var deadlines: [ComplianceStatus.Deadline] = []
        let reports = try await transaction.query(
            """
            SELECT report_type, due_date::text AS due, due_date < current_date AS overdue FROM regulatory_reports
            WHERE account_id = \(accountID) AND status <> 'completed' ORDER BY due_date
            """
        )
        for report in reports {
            deadlines.append(
                .init(
                    kind: try report.decode("report_type", as: String.self),
                    dueDate: try report.decode("due", as: String.self),
                    overdue: try report.decode("overdue", as: Bool.self)))
        }
        if let reviewDue { deadlines.append(.init(kind: "kyc_review", dueDate: reviewDue, overdue: reviewOverdue)) }
        deadlines.sort { $0.dueDate < $1.dueDate }
        var score = 100
        if kyc != "approved" { score -= 20 }
        if reviewOverdue { score -= 10 }
        score -= openHigh * 10 + (openAlerts - openHigh) * 5
        score -= min(20, rejected * 2)
        score -= 15 * deadlines.filter { $0.overdue && $0.kind != "kyc_review" }.count
        return ComplianceStatus(
            accountId: accountID, score: max(0, score), formula: Self.formula, kycStatus: kyc, kycReviewDue: reviewDue,
            openAlerts: openAlerts, openHighSeverityAlerts: openHigh, rejectedChecksLast30Days: rejected,
            upcomingDeadlines: deadlines)
    }
}
