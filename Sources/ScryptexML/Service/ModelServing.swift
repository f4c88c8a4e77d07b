public import Foundation
import ScryptexCore
import ScryptexMarketData
public import ScryptexPostgres

/// One row's prediction.
public struct Prediction: Sendable, Codable, Equatable {
    /// The bar's time (market data), or nil for given rows.
    public var time: String?
    public var row: Int
    /// The probability of class 1 (classification).
    public var probability: Double?
    /// The predicted class (classification).
    public var predictedClass: Int?
    /// The predicted value (regression).
    public var value: Double?
}

/// Serves ready models: predictions for given rows or the latest bars, and monitoring on bars
/// that arrived after the training data.
public struct ModelServing: Sendable {
    public let store: ModelStore

    public init(store: ModelStore) {
        self.store = store
    }

    /// The model's file: from the storage it was written to, else from this host's storage, else
    /// from the database into this host's storage (a model another host trained, with storage not
    /// shared between hosts, or a tenant moved), checked against the checksum recorded at training.
    public func file(of model: MLModel, in transaction: PostgresTransaction) async throws -> ModelFile {
        let (path, sha256) = try await MLModelService().file(of: model.id, in: transaction)
        if FileManager.default.fileExists(atPath: path) { return try store.load(path: path, sha256: sha256) }
        let schema = try await transaction.query("SELECT current_schema() AS name").firstRow.decode(
            "name", as: String.self)
        let local = store.directory(forSchema: schema) + "/" + URL(fileURLWithPath: path).lastPathComponent
        if !FileManager.default.fileExists(atPath: local) {
            guard let bytes = try await MLModelService().fileBytes(of: model.id, in: transaction) else {
                throw ServiceError(
                    .conflict,
                    "the model's file is not on this host's storage and was trained before model files were kept in the database: retrain the model"
                )
            }
            try store.restore(bytes, to: local, sha256: sha256)
        }
        return try store.load(path: local, sha256: sha256)
    }

    static func predictions(
        _ file: ModelFile, features: FeatureMatrix, rows: Range<Int>, times: [Int64]?
    ) -> [Prediction] {
        let outputs = file.model.predictions(for: features, rows: rows)
        let classes = file.header.task == .classification ? file.model.classes(for: features, rows: rows) : []
        return rows.enumerated().map { offset, row in
            Prediction(
                time: times.map { MarketTime.rfc3339($0[row]) }, row: row,
                probability: file.header.task == .classification ? outputs[offset] : nil,
                predictedClass: file.header.task == .classification ? Int(classes[offset]) : nil,
                value: file.header.task == .regression ? outputs[offset] : nil)
        }
    }

    /// Predictions for rows given as feature values (each row a list in the model's feature
    /// order, or an object keyed by feature name), in the order given (an LSTM reads them as a
    /// time series).
    public func predict(
        rows: [[String: Double]], model: MLModel, in transaction: PostgresTransaction
    ) async throws -> [Prediction] {
        let file = try await file(of: model, in: transaction)
        let names = file.header.features
        guard (1...10_000).contains(rows.count) else {
            throw ServiceError(.invalidInput, "field 'rows': 1 to 10,000 rows")
        }
        var values: [Double] = []
        for (index, row) in rows.enumerated() {
            if let unknown = row.keys.sorted().first(where: { !names.contains($0) }) {
                throw ServiceError(
                    .invalidInput, "field 'rows[\(index)].\(unknown.prefix(40))': not a feature of this model")
            }
            for name in names {
                guard let value = row[name], value.isFinite else {
                    throw ServiceError(.invalidInput, "field 'rows[\(index)].\(name)': a finite number is required")
                }
                values.append(value)
            }
        }
        let features = FeatureMatrix(names: names, values: values)
        return Self.predictions(file, features: features, rows: 0..<features.rowCount, times: nil)
    }

    /// Predictions for the latest `count` bars of the model's market data (the last one's next
    /// bar is the one being predicted).
    public func predictLatest(
        _ count: Int, model: MLModel, in transaction: PostgresTransaction
    ) async throws -> [Prediction] {
        guard (1...1_000).contains(count) else { throw ServiceError(.invalidInput, "field 'latest': 1 to 1,000 bars") }
        let file = try await file(of: model, in: transaction)
        var dataset = model.request.dataset
        guard let features = dataset.features else {
            throw ServiceError(.invalidInput, "field 'latest': the model was trained on an upload; give 'rows'")
        }
        dataset.end = nil
        let bars = try await TrainingData.bars(dataset, in: transaction)
        let matrix = try features.latestRows(bars, count: count + 1_000)
        let first = max(0, matrix.features.rowCount - count)
        return Self.predictions(
            file, features: matrix.features, rows: first..<matrix.features.rowCount, times: matrix.times)
    }

