import Foundation
import ScryptexCore
import ScryptexMarketData

/// How a trained model did, on rows it never saw.
public struct ModelEvaluation: Sendable, Codable, Equatable {
    public struct Part: Sendable, Codable, Equatable {
        public var rows: Int
        public var from: String?
        public var to: String?
    }

    public struct Fold: Sendable, Codable, Equatable {
        public var train: Part
        public var test: Part
        public var classification: ClassificationMetrics?
        public var regression: RegressionMetrics?
    }

    public var task: LearningTask
    public var features: [String]
    public var train: Part
    public var validation: Part?
    public var test: Part
    /// On the test rows, with the baselines beside them.
    public var classification: ClassificationMetrics?
    public var regression: RegressionMetrics?
    public var validationClassification: ClassificationMetrics?
    public var validationRegression: RegressionMetrics?
    public var walkForward: [Fold]?
    public var trainingSeconds: Double
    /// Per model kind: out-of-bag score, support vectors, best epoch, …
    public var details: [String: String]
    public var featureImportances: [String: Double]?
    /// The distribution of each feature on the training rows, for drift checks later.
    public var trainingProfile: [FeatureProfile]
}

/// A feature's distribution on the training rows: its deciles (edges for a population
/// stability index) and mean.
public struct FeatureProfile: Sendable, Codable, Equatable {
    public var name: String
    public var mean: Double
    /// The 10 %, 20 %, … 90 % quantiles.
    public var deciles: [Double]

    init(name: String, values: [Double]) {
        self.name = name
        mean = values.reduce(0, +) / Double(max(1, values.count))
        let sorted = values.sorted()
        deciles = (1...9).map { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, $0 * sorted.count / 10)] }
    }

    /// The population stability index of `values` against the training deciles:
    /// Σ (a_i − e_i) ln(a_i / e_i) over the ten bins, shares floored at 10⁻⁴.
    func stabilityIndex(_ values: [Double]) -> Double {
        var counts = [Double](repeating: 0, count: 10)
        for value in values {
            var bin = 0
            while bin < 9 && value > deciles[bin] { bin += 1 }
            counts[bin] += 1
        }
        let total = Double(max(1, values.count))
        return counts.reduce(0) { sum, count in
            let actual = max(count / total, 1e-4)
            return sum + (actual - 0.1) * log(actual / 0.1)
        }
    }
}

/// Trains a model on a dataset as a request asks and evaluates it. Pure computation: the caller
/// loads the data and stores the outcome.
public enum ModelTrainer {
    public struct Outcome: Sendable {
        public var model: TrainedModel
        public var evaluation: ModelEvaluation
    }

