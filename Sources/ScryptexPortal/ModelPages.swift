import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexML
import ScryptexTemplates

/// Machine-learning models (feature `ml`): an account's models on its page, and a model's
/// training progress, test metrics beside their baselines, feature importances and
/// walk-forward folds.
extension PortalRoutes {
    func modelValues(of account: UUID, call: TenantCall) async throws -> [TemplateValue] {
        try await call.scope.withTransaction(readOnly: true) {
            try await MLModelService().models(of: account, in: $0)
        }.map { model in
            [
                "id": .string(model.id.uuidString.lowercased()), "name": .string(model.name),
                "type": .string(model.modelType), "task": .string(model.task), "status": .string(model.status),
            ]
        }
    }

    static func isTraining(_ model: MLModel) -> Bool { ["queued", "training"].contains(model.status) }

    @Sendable func modelPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await modelDetail(call, id: try modelID(call))
    }

    func modelID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("id", notFound: "no model with this id")
    }

    func modelDetail(
        _ call: TenantCall, id: UUID, error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let model = try await call.scope.withTransaction(readOnly: true) {
            try await MLModelService().model(id, in: $0)
        }
        let formatter = ISO8601DateFormatter()
        func figure(_ value: Double) -> String { String(format: "%.4f", value) }
        var values: [String: TemplateValue] = [
            "model": [
                "id": .string(model.id.uuidString.lowercased()), "name": .string(model.name),
                "type": .string(model.modelType), "task": .string(model.task), "status": .string(model.status),
                "account": .string(model.accountId.uuidString.lowercased()), "version": .number(String(model.version)),
                "stage": model.stage.map { .string($0) } ?? .null,
                "percent": .number(String(Int((model.progress * 100).rounded()))),
                "training": .bool(Self.isTraining(model)), "error": model.error.map { .string($0) } ?? .null,
                "trainedOn": model.trainedOn.map { .string($0) } ?? .null,
                "computeNotice": model.computeNotice.map { .string($0) } ?? .null,
                "requestedBy": .string(model.requestedBy),
                "requestedAt": .string(formatter.string(from: model.createdAt)),
                "completedAt": model.completedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                "symbol": model.request.dataset.symbol.map { .string($0) } ?? .null,
                "target": .string(model.request.dataset.target),
            ]
        ]
        if let evaluation = model.evaluation {
            var metrics: [TemplateValue] = []
            if let test = evaluation.classification {
                metrics = [
                    [
                        "name": "Accuracy", "value": .string(figure(test.accuracy)),
                        "baseline": .string(figure(test.baseline.accuracy)),
                    ],
                    ["name": "Precision", "value": .string(figure(test.precision)), "baseline": .null],
                    ["name": "Recall", "value": .string(figure(test.recall)), "baseline": .null],
                    ["name": "F1", "value": .string(figure(test.f1)), "baseline": .null],
                    ["name": "ROC AUC", "value": .string(test.rocAUC.map(figure) ?? "—"), "baseline": .null],
                    ["name": "Log loss", "value": .string(figure(test.logLoss)), "baseline": .null],
                ]
                values["confusion"] = .list(
                    test.confusionMatrix.enumerated().map { row in
                        [
                            "actual": .string(row.offset == 0 ? "down (0)" : "up (1)"),
                            "cells": .list(row.element.map { .number(String($0)) }),
                        ]
                    })
            } else if let test = evaluation.regression {
                let baseline = test.baselines.first
                metrics = [
                    [
                        "name": "Mean squared error", "value": .string(figure(test.meanSquaredError)),
                        "baseline": baseline.map { .string(figure($0.meanSquaredError)) } ?? .null,
                    ],
                    [
                        "name": "Mean absolute error", "value": .string(figure(test.meanAbsoluteError)),
                        "baseline": baseline.map { .string(figure($0.meanAbsoluteError)) } ?? .null,
                    ],
                    [
                        "name": "R²", "value": .string(figure(test.rSquared)),
                        "baseline": baseline.map { .string(figure($0.rSquared)) } ?? .null,
                    ],
                ]
                if let baseline { values["baselineRule"] = .string(baseline.rule) }
            }
            values["metrics"] = .list(metrics)
            values["split"] = [
                "train": .number(String(evaluation.train.rows)), "test": .number(String(evaluation.test.rows)),
                "validation": evaluation.validation.map { .number(String($0.rows)) } ?? .null,
                "from": evaluation.train.from.map { .string($0) } ?? .null,
                "to": evaluation.test.to.map { .string($0) } ?? .null,
                "seconds": .string(String(format: "%.1f", evaluation.trainingSeconds)),
            ]
            if let importances = evaluation.featureImportances, let largest = importances.values.max(), largest > 0 {
                values["importances"] = .list(
                    importances.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map { entry in
                        [
                            "feature": .string(entry.key), "value": .string(figure(entry.value)),
                            "relative": .string(String(format: "%.3f", entry.value / largest)),
                        ]
                    })
            }
            if let folds = evaluation.walkForward, !folds.isEmpty {
                values["folds"] = .list(
                    folds.enumerated().map { fold in
                        let part = fold.element
                        let score =
                            part.classification.map { "accuracy " + figure($0.accuracy) }
                            ?? part.regression.map { "R² " + figure($0.rSquared) } ?? "—"
                        return [
                            "number": .number(String(fold.offset + 1)),
                            "train": .string(
                                "\(part.train.rows) rows, \(part.train.from ?? "") to \(part.train.to ?? "")"),
                            "test": .string("\(part.test.rows) rows, \(part.test.from ?? "") to \(part.test.to ?? "")"),
                            "score": .string(score),
                        ]
                    })
            }
        }
        if Self.isTraining(model) { values["refresh"] = true }
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-model", title: "Model \(model.name)", section: Self.root + "/accounts", call: call,
            values: values, status: status)
    }

    /// Stops a queued or running training (the API's own cancel: the model and its job).
    func cancelModel(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let id = try modelID(call)
        return try await submitting(
            next: Self.root + "/models/" + id.uuidString.lowercased(),
            { _ = try await MLRoutes.cancelTraining(of: id, for: call) },
            refused: { message, status in try await modelDetail(call, id: id, error: message, status: status) })
    }
}
