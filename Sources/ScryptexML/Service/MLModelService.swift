public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional
public import ScryptexPostgres

/// A model as the API shows it.
public struct MLModel: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var name: String
    public var modelType: String
    public var task: String
    public var request: ModelRequest
    public var status: String
    /// 0–1 while training.
    public var progress: Double
    public var stage: String?
    public var loss: Double?
    public var evaluation: ModelEvaluation?
    public var error: String?
    public var jobId: UUID?
    public var version: Int
    public var fileSHA256: String?
    /// "cpu" (this host has no GPU code path); with TRAINING_COMPUTE_TIER=gpu and no GPU, the
    /// notice says so.
    public var trainedOn: String?
    public var computeNotice: String?
    public var requestedBy: String
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?

    /// The test metrics (classification or regression), at the top for readers.
    public var metrics: [String: Double]? {
        if let classification = evaluation?.classification {
            var values: [String: Double] = [
                "accuracy": classification.accuracy, "precision": classification.precision,
                "recall": classification.recall, "f1": classification.f1, "logLoss": classification.logLoss,
                "baselineAccuracy": classification.baseline.accuracy,
            ]
            values["rocAUC"] = classification.rocAUC
            return values
        }
        if let regression = evaluation?.regression {
            var values = [
                "meanSquaredError": regression.meanSquaredError, "meanAbsoluteError": regression.meanAbsoluteError,
                "rSquared": regression.rSquared,
            ]
            if let baseline = regression.baselines.first {
                values["baselineMeanSquaredError"] = baseline.meanSquaredError
            }
            return values
        }
        return nil
    }

    init(row: PostgresRow) throws {
        id = try row.decode("id", as: UUID.self)
        accountId = try row.decode("account_id", as: UUID.self)
        name = try row.decode("name", as: String.self)
        modelType = try row.decode("model_type", as: String.self)
        task = try row.decode("task", as: String.self)
        request = try row.decode("request", as: PostgresJSON.self).decode(ModelRequest.self)
        status = try row.decode("status", as: String.self)
        progress = try row.decode("progress", as: Double.self)
        stage = try row.decode("stage", as: String?.self)
        loss = try row.decode("loss", as: Double?.self)
        evaluation = try row.decode("evaluation", as: PostgresJSON?.self).map { try $0.decode(ModelEvaluation.self) }
        error = try row.decode("error", as: String?.self)
        jobId = try row.decode("job_id", as: UUID?.self)
        version = try row.decode("version", as: Int.self)
        fileSHA256 = try row.decode("file_sha256", as: String?.self)
        trainedOn = try row.decode("trained_on", as: String?.self)
        computeNotice = try row.decode("compute_notice", as: String?.self)
        requestedBy = try row.decode("requested_by", as: String.self)
        createdAt = try row.decode("created_at", as: Date.self)
        startedAt = try row.decode("started_at", as: Date?.self)
        completedAt = try row.decode("completed_at", as: Date?.self)
    }

    enum CodingKeys: String, CodingKey {
        case id, accountId, name, modelType, task, request, status, progress, stage, loss, evaluation, error, jobId
        case version, fileSHA256, trainedOn, computeNotice, requestedBy, createdAt, startedAt, completedAt, metrics
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UUID.self, forKey: .id)
        accountId = try container.decode(UUID.self, forKey: .accountId)
        name = try container.decode(String.self, forKey: .name)
        modelType = try container.decode(String.self, forKey: .modelType)
        task = try container.decode(String.self, forKey: .task)
        request = try container.decode(ModelRequest.self, forKey: .request)
        status = try container.decode(String.self, forKey: .status)
        progress = try container.decode(Double.self, forKey: .progress)
        stage = try container.decodeIfPresent(String.self, forKey: .stage)
        loss = try container.decodeIfPresent(Double.self, forKey: .loss)
        evaluation = try container.decodeIfPresent(ModelEvaluation.self, forKey: .evaluation)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        jobId = try container.decodeIfPresent(UUID.self, forKey: .jobId)
        version = try container.decode(Int.self, forKey: .version)
        fileSHA256 = try container.decodeIfPresent(String.self, forKey: .fileSHA256)
        trainedOn = try container.decodeIfPresent(String.self, forKey: .trainedOn)
        computeNotice = try container.decodeIfPresent(String.self, forKey: .computeNotice)
        requestedBy = try container.decode(String.self, forKey: .requestedBy)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        startedAt = try container.decodeIfPresent(Date.self, forKey: .startedAt)
        completedAt = try container.decodeIfPresent(Date.self, forKey: .completedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(accountId, forKey: .accountId)
        try container.encode(name, forKey: .name)
        try container.encode(modelType, forKey: .modelType)
        try container.encode(task, forKey: .task)
        try container.encode(request, forKey: .request)
        try container.encode(status, forKey: .status)
        try container.encode(progress, forKey: .progress)
        try container.encodeIfPresent(stage, forKey: .stage)
        try container.encodeIfPresent(loss, forKey: .loss)
        try container.encodeIfPresent(evaluation, forKey: .evaluation)
        try container.encodeIfPresent(metrics, forKey: .metrics)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(jobId, forKey: .jobId)
        try container.encode(version, forKey: .version)
        try container.encodeIfPresent(fileSHA256, forKey: .fileSHA256)
        try container.encodeIfPresent(trainedOn, forKey: .trainedOn)
        try container.encodeIfPresent(computeNotice, forKey: .computeNotice)
        try container.encode(requestedBy, forKey: .requestedBy)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(completedAt, forKey: .completedAt)
    }
}