    /// Refuses data no model should be trained on, naming the problem.
    public static func check(_ data: LabelledData, task: LearningTask, split: SplitSpecification) throws {
        if let (row, column) = data.features.firstNonFinite() {
            throw ServiceError(
                .invalidInput,
                "the dataset's row \(row + 1) has a NaN or infinite value in feature '\(data.features.names[column])'")
        }
        if let row = data.targets.firstIndex(where: { !$0.isFinite }) {
            throw ServiceError(.invalidInput, "the dataset's row \(row + 1) has a NaN or infinite target")
        }
        let ranges = split.ranges(count: data.count)
        guard ranges.train.count >= 10, ranges.test.count >= 1 else {
            throw ServiceError(
                .invalidInput,
                "the dataset has \(data.count) rows: \(ranges.train.count) to train and \(ranges.test.count) to test; at least 10 and 1 are needed"
            )
        }
        if task == .classification {
            if let row = data.targets.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                throw ServiceError(
                    .invalidInput,
                    "classification needs a target of 0 or 1; row \(row + 1) has \(data.targets[row])")
            }
            let positives = data.targets[ranges.train].filter { $0 == 1 }.count
            if positives == 0 || positives == ranges.train.count {
                throw ServiceError(
                    .invalidInput,
                    "the training rows have no example of class \(positives == 0 ? 1 : 0); a classifier needs both")
            }
        }
    }

    public static func train(
        _ request: ModelRequest, data: LabelledData, control: TrainingControl = .none
    ) throws -> Outcome {
        let split = request.dataset.resolvedSplit
        try check(data, task: request.task, split: split)
        let ranges = split.ranges(count: data.count)
        let clock = ContinuousClock()
        let started = clock.now
        var folds: [ModelEvaluation.Fold]?
        if let count = split.walkForwardFolds {
            var results: [ModelEvaluation.Fold] = []
            for (index, window) in SplitSpecification.walkForward(end: data.count, folds: count).enumerated() {
                guard window.train.count >= 10, !window.test.isEmpty else { continue }
                let foldControl = TrainingControl(
                    report: { progress in
                        control.report(
                            .init(
                                fraction: (Double(index) + progress.fraction) / Double(count + 1),
                                stage: "walk-forward fold \(index + 1) of \(count): \(progress.stage)",
                                loss: progress.loss))
                    }, isCancelled: control.isCancelled)
                let model = try fit(
                    request, training: data.rows(window.train), validation: nil,
                    seed: request.seed &+ UInt64(index + 1),
                    control: foldControl)
                let (classification, regression) = score(
                    model, data: data, rows: window.test, trainingRows: window.train, task: request.task)
                results.append(
                    ModelEvaluation.Fold(
                        train: part(data, window.train), test: part(data, window.test), classification: classification,
                        regression: regression))
            }
            folds = results
        }
        let base = Double(split.walkForwardFolds ?? 0) / Double((split.walkForwardFolds ?? 0) + 1)
        let finalControl = TrainingControl(
            report: { progress in
                control.report(
                    .init(fraction: base + (1 - base) * progress.fraction, stage: progress.stage, loss: progress.loss))
            }, isCancelled: control.isCancelled)
        let validation = ranges.validation.isEmpty ? nil : data.rows(ranges.validation)
        let model = try fit(
            request, training: data.rows(ranges.train), validation: validation, seed: request.seed,
            control: finalControl)
        let seconds = (clock.now - started).secondsValue
        let (classification, regression) = score(
            model, data: data, rows: ranges.test, trainingRows: ranges.train, task: request.task)
        var validationScores: (ClassificationMetrics?, RegressionMetrics?) = (nil, nil)
        if !ranges.validation.isEmpty {
            validationScores = score(
                model, data: data, rows: ranges.validation, trainingRows: ranges.train, task: request.task)
        }
        var details: [String: String] = [:]
        var importances: [String: Double]?
        switch model {
        case .randomForest(let forest):
            details["trees"] = String(forest.trees.count)
            details["nodes"] = String(forest.trees.reduce(0) { $0 + $1.nodeCount })
            if let score = forest.outOfBagScore { details["outOfBagScore"] = String(score) }
            importances = Dictionary(uniqueKeysWithValues: zip(data.features.names, forest.featureImportances))
        case .svm(let svm):
            details["supportVectors"] = String(svm.coefficients.count)
            details["gamma"] = String(svm.gamma)
            details["iterations"] = String(svm.iterations)
            details["probability"] = svm.plattA == nil ? "logistic of the decision value" : "Platt scaling"
        case .lstm(let network):
            details["bestEpoch"] = String(network.bestEpoch)
            details["epochsRun"] = String(network.history.count)
            if let best = network.history.dropFirst(network.bestEpoch - 1).first {
                details["validationLoss"] = String(best.validationLoss)
            }
        case .ensemble(let ensemble):
            details["method"] = ensemble.parameters.method.rawValue
            details["members"] = ensemble.members.map(\.type.rawValue).joined(separator: ", ")
            if let weights = ensemble.metaWeights {
                details["combinerWeights"] = weights.map { String(format: "%.6f", $0) }.joined(separator: ", ")
            }
        }
        let trainingRows = data.rows(ranges.train).features
        let evaluation = ModelEvaluation(
            task: request.task, features: data.features.names, train: part(data, ranges.train),
            validation: ranges.validation.isEmpty ? nil : part(data, ranges.validation), test: part(data, ranges.test),
            classification: classification, regression: regression, validationClassification: validationScores.0,
            validationRegression: validationScores.1, walkForward: folds, trainingSeconds: seconds, details: details,
            featureImportances: importances,
            trainingProfile: data.features.names.indices.map {
                FeatureProfile(name: data.features.names[$0], values: trainingRows.column($0))
            })
        return Outcome(model: model, evaluation: evaluation)
    }

    static func part(_ data: LabelledData, _ rows: Range<Int>) -> ModelEvaluation.Part {
        let isTime = data.persistenceColumn != nil || (data.times.last ?? 0) > 100_000_000
        return ModelEvaluation.Part(
            rows: rows.count,
            from: isTime && !rows.isEmpty ? MarketTime.rfc3339(data.times[rows.lowerBound]) : nil,
            to: isTime && !rows.isEmpty ? MarketTime.rfc3339(data.times[rows.upperBound - 1]) : nil)
    }

    static func fit(
        _ request: ModelRequest, training: LabelledData, validation: LabelledData?, seed: UInt64,
        control: TrainingControl
    ) throws -> TrainedModel {
        switch try request.trainingParameters() {
        case let forest as RandomForest.Parameters:
            return .randomForest(
                try RandomForest(
                    training: training, task: request.task, parameters: forest, seed: seed, control: control))
        case let svm as SupportVectorMachine.Parameters:
            return .svm(
                try SupportVectorMachine(
                    training: training, task: request.task, parameters: svm, seed: seed, control: control))
        case let network as LongShortTermMemory.Parameters:
            return .lstm(
                try LongShortTermMemory(
                    training: training, validation: validation, task: request.task, parameters: network, seed: seed,
                    control: control))
        case let ensemble as Ensemble.Parameters:
            return .ensemble(
                try Ensemble(training: training, task: request.task, parameters: ensemble, seed: seed, control: control)
            )
        default:
            throw ServiceError(.invalidInput, "field 'modelType': unknown")
        }
    }

    /// Metrics on `rows`, the model reading every row up to them (an LSTM needs the history).
    static func score(
        _ model: TrainedModel, data: LabelledData, rows: Range<Int>, trainingRows: Range<Int>, task: LearningTask
    ) -> (ClassificationMetrics?, RegressionMetrics?) {
        let scores = model.predictions(for: data.features, rows: rows)
        let truth = Array(data.targets[rows])
        switch task {
        case .classification:
            let classes = model.classes(for: data.features, rows: rows)
            let positives = data.targets[trainingRows].filter { $0 == 1 }.count
            let majority = positives * 2 > trainingRows.count ? 1 : 0
            return (
                ClassificationMetrics(truth: truth, scores: scores, predicted: classes, majorityClass: majority), nil
            )
        case .regression:
            let mean = data.targets[trainingRows].reduce(0, +) / Double(trainingRows.count)
            var baselines: [(String, [Double])] = [("the training mean", [Double](repeating: mean, count: truth.count))]
            if let column = data.persistenceColumn {
                baselines.append(("the last value", rows.map { data.features[$0, column] }))
            }
            return (nil, RegressionMetrics(truth: truth, predictions: scores, baselines: baselines))
        }
    }
}
