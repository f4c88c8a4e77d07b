public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional
public import ScryptexPostgres
import Synchronization

/// A report definition as stored, with its latest run.
public struct ReportRecord: Sendable, Encodable {
    public var id: UUID
    public var accountId: UUID
    public var name: String
    public var definition: ReportDefinition
    public var nextRunAt: Date?
    public var createdBy: String
    public var createdAt: Date
    public var latestRun: ReportRun?
    public var runs: [ReportRun]?
    /// With a webhook: where it goes and each run's delivery (status, attempts, last answer).
    public var webhookURL: String?
    public var webhookDeliveries: [[String: String]]?
}

/// One generation of a report, with its files once completed.
public struct ReportRun: Sendable, Codable, Equatable {
    public var id: UUID
    public var reportId: UUID
    public var status: String
    public var progress: Double
    public var period: ReportDefinition.Period
    public var error: String?
    public var jobId: UUID?
    public var requestedBy: String
    public var createdAt: Date
    /// When its job began generating it.
    public var startedAt: Date?
    public var completedAt: Date?
    /// Each file's SHA-256, by format.
    public var files: [String: String]
    /// How long each file took to write, by format (the query before them is shared).
    public var renderMilliseconds: [String: Int]
}

/// Report definitions, their runs and files, in the tenant's schema; generation runs as a
/// tenant job (`generate`).
public struct ReportService: Sendable {
    public init() {}

    static let runColumns: StaticString = """
        r.id, r.report_id, r.status, r.progress, r.period_from::text AS period_from, r.period_to::text AS period_to,
        r.error, r.job_id, r.requested_by, r.created_at, r.started_at, r.completed_at,
        coalesce((SELECT jsonb_object_agg(f.format, f.sha256) FROM bi_report_files f WHERE f.run_id = r.id), '{}') AS files,
        coalesce((SELECT jsonb_object_agg(f.format, f.render_milliseconds) FROM bi_report_files f WHERE f.run_id = r.id),
            '{}') AS render_milliseconds
        """

    /// Stores a definition and queues its first run (its own period); a scheduled one also
    /// gets its next run time.
    /// - Parameter webhookSecret: The webhook's secret sealed with the tenant's data key (a
    ///   report with a webhook has one).
    public func create(
        _ definition: ReportDefinition, account: UUID, actor: String, audit: any AuditSink,
        webhookSecret: [UInt8]? = nil, now: Date = Date(), in transaction: PostgresTransaction
    ) async throws -> (ReportRecord, ReportRun) {
        _ = try await AccountService().account(account, in: transaction)
        let next = definition.schedule?.nextRun(after: now)
        let row = try await transaction.query(
            """
            INSERT INTO bi_reports (account_id, name, definition, schedule, next_run_at, created_by, webhook_url,
                webhook_secret_encrypted)
            VALUES (\(account), \(definition.name), \(try PostgresJSON(encoding: definition))::jsonb,
                    \(try definition.schedule.map { try PostgresJSON(encoding: $0) })::jsonb, \(next), \(actor),
                    \(definition.webhook?.url), \(webhookSecret.map { Data($0) }))
            RETURNING id, created_at
            """
        ).firstRow
        let id = try row.decode("id", as: UUID.self)
        let run = try await queueRun(of: id, period: definition.period, actor: actor, in: transaction)
        try await audit.record(
            "bi.report_defined", objectType: "bi_report", objectID: id.uuidString.lowercased(), accountID: account,
            details: ["name": definition.name, "metrics": definition.metrics.joined(separator: ",")], in: transaction)
        let record = ReportRecord(
            id: id, accountId: account, name: definition.name, definition: definition, nextRunAt: next,
            createdBy: actor, createdAt: try row.decode("created_at", as: Date.self), latestRun: run, runs: nil,
            webhookURL: definition.webhook?.url, webhookDeliveries: nil)
        return (record, run)
    }

    /// Adds a queued run of report `id` for `period`.
    public func queueRun(
        of id: UUID, period: ReportDefinition.Period, actor: String, in transaction: PostgresTransaction
    ) async throws -> ReportRun {
        let row = try await transaction.query(
            """
            WITH r AS (
                INSERT INTO bi_report_runs (report_id, period_from, period_to, requested_by)
                VALUES (\(id), \(period.from)::date, \(period.to)::date, \(actor)) RETURNING *
            )
            SELECT \(sql: Self.runColumns) FROM r
            """
        ).firstRow
        return try Self.run(row)
    }

