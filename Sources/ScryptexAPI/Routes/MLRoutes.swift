public import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexInstitutional
public import ScryptexML
import ScryptexPostgres
public import ScryptexTenancy

/// Machine-learning models over the API (feature `ml`): trained as tenant jobs, served,
/// monitored. Training is refused on a host with `ML_TRAINING_ENABLED=false`; reading,
/// predicting and monitoring still work.
public struct MLRoutes: RouteCollection {
    public static let jobKind = "ml_training"

    let store: ModelStore
    let trainingEnabled: Bool

    /// - Parameters:
    ///   - store: Where models are saved (`ML_MODEL_STORAGE_PATH`).
    ///   - trainingEnabled: `ML_TRAINING_ENABLED`.
    public init(store: ModelStore, trainingEnabled: Bool) {
        self.store = store
        self.trainingEnabled = trainingEnabled
    }

    public func add(to routes: inout SecuredRoutes) {
        let training = HostSwitch(
            isOn: trainingEnabled, detail: "model training is disabled on this host (ML_TRAINING_ENABLED=false)")
        let accountModels = "/api/enterprise/accounts/:id/ml-models"
        routes.group(accountModels, as: TenantCall.self, permission: .modelsTrain, feature: .ml, enabledBy: training) {
            models in
            models.post(use: create)
        }
        routes.group(accountModels, as: TenantCall.self, feature: .ml) { models in
            models.get(.modelsRead, use: list)
            models.get(":modelId", .modelsRead, use: show)
            models.delete(":modelId", .modelsTrain, use: delete)
        }
        routes.group("/api/enterprise/ml-models", as: TenantCall.self, feature: .ml) { model in
            model.get(":modelId", .modelsRead, use: showByID)
            model.post(":modelId/predict", .modelsRead, use: predict)
            model.post(":modelId/cancel", .modelsTrain, use: cancel)
            model.post(":modelId/evaluations", .modelsTrain, use: evaluate)
            model.get(":modelId/evaluations", .modelsRead, use: evaluations)
        }
        routes.group("/api/enterprise/ml-datasets", as: TenantCall.self, feature: .ml) { datasets in
            datasets.post(.modelsTrain, use: upload)
            datasets.get(.modelsRead, use: listDatasets)
        }
    }

    func modelID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("modelId", notFound: "no model with this id")
    }

    /// Queues a model's training: 202 with `{"id", "status": "queued", "jobId"}`.
    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let modelRequest = try ModelRequest.decode(request.body)
        let model = try await call.scope.withTransaction {
            try await MLModelService().create(
                modelRequest, account: account, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        let job = try await TenantJobQueue(pool: call.services.pool).enqueue(
            Self.jobKind, for: call.tenant,
            payload: try PostgresJSON(encoding: ["modelId": model.id.uuidString.lowercased()]), maxAttempts: 1,
            timeout: .seconds(6 * 3_600))
        try await call.scope.withTransaction { try await MLModelService().attach(job: job, to: model.id, in: $0) }
        struct Accepted: Encodable {
            var id: UUID
            var status: String
            var jobId: UUID
        }
        return try .json(encoding: Accepted(id: model.id, status: model.status, jobId: job), status: .accepted)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let models = try await call.scope.withTransaction(readOnly: true) {
            try await MLModelService().models(of: account, in: $0)
        }
        // The list leaves out each evaluation's training profile (read one model for it).
        return try .json(encoding: ["models": models.map(Summary.init)])
    }

    struct Summary: Encodable {
        var model: MLModel
        init(_ model: MLModel) { self.model = model }
        func encode(to encoder: any Encoder) throws {
            var trimmed = model
            trimmed.evaluation?.trainingProfile = []
            try trimmed.encode(to: encoder)
        }
    }

    @Sendable func show(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let id = try modelID(call)
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await MLModelService().model(id, account: account, in: $0)
            })
    }

    @Sendable func showByID(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try modelID(call)
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await MLModelService().model(id, in: $0)
            })
    }

    @Sendable func delete(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let id = try modelID(call)
        let removed = try await call.scope.withTransaction { transaction in
            _ = try await MLModelService().model(id, account: account, in: transaction)
            return try await MLModelService().delete(id, audit: call.audit, in: transaction)
        }
        if let job = removed.job { try await TenantJobQueue(pool: call.services.pool).cancel(job) }
        if let path = removed.filePath { store.remove(path: path) }
        return .noContent
    }

    @Sendable func cancel(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(encoding: try await Self.cancelTraining(of: try modelID(call), for: call))
    }

    /// Stops a queued or running training and its job: what the API's `…/cancel` does, for the
    /// portal too.
    public static func cancelTraining(of id: UUID, for call: TenantCall) async throws -> MLModel {
        let model = try await call.scope.withTransaction {
            try await MLModelService().cancel(id, audit: call.audit, in: $0)
        }
        if let job = model.jobId { try await TenantJobQueue(pool: call.services.pool).cancel(job) }
        return model
    }

    /// `{"rows": [{feature: value, …}, …]}` or `{"latest": n}` (the model's market data).
    @Sendable func predict(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var rows: [[String: Double]]?
            var latest: Int?
        }
        let id = try modelID(call)
        let body = try request.decodeJSON(Body.self)
        let serving = ModelServing(store: store)
        let answer = try await call.scope.withTransaction(readOnly: true) { transaction in
            let model = try await MLModelService().model(id, in: transaction)
            switch (body.rows, body.latest) {
            case (let rows?, nil): return try await serving.predict(rows: rows, model: model, in: transaction)
            case (nil, let latest?): return try await serving.predictLatest(latest, model: model, in: transaction)
            default: throw ServiceError(.invalidInput, "field 'rows' or 'latest': exactly one of them")
            }
        }
        struct Answer: Encodable {
            var modelId: UUID
            var predictions: [Prediction]
        }
        return try .json(encoding: Answer(modelId: id, predictions: answer))
    }

    @Sendable func evaluate(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try modelID(call)
        let serving = ModelServing(store: store)
        let report = try await call.scope.withTransaction { transaction in
            try await serving.monitor(try await MLModelService().model(id, in: transaction), in: transaction)
        }
        return try .json(encoding: report, status: report.recorded ? .created : .ok)
    }

    @Sendable func evaluations(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try modelID(call)
        let serving = ModelServing(store: store)
        let history = try await call.scope.withTransaction(readOnly: true) { transaction in
            try await serving.history(of: try await MLModelService().model(id, in: transaction), in: transaction)
        }
        return try .json(encoding: ["evaluations": history])
    }

    /// `POST /api/enterprise/ml-datasets?name=` with a CSV body.
    @Sendable func upload(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        guard let name = QueryParameters(request)["name"] else {
            throw ServiceError(.invalidInput, "query 'name': required")
        }
        let dataset = try await call.scope.withTransaction {
            try await MLModelService().upload(
                name: name, csv: request.body, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return try .json(encoding: dataset, status: .created)
    }

    @Sendable func listDatasets(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "datasets": try await call.scope.withTransaction(readOnly: true) {
                    try await MLModelService().datasets(in: $0)
                }
            ])
    }

    /// The tenant job that trains a model.
    public static func jobHandler(runner: TrainingRunner) -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let id = payload["modelId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no model id")
            }
            let audit = TenantAuditSink(schema: context.tenant.schema, actor: "system:job", requestID: nil)
            try await runner.run(
                id, schema: context.tenant.schema.name, audit: audit,
                withTransaction: { body in try await context.withTenantTransaction(body) },
                progress: { try await context.report(progress: $0) })
            return try PostgresJSON(encoding: ["modelId": id.uuidString.lowercased()])
        }
    }
}
