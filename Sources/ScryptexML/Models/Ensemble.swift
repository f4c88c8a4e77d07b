import Foundation
import ScryptexCore
public import ScryptexQuant

/// Several models combined: soft voting averages their probabilities (or values), stacking
/// learns how to combine them from out-of-fold predictions — a logistic regression
/// (classification) or least squares (regression) on the members' outputs. The folds run
/// forward in time: the training rows are cut into `folds + 1` blocks and block f is predicted
/// by members trained on the blocks before it, so no member is scored on rows it saw or on rows
/// older than those it learnt from.
public struct Ensemble: Sendable, Codable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case softVoting = "soft_voting"
        case stacking
    }

    public struct Parameters: Sendable, Codable, Equatable {
        public var method = Method.softVoting
        public var members: [ModelType] = [.randomForest, .svm, .lstm]
        /// Soft voting's weights, one per member (default equal).
        public var weights: [Double]?
        public var folds = 4
        /// Each member's own hyperparameters, by model type.
        public var memberHyperparameters: [String: [String: ParameterValue]] = [:]

        public init() {}

        /// From a request's `hyperparameters`: `method`, `members`, `weights`, `folds`, and one
        /// object of hyperparameters per member type (`random_forest`, `svm`, `lstm`).
        public init(
            _ values: [String: ParameterValue], nested: [String: [String: ParameterValue]], task: LearningTask
        )
            throws
        {
            var reader = HyperparameterReader(values)
            method = try reader.choice("method", default: Method.softVoting)
            switch reader.raw("members") {
            case nil: break
            case .list(let names):
                members = try names.map { name in
                    guard let type = ModelType(rawValue: name), type != .ensemble else {
                        throw reader.problem("members", "'\(name.prefix(40))' is not random_forest, svm or lstm")
                    }
                    return type
                }
                guard (2...6).contains(members.count) else { throw reader.problem("members", "2 to 6 models") }
            default: throw reader.problem("members", "a list of random_forest, svm, lstm")
            }
            folds = try reader.integer("folds", default: 4, in: 2...10)
            if let given = reader.raw("weights") {
                guard case .numbers(let numbers) = given else {
                    throw reader.problem("weights", "a list of numbers, one per member")
                }
                guard numbers.count == members.count, numbers.allSatisfy({ $0 >= 0 }), numbers.reduce(0, +) > 0 else {
                    throw reader.problem("weights", "one number ≥ 0 per member, not all 0")
                }
                weights = numbers
            }
            try reader.finish(modelType: "ensemble")
            for (key, member) in nested {
                guard let type = ModelType(rawValue: key), members.contains(type) else {
                    throw ServiceError(
                        .invalidInput, "field 'hyperparameters.\(key.prefix(40))': not a member of this ensemble")
                }
                // Validated now so a bad member parameter is refused before training.
                _ = try Ensemble.memberParameters(type, member, task: task)
            }
            memberHyperparameters = nested
        }
    }

    public var parameters: Parameters
    public var task: LearningTask
    public var members: [TrainedModel]
    /// Stacking's combiner: output = link(bias + Σ w_m · member_m).
    public var metaWeights: [Double]?
    public var metaBias: Double?

    static func memberParameters(
        _ type: ModelType, _ values: [String: ParameterValue], task: LearningTask
    ) throws
        -> Any
    {
        let field = "hyperparameters.\(type.rawValue)"
        switch type {
        case .randomForest: return try RandomForest.Parameters(values, task: task, field: field)
        case .svm:
            var parameters = try SupportVectorMachine.Parameters(values, task: task, field: field)
            // Members vote with probabilities: calibrated by Platt unless told otherwise.
            if task == .classification && values["probability"] == nil { parameters.probability = true }
            return parameters
        case .lstm: return try LongShortTermMemory.Parameters(values, field: field)
        case .ensemble: throw ServiceError(.invalidInput, "field 'hyperparameters.members': an ensemble of ensembles")
        }
    }

    /// Trains one member on `rows` of `data`; an LSTM's validation rows are the last of them.
    static func trainMember(
        _ type: ModelType, parameters: Parameters, task: LearningTask, data: LabelledData, seed: UInt64,
        control: TrainingControl
    ) throws -> TrainedModel {
        let values = parameters.memberHyperparameters[type.rawValue] ?? [:]
        switch try memberParameters(type, values, task: task) {
        case let forest as RandomForest.Parameters:
            return .randomForest(
                try RandomForest(training: data, task: task, parameters: forest, seed: seed, control: control))
        case let svm as SupportVectorMachine.Parameters:
            return .svm(
                try SupportVectorMachine(training: data, task: task, parameters: svm, seed: seed, control: control))
        case let network as LongShortTermMemory.Parameters:
            return .lstm(
                try LongShortTermMemory(
                    training: data, validation: nil, task: task, parameters: network, seed: seed, control: control))
        default:
            throw ServiceError(.invalidInput, "field 'hyperparameters.members': an ensemble of ensembles")
        }
    }

    public init(
        training data: LabelledData, task: LearningTask, parameters: Parameters, seed: UInt64,
        control: TrainingControl = .none
    ) throws {
        self.parameters = parameters
        self.task = task
        let count = parameters.members.count
        let fits = parameters.method == .stacking ? parameters.folds * count + count : count
        var done = 0
        func memberControl() -> TrainingControl {
            let base = Double(done) / Double(fits)
            return TrainingControl(
                report: { progress in
                    control.report(
                        .init(
                            fraction: base + progress.fraction / Double(fits), stage: progress.stage,
                            loss: progress.loss))
                }, isCancelled: control.isCancelled)
        }
        metaWeights = nil
        metaBias = nil
        if parameters.method == .stacking {
            let blocks = parameters.folds + 1
            guard data.count >= blocks * 10 else {
                throw ServiceError(
                    .invalidInput,
                    "stacking over \(parameters.folds) folds needs at least \(blocks * 10) training rows, not \(data.count)"
                )
            }
            let boundaries = (0...blocks).map { $0 * data.count / blocks }
            var outOfFold: [[Double]] = Array(repeating: [], count: count)
            var targets: [Double] = []
            for fold in 1...parameters.folds {
                let trainEnd = boundaries[fold]
                let blockEnd = boundaries[fold + 1]
                for (index, type) in parameters.members.enumerated() {
                    let member = try Self.trainMember(
                        type, parameters: parameters, task: task, data: data.rows(0..<trainEnd),
                        seed: seed &+ UInt64(fold * 100 + index), control: memberControl())
                    done += 1
                    outOfFold[index] += member.predictions(for: data.features, rows: trainEnd..<blockEnd)
                }
                targets += data.targets[trainEnd..<blockEnd]
            }
            let fitted = Self.fitCombiner(inputs: outOfFold, targets: targets, task: task)
            metaWeights = fitted.weights
            metaBias = fitted.bias
        }
        var members: [TrainedModel] = []
        for (index, type) in parameters.members.enumerated() {
            members.append(
                try Self.trainMember(
                    type, parameters: parameters, task: task, data: data, seed: seed &+ UInt64(index),
                    control: memberControl()))
            done += 1
        }
        self.members = members
    }

    public func predictions(for features: FeatureMatrix) -> [Double] {
        predictions(for: features, rows: 0..<features.rowCount)
    }

    public func predictions(for features: FeatureMatrix, rows: Range<Int>) -> [Double] {
        let outputs = members.map { $0.predictions(for: features, rows: rows) }
        return (0..<rows.count).map { row in
            let values = outputs.map { $0[row] }
            if let metaWeights, let metaBias {
                let z = metaBias + zip(metaWeights, values).map(*).reduce(0, +)
                return task == .classification ? LongShortTermMemory.sigmoid(z) : z
            }
            let weights = parameters.weights ?? [Double](repeating: 1, count: values.count)
            return zip(weights, values).map(*).reduce(0, +) / weights.reduce(0, +)
        }
    }

    /// Logistic regression by Newton's method (a 10⁻⁴ ridge keeps it defined when the members
    /// separate the rows) or least squares, on the members' outputs.
    static func fitCombiner(
        inputs: [[Double]], targets: [Double], task: LearningTask
    ) -> (
        weights: [Double], bias: Double
    ) {
        let m = inputs.count + 1
        let n = targets.count
        func features(_ row: Int) -> [Double] { [1] + inputs.map { $0[row] } }
        var beta = [Double](repeating: 0, count: m)
        let iterations = task == .classification ? 50 : 1
        for _ in 0..<iterations {
            var hessian = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
            var gradient = [Double](repeating: 0, count: m)
            for row in 0..<n {
                let x = features(row)
                let z = zip(beta, x).map(*).reduce(0, +)
                let (residual, weight): (Double, Double)
                if task == .classification {
                    let p = LongShortTermMemory.sigmoid(z)
                    (residual, weight) = (targets[row] - p, max(p * (1 - p), 1e-12))
                } else {
                    (residual, weight) = (targets[row] - z, 1)
                }
                for a in 0..<m {
                    gradient[a] += residual * x[a]
                    for b in 0..<m { hessian[a][b] += weight * x[a] * x[b] }
                }
            }
            for a in 1..<m {
                hessian[a][a] += 1e-4
                gradient[a] -= 1e-4 * beta[a]
            }
            guard let step = LinearSystem.solve(hessian, gradient) else { break }
            for a in 0..<m { beta[a] += step[a] }
            if step.map(abs).max() ?? 0 < 1e-10 { break }
        }
        return (Array(beta.dropFirst()), beta[0])
    }
}