    public func attach(job: UUID, to run: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("UPDATE bi_report_runs SET job_id = \(job) WHERE id = \(run)")
    }

    /// The account's reports, newest first, each with its latest run.
    public func reports(of account: UUID, in transaction: PostgresTransaction) async throws -> [ReportRecord] {
        _ = try await AccountService().account(account, in: transaction)
        var records = try await transaction.query(
            """
            SELECT id, account_id, name, definition, next_run_at, created_by, created_at, webhook_url FROM bi_reports
            WHERE account_id = \(account) ORDER BY created_at DESC, id LIMIT 500
            """
        ).map(Self.record)
        for index in records.indices {
            records[index].latestRun = try await runs(of: records[index].id, limit: 1, in: transaction).first
        }
        return records
    }

    /// A report of `account` with its runs (newest first); `.notFound` for another account's.
    public func report(_ id: UUID, of account: UUID, in transaction: PostgresTransaction) async throws -> ReportRecord {
        guard
            let row = try await transaction.query(
                """
                SELECT id, account_id, name, definition, next_run_at, created_by, created_at, webhook_url FROM bi_reports
                WHERE id = \(id) AND account_id = \(account)
                """
            ).first
        else { throw ServiceError(.notFound, "no report with this id for this account") }
        var record = try Self.record(row)
        let runs = try await runs(of: id, limit: 100, in: transaction)
        record.runs = runs
        record.latestRun = runs.first
        if record.webhookURL != nil { record.webhookDeliveries = try await deliveries(of: id, in: transaction) }
        return record
    }

    public func runs(of report: UUID, limit: Int, in transaction: PostgresTransaction) async throws -> [ReportRun] {
        try await transaction.query(
            """
            SELECT \(sql: Self.runColumns) FROM bi_report_runs r
            WHERE r.report_id = \(report) ORDER BY r.created_at DESC, r.id LIMIT \(limit)
            """
        ).map(Self.run)
    }

