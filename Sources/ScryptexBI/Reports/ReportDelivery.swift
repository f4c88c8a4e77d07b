public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// Scheduled runs and webhook deliveries of reports.
extension ReportService {
    /// Queues a run of every scheduled report that is due at `now` (for the period its schedule
    /// reports: the previous day, week or month in its time zone) and moves its next run on.
    /// Reports being queued by another host are skipped (`SKIP LOCKED`).
    public func queueDueRuns(now: Date = Date(), in transaction: PostgresTransaction) async throws -> [ReportRun] {
        let due = try await transaction.query(
            """
            SELECT id, schedule FROM bi_reports
            WHERE next_run_at IS NOT NULL AND next_run_at <= \(now)
            ORDER BY next_run_at FOR UPDATE SKIP LOCKED LIMIT 100
            """)
        var runs: [ReportRun] = []
        for row in due {
            let id = try row.decode("id", as: UUID.self)
            guard let schedule = try row.decode("schedule", as: PostgresJSON?.self)?.decode(ReportSchedule.self) else {
                continue
            }
            runs.append(
                try await queueRun(
                    of: id, period: schedule.period(endingBefore: now), actor: "schedule", in: transaction))
            try await transaction.execute(
                "UPDATE bi_reports SET next_run_at = \(schedule.nextRun(after: now)) WHERE id = \(id)")
        }
        return runs
    }

    /// What a webhook delivery needs: where, the sealed secret, and the message.
    public struct Delivery: Sendable {
        public var url: String
        public var sealedSecret: [UInt8]
        /// The JSON body, written once so its signature covers exactly what is sent.
        public var body: [UInt8]
        public var attempts: Int
    }

    /// Records that a completed run's webhook is to be delivered; false when the report has no
    /// webhook (or the delivery is recorded already).
    public func prepareDelivery(of run: UUID, in transaction: PostgresTransaction) async throws -> Bool {
        !(try await transaction.query(
            """
            INSERT INTO bi_webhook_deliveries (run_id, url)
            SELECT r.id, b.webhook_url FROM bi_report_runs r JOIN bi_reports b ON b.id = r.report_id
            WHERE r.id = \(run) AND r.status = 'completed' AND b.webhook_url IS NOT NULL
            ON CONFLICT (run_id) DO NOTHING RETURNING run_id
            """
        ).isEmpty)
    }

    /// The delivery of `run`'s webhook, or nil when it was delivered already.
    public func delivery(of run: UUID, in transaction: PostgresTransaction) async throws -> Delivery? {
        guard
            let row = try await transaction.query(
                """
                SELECT d.url, d.status, d.attempts, b.webhook_secret_encrypted, b.id AS report_id, b.name, b.account_id
                FROM bi_webhook_deliveries d JOIN bi_report_runs r ON r.id = d.run_id JOIN bi_reports b ON b.id = r.report_id
                WHERE d.run_id = \(run) FOR UPDATE OF d
                """
            ).first, try row.decode("status", as: String.self) == "pending"
        else { return nil }
        guard let secret = try row.decode("webhook_secret_encrypted", as: Data?.self) else {
            throw ServiceError(.invalidInput, "the report has a webhook but no secret")
        }
        let report = try row.decode("report_id", as: UUID.self)
        let account = try row.decode("account_id", as: UUID.self)
        let completed = try await self.run(run, in: transaction)
        struct Message: Encodable {
            struct Report: Encodable {
                var id: UUID
                var name: String
            }
            struct File: Encodable {
                var sha256: String
                var path: String
            }
            struct Run: Encodable {
                var id: UUID
                var period: ReportDefinition.Period
                var completedAt: Date?
                var files: [String: File]
            }
            var event = "report.completed"
            var report: Report
            var run: Run
        }
        let base =
            "/api/enterprise/accounts/\(account.uuidString.lowercased())/reports/\(report.uuidString.lowercased())/runs/\(run.uuidString.lowercased())"
        let message = Message(
            report: .init(id: report, name: try row.decode("name", as: String.self)),
            run: .init(
                id: run, period: completed.period, completedAt: completed.completedAt,
                files: completed.files.reduce(into: [:]) { files, entry in
                    files[entry.key] = Message.File(sha256: entry.value, path: base + "?format=" + entry.key)
                }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Delivery(
            url: try row.decode("url", as: String.self), sealedSecret: Array(secret),
            body: Array(try encoder.encode(message)), attempts: try row.decode("attempts", as: Int.self))
    }

    /// Records one attempt: delivered on a 2xx, else its status or error (failed for good on
    /// the last attempt).
    public func recordAttempt(
        of run: UUID, status: Int?, error: String?, lastAttempt: Bool, in transaction: PostgresTransaction
    ) async throws {
        let delivered = status.map { (200..<300).contains($0) } ?? false
        let state = delivered ? "delivered" : (lastAttempt ? "failed" : "pending")
        try await transaction.execute(
            """
            UPDATE bi_webhook_deliveries SET attempts = attempts + 1, last_status = \(status), last_error = \(error),
                status = \(state), delivered_at = CASE WHEN \(delivered) THEN now() END
            WHERE run_id = \(run)
            """)
    }

    /// The deliveries of a report's runs, newest first.
    public func deliveries(of report: UUID, in transaction: PostgresTransaction) async throws -> [[String: String]] {
        try await transaction.query(
            """
            SELECT d.run_id, d.status, d.attempts, d.last_status, d.last_error, d.delivered_at
            FROM bi_webhook_deliveries d JOIN bi_report_runs r ON r.id = d.run_id
            WHERE r.report_id = \(report) ORDER BY d.created_at DESC LIMIT 100
            """
        ).map { row in
            var entry = [
                "runId": try row.decode("run_id", as: UUID.self).uuidString.lowercased(),
                "status": try row.decode("status", as: String.self),
                "attempts": String(try row.decode("attempts", as: Int.self)),
            ]
            if let status = try row.decode("last_status", as: Int?.self) { entry["lastStatus"] = String(status) }
            if let error = try row.decode("last_error", as: String?.self) { entry["lastError"] = error }
            if let at = try row.decode("delivered_at", as: Date?.self) { entry["deliveredAt"] = Timestamp.format(at) }
            return entry
        }
    }
}

/// How a webhook is signed: `Scryptex-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the report's secret>`. The receiver recomputes it, compares in constant
/// time, and refuses a timestamp too far from its clock (replays).
public enum WebhookSignature {
    public static func header(secret: String, timestamp: Int, body: [UInt8]) -> String {
        "t=\(timestamp),v1=" + Hex.encode(HMAC.code(for: Array("\(timestamp).".utf8) + body, key: Array(secret.utf8)))
    }

    /// Checks a header against `body` (for receivers written in Swift, and the tests).
    public static func verify(_ header: String, secret: String, body: [UInt8], now: Int, tolerance: Int = 300) -> Bool {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp, abs(now - timestamp) <= tolerance else { return false }
        let expected = Array(self.header(secret: secret, timestamp: timestamp, body: body).utf8.suffix(64))
        return signatures.contains { candidate in
            let given = Array(candidate.utf8)
            guard given.count == expected.count else { return false }
            return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