/// An uploaded numeric CSV.
public struct MLDataset: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var rows: Int
    public var columns: [String]
    public var sha256: String
    public var uploadedBy: String
    public var createdAt: Date
}

/// Models and datasets of a tenant's accounts. Every method runs in a transaction the caller
/// opened as the tenant; every change is audited in it.
public struct MLModelService: Sendable {
    public init() {}

    static let columns: StaticString = """
        id, account_id, name, model_type, task, request, status, progress, stage, loss, evaluation, error, job_id,
        version, file_sha256, trained_on, compute_notice, requested_by, created_at, started_at, completed_at
        """

    /// Records a queued model; the caller queues the training job.
    public func create(
        _ request: ModelRequest, account: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> MLModel {
        _ = try await AccountService().account(account, in: transaction)
        if let upload = request.dataset.upload {
            let columns = try await dataset(upload, in: transaction).columns
            guard columns.contains(request.dataset.target) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'dataset.target': the upload has no column '\(request.dataset.target.prefix(60))' (columns: \(columns.prefix(20).joined(separator: ", ")))"
                )
            }
        }
        let taken = try await transaction.query(
            "SELECT id FROM ml_models WHERE account_id = \(account) AND name = \(request.name) AND deleted_at IS NULL")
        guard taken.isEmpty else {
            throw ServiceError(.conflict, "field 'name': the account already has a model named '\(request.name)'")
        }
        let rows = try await transaction.query(
            """
            INSERT INTO ml_models (account_id, name, model_type, task, request, requested_by)
            VALUES (\(account), \(request.name), \(request.modelType.rawValue), \(request.task.rawValue),
                    \(try PostgresJSON(encoding: request))::jsonb, \(actor))
            RETURNING \(sql: Self.columns)
            """)
        let model = try Self.model(rows.firstRow)
        try await audit.record(
            "ml.model_requested", objectType: "ml_model", objectID: model.id.uuidString.lowercased(),
            accountID: account,
            details: ["name": request.name, "modelType": request.modelType.rawValue, "task": request.task.rawValue],
            in: transaction)
        return model
    }

    public func attach(job: UUID, to model: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("UPDATE ml_models SET job_id = \(job) WHERE id = \(model)")
    }

    public func models(of account: UUID, in transaction: PostgresTransaction) async throws -> [MLModel] {
        _ = try await AccountService().account(account, in: transaction)
        return try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM ml_models WHERE account_id = \(account) AND deleted_at IS NULL
            ORDER BY created_at, id
            """
        ).map(Self.model)
    }

    /// The model; `.notFound` for a deleted one or one of another tenant (out of reach).
    public func model(_ id: UUID, in transaction: PostgresTransaction, forUpdate: Bool = false) async throws -> MLModel
    {
        let rows =
            forUpdate
            ? try await transaction.query(
                "SELECT \(sql: Self.columns) FROM ml_models WHERE id = \(id) AND deleted_at IS NULL FOR UPDATE")
            : try await transaction.query(
                "SELECT \(sql: Self.columns) FROM ml_models WHERE id = \(id) AND deleted_at IS NULL")
        guard let row = rows.first else { throw ServiceError(.notFound, "no model with this id") }
        return try Self.model(row)
    }

    /// The model within an account (404 when it belongs to another account).
    public func model(_ id: UUID, account: UUID, in transaction: PostgresTransaction) async throws -> MLModel {
        let model = try await model(id, in: transaction)
        guard model.accountId == account else { throw ServiceError(.notFound, "no model with this id in this account") }
        return model
    }

    /// Deletes a model (kept for the audit trail, out of every list); a training one is
    /// cancelled first. Returns the job to cancel and the file to remove.
    public func delete(
        _ id: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> (
        job: UUID?, filePath: String?
    ) {
        let model = try await model(id, in: transaction, forUpdate: true)
        let path = try await transaction.query("SELECT file_path FROM ml_models WHERE id = \(id)").firstRow.decode(
            "file_path", as: String?.self)
        try await transaction.execute(
            """
            UPDATE ml_models SET deleted_at = now(),
                status = CASE WHEN status IN ('queued', 'training') THEN 'cancelled' ELSE status END
            WHERE id = \(id)
            """)
        try await audit.record(
            "ml.model_deleted", objectType: "ml_model", objectID: id.uuidString.lowercased(),
            accountID: model.accountId,
            details: ["name": model.name], in: transaction)
        return (["queued", "training"].contains(model.status) ? model.jobId : nil, path)
    }

    /// Cancels a queued or training model: it is marked cancelled now (so it can never become
    /// ready) and the caller cancels its job.
    public func cancel(_ id: UUID, audit: any AuditSink, in transaction: PostgresTransaction) async throws -> MLModel {
        let model = try await model(id, in: transaction, forUpdate: true)
        guard ["queued", "training"].contains(model.status) else {
            throw ServiceError(
                .conflict, "the model is \(model.status); only a queued or training model can be cancelled")
        }
        let rows = try await transaction.query(
            """
            UPDATE ml_models SET status = 'cancelled', completed_at = now(), stage = 'cancelled'
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """)
        try await audit.record(
            "ml.model_cancelled", objectType: "ml_model", objectID: id.uuidString.lowercased(),
            accountID: model.accountId, details: [:], in: transaction)
        return try Self.model(rows.firstRow)
    }

    // MARK: - Training

    /// What a training job needs; the model is marked training. Nil when the model was
    /// cancelled or deleted meanwhile.
    public func start(
        _ id: UUID, trainedOn: String, notice: String?, in transaction: PostgresTransaction
    ) async throws -> MLModel? {
        let rows = try await transaction.query(
            """
            UPDATE ml_models SET status = 'training', started_at = now(), progress = 0, error = NULL,
                trained_on = \(trainedOn), compute_notice = \(notice)
            WHERE id = \(id) AND status IN ('queued', 'training') AND deleted_at IS NULL
            RETURNING \(sql: Self.columns)
            """)
        return try rows.first.map(Self.model)
    }

    public func record(
        progress: TrainingControl.Progress, of id: UUID, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE ml_models SET progress = \(min(1, max(0, progress.fraction))), stage = \(String(progress.stage.prefix(300))),
                loss = \(progress.loss.flatMap { $0.isFinite ? $0 : nil })
            WHERE id = \(id) AND status = 'training'
            """)
    }

    /// Marks the model ready with its evaluation and file, unless it was cancelled meanwhile.
    /// Returns whether it did.
    public func complete(
        _ id: UUID, evaluation: ModelEvaluation, filePath: String, fileSHA256: String, fileBytes: Data? = nil,
        audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> Bool {
        let rows = try await transaction.query(
            """
            UPDATE ml_models SET status = 'ready', progress = 1, stage = 'ready',
                evaluation = \(try PostgresJSON(encoding: evaluation))::jsonb, file_path = \(filePath),
                file_sha256 = \(fileSHA256), file_bytes = \(fileBytes), completed_at = now()
            WHERE id = \(id) AND status = 'training' AND deleted_at IS NULL
            RETURNING account_id
            """)
        guard let row = rows.first else { return false }
        var details = ["file": fileSHA256]
        if let accuracy = evaluation.classification?.accuracy { details["accuracy"] = String(accuracy) }
        if let r2 = evaluation.regression?.rSquared { details["rSquared"] = String(r2) }
        try await audit.record(
            "ml.model_trained", objectType: "ml_model", objectID: id.uuidString.lowercased(),
            accountID: try row.decode("account_id", as: UUID.self), details: details, in: transaction)
        return true
    }

    /// Records why training failed; the model keeps no evaluation and no file.
    public func fail(_ id: UUID, error: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE ml_models SET status = 'failed', error = \(String(error.prefix(2_000))), completed_at = now()
            WHERE id = \(id) AND status IN ('queued', 'training')
            """)
    }

    /// The saved file's path and checksum of a ready model.
    public func file(of id: UUID, in transaction: PostgresTransaction) async throws -> (path: String, sha256: String) {
        let model = try await model(id, in: transaction)
        guard model.status == "ready" else {
            throw ServiceError(.conflict, "the model is \(model.status), not ready: it cannot predict yet")
        }
        let row = try await transaction.query("SELECT file_path, file_sha256 FROM ml_models WHERE id = \(id)").firstRow
        return (try row.decode("file_path", as: String.self), try row.decode("file_sha256", as: String.self))
    }

    /// The model's file as kept in the database (nil for a model trained before files were kept there).
    public func fileBytes(of id: UUID, in transaction: PostgresTransaction) async throws -> Data? {
        try await transaction.query("SELECT file_bytes FROM ml_models WHERE id = \(id)").first?.decode(
            "file_bytes", as: Data?.self) ?? nil
    }

    // MARK: - Datasets

    public func upload(
        name: String, csv: [UInt8], actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> MLDataset {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count) else {
            throw ServiceError(.invalidInput, "query 'name': 1 to 200 characters")
        }
        guard csv.count <= 50 * 1_048_576 else {
            throw ServiceError(.invalidInput, "the CSV has \(csv.count) bytes; at most 50 MiB")
        }
        guard !csv.contains(0) else { throw ServiceError(.invalidInput, "the CSV contains a NUL byte; it is not text") }
        // Read once to refuse a malformed file now: every column but one must be numeric, so
        // the whole table is checked with its first column as a stand-in target.
        let header = NumericCSV.cells(
            String(decoding: csv.prefix { $0 != 10 }, as: UTF8.self).trimmingCharacters(in: .newlines)[...])
        guard let first = header.first, header.count >= 2 else {
            throw ServiceError(.invalidInput, "the CSV needs a header with at least two columns")
        }
        let table = try NumericCSV.dataset(csv, target: first)
        let digest = Hex.encode(SHA256.hash(csv))
        let rows = try await transaction.query(
            """
            INSERT INTO ml_datasets (name, csv, rows, columns, sha256, uploaded_by)
            VALUES (\(trimmed), \(String(decoding: csv, as: UTF8.self)), \(table.count), \(try PostgresJSON(encoding: header))::jsonb, \(digest), \(actor))
            RETURNING id, name, rows, columns, sha256, uploaded_by, created_at
            """)
        let dataset = try Self.dataset(rows.firstRow)
        try await audit.record(
            "ml.dataset_uploaded", objectType: "ml_dataset", objectID: dataset.id.uuidString.lowercased(),
            accountID: nil, details: ["name": trimmed, "rows": String(table.count), "sha256": digest], in: transaction)
        return dataset
    }

    public func dataset(_ id: UUID, in transaction: PostgresTransaction) async throws -> MLDataset {
        guard
            let row = try await transaction.query(
                "SELECT id, name, rows, columns, sha256, uploaded_by, created_at FROM ml_datasets WHERE id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no uploaded dataset with this id") }
        return try Self.dataset(row)
    }

    public func datasets(in transaction: PostgresTransaction) async throws -> [MLDataset] {
        try await transaction.query(
            "SELECT id, name, rows, columns, sha256, uploaded_by, created_at FROM ml_datasets ORDER BY created_at, id"
        ).map(Self.dataset)
    }

    public func csv(of id: UUID, in transaction: PostgresTransaction) async throws -> [UInt8] {
        guard let row = try await transaction.query("SELECT csv FROM ml_datasets WHERE id = \(id)").first else {
            throw ServiceError(.notFound, "no uploaded dataset with this id")
        }
        return Array(try row.decode("csv", as: String.self).utf8)
    }

    // MARK: - Rows

    static func model(_ row: PostgresRow) throws -> MLModel { try MLModel(row: row) }

    static func dataset(_ row: PostgresRow) throws -> MLDataset {
        MLDataset(
            id: try row.decode("id", as: UUID.self), name: try row.decode("name", as: String.self),
            rows: try row.decode("rows", as: Int.self),
            columns: try row.decode("columns", as: PostgresJSON.self).decode([String].self),
            sha256: try row.decode("sha256", as: String.self),
            uploadedBy: try row.decode("uploaded_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self))
    }
}