    public func run(_ id: UUID, in transaction: PostgresTransaction) async throws -> ReportRun {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.runColumns) FROM bi_report_runs r WHERE r.id = \(id)"
            )
            .first
        else { throw ServiceError(.notFound, "no report run with this id") }
        return try Self.run(row)
    }

    /// A run's file in `format`.
    public func file(of run: UUID, format: String, in transaction: PostgresTransaction) async throws -> Data? {
        try await transaction.query(
            "SELECT content FROM bi_report_files WHERE run_id = \(run) AND format = \(format)"
        ).first?.decode("content", as: Data.self)
    }

    /// Marks a run that its job left behind (the job failed, was cancelled or its host
    /// stopped) as failed with the job's reason.
    public func fail(run: UUID, reason: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE bi_report_runs SET status = 'failed', error = \(reason), completed_at = now()
            WHERE id = \(run) AND status IN ('queued', 'running')
            """)
    }

    // MARK: Generation

    /// The job: sync the facts, compute the result, write the four files, mark the run
    /// completed — or failed with the reason, never completed without its files. Past `timeout`
    /// the work is stopped and the run fails saying so.
    public func generate(
        run id: UUID, branding: ReportBranding, timeout: Duration,
        withTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        snapshotTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let outcome = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await self.produce(
                        run: id, branding: branding, withTransaction: withTransaction,
                        snapshotTransaction: snapshotTransaction, progress: progress)
                    return nil
                } catch is CancellationError {
                    return "cancelled"
                } catch let error as ServiceError {
                    return error.message
                } catch {
                    return String(describing: error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled
                    ? nil
                    : "timed out: generation took longer than \(timeout.secondsValue) s (REPORT_GENERATION_TIMEOUT)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let reason = outcome {
            try await withTransaction { try await self.fail(run: id, reason: reason, in: $0) }
            throw ServiceError(.invalidInput, "report run \(id.uuidString.lowercased()) failed: \(reason)")
        }
    }

    final class Loaded: Sendable {
        let value = Mutex<(ReportDefinition, UUID, ReportRun, ReportResult?)?>(nil)
    }

    func produce(
        run id: UUID, branding: ReportBranding,
        withTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        snapshotTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let loaded = Loaded()
        try await withTransaction { transaction in
            let run = try await self.run(id, in: transaction)
            let row = try await transaction.query(
                "SELECT definition, account_id FROM bi_reports WHERE id = \(run.reportId)"
            ).firstRow
            var definition = try row.decode("definition", as: PostgresJSON.self).decode(ReportDefinition.self)
            definition.period = run.period
            let account = try row.decode("account_id", as: UUID.self)
            try await transaction.execute(
                """
                UPDATE bi_report_runs SET status = 'running', progress = 0.1, started_at = now()
                WHERE id = \(id) AND status = 'queued'
                """)
            loaded.value.withLock { $0 = (definition, account, run, nil) }
        }
        guard let (definition, account, _, _) = loaded.value.withLock({ $0 }) else { return }
        do {
            try await snapshotTransaction { _ = try await TradingFacts().sync(in: $0) }
        } catch let error as PostgresError where error.sqlState?.rawValue == "40001" {
            // A sync that committed meanwhile brought the facts up to date.
        }
        try await progress(30)
        try await withTransaction { transaction in
            let result = try await ReportQuery().run(
                definition, account: account, brand: branding.productName, in: transaction)
            loaded.value.withLock { $0?.3 = result }
            try await transaction.execute("UPDATE bi_report_runs SET progress = 0.5 WHERE id = \(id)")
        }
        try await progress(50)
        guard let result = loaded.value.withLock({ $0?.3 }) else { return }
        try Task.checkCancellation()
        // Writing the files is computation: on threads of their own, never the event loops.
        let files = try await ComputeThreads.run { () -> [(String, [UInt8], Int)] in
            let writers: [(String, () -> [UInt8])] = [
                ("json", { result.json }), ("csv", { result.csv }), ("html", { result.html(branding: branding) }),
                ("pdf", { result.pdf(branding: branding) }),
            ]
            return writers.map { format, write in
                let started = ContinuousClock.now
                let bytes = write()
                return (format, bytes, Int((ContinuousClock.now - started) / .milliseconds(1)))
            }
        }
        try Task.checkCancellation()
        try await progress(90)
        try await withTransaction { transaction in
            for (format, bytes, milliseconds) in files {
                try await transaction.execute(
                    """
                    INSERT INTO bi_report_files (run_id, format, content, sha256, render_milliseconds)
                    VALUES (\(id), \(format), \(Data(bytes)), \(Hex.encode(SHA256.hash(bytes))), \(milliseconds))
                    ON CONFLICT (run_id, format) DO UPDATE SET content = EXCLUDED.content, sha256 = EXCLUDED.sha256,
                        render_milliseconds = EXCLUDED.render_milliseconds
                    """)
            }
            try await transaction.execute(
                """
                UPDATE bi_report_runs SET status = 'completed', progress = 1, error = NULL, completed_at = now()
                WHERE id = \(id)
                """)
        }
    }

    // MARK: Rows

    static func record(_ row: PostgresRow) throws -> ReportRecord {
        ReportRecord(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            name: try row.decode("name", as: String.self),
            definition: try row.decode("definition", as: PostgresJSON.self).decode(ReportDefinition.self),
            nextRunAt: try row.decode("next_run_at", as: Date?.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self), latestRun: nil, runs: nil,
            webhookURL: try row.decode("webhook_url", as: String?.self), webhookDeliveries: nil)
    }

    static func run(_ row: PostgresRow) throws -> ReportRun {
        ReportRun(
            id: try row.decode("id", as: UUID.self), reportId: try row.decode("report_id", as: UUID.self),
            status: try row.decode("status", as: String.self), progress: try row.decode("progress", as: Double.self),
            period: .init(
                from: try row.decode("period_from", as: String.self), to: try row.decode("period_to", as: String.self)),
            error: try row.decode("error", as: String?.self), jobId: try row.decode("job_id", as: UUID?.self),
            requestedBy: try row.decode("requested_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            startedAt: try row.decode("started_at", as: Date?.self),
            completedAt: try row.decode("completed_at", as: Date?.self),
            files: try row.decode("files", as: PostgresJSON.self).decode([String: String].self),
            renderMilliseconds: try row.decode("render_milliseconds", as: PostgresJSON.self).decode([String: Int].self))
    }
}