    /// Scores a market-data model on the bars after its training data (as far as the data
    /// goes), flags drift and records the evaluation.
    public func monitor(_ model: MLModel, in transaction: PostgresTransaction) async throws -> MonitoringReport {
        let file = try await file(of: model, in: transaction)
        guard let evaluation = model.evaluation, let lastTrained = evaluation.test.to else {
            throw ServiceError(.invalidInput, "the model was trained on an upload; monitoring follows market data")
        }
        var dataset = model.request.dataset
        dataset.end = nil
        let bars = try await TrainingData.bars(dataset, in: transaction)
        guard let features = dataset.features, let target = dataset.marketTarget else {
            throw ServiceError(.invalidInput, "the model has no market features")
        }
        let data = try features.dataset(bars, target: target)
        let cutoff = try MarketTime.start(lastTrained)
        guard let first = data.times.firstIndex(where: { $0 > cutoff }) else {
            return MonitoringReport(
                modelId: model.id, evaluatedAt: Date(), from: nil, to: nil, rows: 0, classification: nil,
                regression: nil, featureStability: [:], drift: false,
                reasons: ["no bar has arrived after the training data (it ends at \(lastTrained))"], recorded: false)
        }
        let rows = first..<data.count
        let training = 0..<first
        let (classification, regression) = ModelTrainer.score(
            file.model, data: data, rows: rows, trainingRows: training, task: model.request.task)
        var stability: [String: Double] = [:]
        var reasons: [String] = []
        for (column, profile) in evaluation.trainingProfile.enumerated() where column < data.features.columnCount {
            let index = profile.stabilityIndex(rows.map { data.features[$0, column] })
            stability[profile.name] = index
            if index > 0.25 && rows.count >= 30 {
                reasons.append(
                    "feature '\(profile.name)' shifted: population stability index \(String(format: "%.3f", index)) > 0.25"
                )
            }
        }
        if rows.count >= 30, let now = classification, let then = evaluation.classification {
            if now.accuracy < then.accuracy - 0.1 {
                reasons.append(
                    "accuracy \(String(format: "%.4f", now.accuracy)) is more than 10 points below the test accuracy \(String(format: "%.4f", then.accuracy))"
                )
            }
            if now.accuracy < now.baseline.accuracy {
                reasons.append(
                    "accuracy \(String(format: "%.4f", now.accuracy)) is below the majority-class baseline \(String(format: "%.4f", now.baseline.accuracy))"
                )
            }
        }
        if rows.count >= 30, let now = regression, let then = evaluation.regression,
            now.meanSquaredError > 1.5 * then.meanSquaredError
        {
            reasons.append("mean squared error is more than 1.5 times the test's")
        }
        let report = MonitoringReport(
            modelId: model.id, evaluatedAt: Date(), from: MarketTime.rfc3339(data.times[first]),
            to: MarketTime.rfc3339(data.times[data.count - 1]), rows: rows.count, classification: classification,
            regression: regression, featureStability: stability, drift: !reasons.isEmpty, reasons: reasons,
            recorded: true)
        try await transaction.execute(
            """
            INSERT INTO ml_model_evaluations (model_id, period_start, period_end, rows, metrics, drift, drift_reasons)
            VALUES (\(model.id), to_timestamp(\(Double(data.times[first]))), to_timestamp(\(Double(data.times[data.count - 1]))),
                    \(rows.count), \(try PostgresJSON(encoding: report))::jsonb, \(report.drift),
                    \(try PostgresJSON(encoding: reasons))::jsonb)
            """)
        return report
    }

    /// Monitors every ready market-data model of the tenant not evaluated in the last day
    /// (the host runs this periodically, so accuracy is tracked over time without anyone
    /// asking); returns how many evaluations it recorded. A model that fails (its file gone,
    /// its data removed) is skipped and named in the returned problems.
    public func monitorDue(in transaction: PostgresTransaction) async throws -> (recorded: Int, problems: [String]) {
        let due = try await transaction.query(
            """
            SELECT id FROM ml_models m
            WHERE status = 'ready' AND deleted_at IS NULL AND request -> 'dataset' ->> 'symbol' IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM ml_model_evaluations e
                  WHERE e.model_id = m.id AND e.evaluated_at > now() - interval '1 day')
            ORDER BY id LIMIT 100
            """
        ).map { try $0.decode("id", as: UUID.self) }
        var recorded = 0
        var problems: [String] = []
        for id in due {
            do {
                let report = try await monitor(try await MLModelService().model(id, in: transaction), in: transaction)
                if report.recorded { recorded += 1 }
            } catch {
                problems.append("\(id.uuidString.lowercased()): \((error as? ServiceError)?.message ?? "\(error)")")
            }
        }
        return (recorded, problems)
    }

    /// The evaluations recorded so far, oldest first.
    public func history(of model: MLModel, in transaction: PostgresTransaction) async throws -> [MonitoringReport] {
        try await transaction.query(
            "SELECT metrics FROM ml_model_evaluations WHERE model_id = \(model.id) ORDER BY evaluated_at, id"
        ).map { try $0.decode("metrics", as: PostgresJSON.self).decode(MonitoringReport.self) }
    }
}

/// A model scored on data that arrived after training.
public struct MonitoringReport: Sendable, Codable, Equatable {
    public var modelId: UUID
    public var evaluatedAt: Date
    public var from: String?
    public var to: String?
    public var rows: Int
    public var classification: ClassificationMetrics?
    public var regression: RegressionMetrics?
    /// Each feature's population stability index against the training rows (above 0.25: a
    /// significant shift).
    public var featureStability: [String: Double]
    public var drift: Bool
    public var reasons: [String]
    public var recorded: Bool
}
