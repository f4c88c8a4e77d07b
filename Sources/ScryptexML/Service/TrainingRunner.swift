public import Foundation
import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres
import Synchronization

/// Runs one model's training as a tenant job: reads the data, trains on a thread of its own
/// (never on the cooperative pool), writes progress every second, saves the file and marks the
/// model ready — or records why it failed. A model cancelled meanwhile (its job cancelled, or
/// the model cancelled or deleted over the API) stops at the next tree, epoch or solver check
/// and is never marked ready.
public struct TrainingRunner: Sendable {
    public let store: ModelStore
    /// Where training runs ("cpu": this host has no GPU code path).
    public let trainedOn: String
    /// Set when a GPU was asked for and the CPU is used instead.
    public let computeNotice: String?

    public init(store: ModelStore, trainedOn: String = "cpu", computeNotice: String? = nil) {
        self.store = store
        self.trainedOn = trainedOn
        self.computeNotice = computeNotice
    }

    final class Shared: Sendable {
        let cancelled = Atomic<Bool>(false)
        let latest = Mutex<TrainingControl.Progress?>(nil)
        let loaded = Mutex<(MLModel, LabelledData)?>(nil)
    }

    /// - Parameters:
    ///   - schema: The tenant's schema (the folder its models are saved in).
    ///   - withTransaction: Runs SQL as the model's tenant.
    ///   - progress: Percent done, for the job.
    public func run(
        _ id: UUID, schema: String, audit: any AuditSink,
        withTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let shared = Shared()
        do {
            try await withTransaction { transaction in
                guard
                    let model = try await MLModelService().start(
                        id, trainedOn: trainedOn, notice: computeNotice, in: transaction)
                else { return }
                let data = try await TrainingData.load(model.request, in: transaction)
                shared.loaded.withLock { $0 = (model, data) }
            }
            guard let (model, data) = shared.loaded.withLock({ $0 }) else { return }
            let control = TrainingControl(
                report: { update in shared.latest.withLock { $0 = update } },
                isCancelled: { shared.cancelled.load(ordering: .relaxed) })
            let request = model.request
            // Progress out every second; a model cancelled over the API stops the training.
            let watcher = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if let update = shared.latest.withLock({ $0 }) {
                        try? await withTransaction {
                            try await MLModelService().record(progress: update, of: id, in: $0)
                        }
                        try? await progress(Int(update.fraction * 95))
                    }
                    try? await withTransaction { transaction in
                        let status = try await transaction.query(
                            "SELECT status, deleted_at IS NOT NULL AS deleted FROM ml_models WHERE id = \(id)"
                        ).first
                        let stopped =
                            try status?.decode("status", as: String.self) == "cancelled"
                            || status?.decode("deleted", as: Bool.self) == true
                        if stopped { shared.cancelled.store(true, ordering: .relaxed) }
                    }
                }
            }
            defer { watcher.cancel() }
            let outcome = try await withTaskCancellationHandler {
                try await ComputeThreads.run { try ModelTrainer.train(request, data: data, control: control) }
            } onCancel: {
                shared.cancelled.store(true, ordering: .relaxed)
            }
            watcher.cancel()
            let file = try ModelFile(
                modelID: id, modelVersion: model.version, task: request.task, features: data.features.names,
                trainedAt: Date(), model: outcome.model)
            let saved = try store.save(file, schema: schema)
            let bytes = FileManager.default.contents(atPath: saved.path)
            let completed = Mutex(false)
            try await withTransaction { transaction in
                let done = try await MLModelService().complete(
                    id, evaluation: outcome.evaluation, filePath: saved.path, fileSHA256: saved.sha256,
                    fileBytes: bytes, audit: audit, in: transaction)
                completed.withLock { $0 = done }
            }
            if !completed.withLock({ $0 }) { store.remove(path: saved.path) }
            try await progress(100)
        } catch {
            if shared.cancelled.load(ordering: .relaxed) { throw CancellationError() }
            let message = (error as? ServiceError)?.message ?? "the training failed: \(error)"
            try await withTransaction { transaction in
                try await MLModelService().fail(id, error: message, in: transaction)
            }
            throw error
        }
    }
}
