import Foundation
import ScryptexCore
public import ScryptexQuant

/// A support vector machine on standardised features: C-SVC for classification, ε-SVR for
/// regression, solved by SMO (`SMOSolver`), with Platt's sigmoid for probabilities.
public struct SupportVectorMachine: Sendable, Codable, Equatable {
    public enum KernelKind: String, Sendable, Codable, CaseIterable {
        case linear
        case rbf
    }

    public struct Parameters: Sendable, Codable, Equatable {
        public var kernel = KernelKind.rbf
        public var cost = 1.0
        /// nil: "scale", 1 / (p · Var(X)) over the standardised training matrix.
        public var gamma: Double?
        public var gammaRule = "scale"
        public var epsilon = 0.1
        public var tolerance = 1e-3
        public var shrinking = true
        public var cacheMegabytes = 200
        /// Platt scaling fitted on 5-fold cross-validated decision values.
        public var probability = false

        public init() {}

        /// From a request's `hyperparameters`: `kernel`, `C`, `gamma` ("scale", "auto" or a
        /// number), `epsilon` (regression), `tol`, `shrinking`, `cacheSize` (MB), `probability`.
        public init(
            _ values: [String: ParameterValue], task: LearningTask, field: String = "hyperparameters"
        )
            throws
        {
            var reader = HyperparameterReader(values, field: field)
            kernel = try reader.choice("kernel", default: KernelKind.rbf)
            cost = try reader.number("C", default: 1, in: 1e-6...1e6)
            switch reader.raw("gamma") {
            case nil: break
            case .text(let word) where word == "scale" || word == "auto": gammaRule = word
            case .number(let number) where number > 0 && number.isFinite:
                gamma = number
                gammaRule = "given"
            default: throw reader.problem("gamma", "scale, auto or a number above 0")
            }
            epsilon = try reader.number("epsilon", default: 0.1, in: 0...1e6)
            tolerance = try reader.number("tol", default: 1e-3, in: 1e-8...1)
            shrinking = try reader.flag("shrinking", default: true)
            cacheMegabytes = try reader.integer("cacheSize", default: 200, in: 1...4_096)
            probability = try reader.flag("probability", default: false)
            if task == .regression && values["probability"] != nil {
                throw reader.problem("probability", "only for classification")
            }
            try reader.finish(modelType: "svm")
        }
    }

    public var parameters: Parameters
    public var task: LearningTask
    public var standardizer: Standardizer
    public var columns: Int
    public var gamma: Double
    /// The support vectors (standardised), row after row, and their coefficients
    /// (α_i y_i, or α_i − α_i* for regression).
    public var supportVectors: [Double]
    public var coefficients: [Double]
    public var rho: Double
    /// Platt's P(y = 1 | f) = 1 / (1 + exp(A·f + B)).
    public var plattA: Double?
    public var plattB: Double?
    public var iterations: Int

    var kernel: Kernel { parameters.kernel == .linear ? .linear : .radialBasis(gamma: gamma) }

    public init(
        training data: LabelledData, task: LearningTask, parameters: Parameters, seed: UInt64,
        control: TrainingControl = .none
    ) throws {
        guard data.count >= 2 else { throw ServiceError(.invalidInput, "an SVM needs at least 2 training rows") }
        self.parameters = parameters
        self.task = task
        standardizer = Standardizer(fitting: data.features)
        let scaled = standardizer.apply(data.features)
        columns = scaled.columnCount
        switch parameters.gammaRule {
        case "given": gamma = parameters.gamma ?? 1
        case "auto": gamma = 1 / Double(columns)
        default:
            let values = scaled.values
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
            gamma = variance > 0 ? 1 / (Double(columns) * variance) : 1
        }
        control.report(.init(fraction: 0, stage: "solving"))
        let fitted = try Self.fit(
            scaled.values, rows: data.count, columns: columns, targets: data.targets, task: task,
            kernel: parameters.kernel == .linear ? .linear : .radialBasis(gamma: gamma), parameters: parameters,
            control: control)
        supportVectors = fitted.supportVectors
        coefficients = fitted.coefficients
        rho = fitted.rho
        iterations = fitted.iterations
        plattA = nil
        plattB = nil
        if task == .classification && parameters.probability {
            control.report(.init(fraction: 0.5, stage: "Platt scaling on 5-fold decision values"))
            let decisions = try Self.crossValidatedDecisions(
                scaled.values, rows: data.count, columns: columns, targets: data.targets, kernel: kernel,
                parameters: parameters, seed: seed, control: control)
            (plattA, plattB) = Self.fitSigmoid(decisions: decisions, targets: data.targets)
        }
        control.report(.init(fraction: 1, stage: "\(coefficients.count) support vectors, \(iterations) iterations"))
    }

    struct Fitted {
        var supportVectors: [Double]
        var coefficients: [Double]
        var rho: Double
        var iterations: Int
    }

    static func fit(
        _ values: [Double], rows: Int, columns: Int, targets: [Double], task: LearningTask, kernel: Kernel,
        parameters: Parameters, control: TrainingControl
    ) throws -> Fitted {
        var cache = KernelCache(
            data: values, rows: rows, columns: columns, kernel: kernel, megabytes: parameters.cacheMegabytes)
        let coefficients: [Double]
        let solution: SMOSolver.Solution
        do {
            switch task {
            case .classification:
                let signs = targets.map { $0 > 0.5 ? 1.0 : -1.0 }
                solution = try SMOSolver.solve(
                    cache: &cache, signs: signs, dataRows: Array(0..<rows),
                    linear: [Double](repeating: -1, count: rows),
                    bounds: [Double](repeating: parameters.cost, count: rows), tolerance: parameters.tolerance,
                    shrinking: parameters.shrinking, isCancelled: control.isCancelled)
                coefficients = (0..<rows).map { solution.alpha[$0] * signs[$0] }
            case .regression:
                solution = try SMOSolver.solve(
                    cache: &cache,
                    signs: [Double](repeating: 1, count: rows) + [Double](repeating: -1, count: rows),
                    dataRows: Array(0..<rows) + Array(0..<rows),
                    linear: targets.map { parameters.epsilon - $0 } + targets.map { parameters.epsilon + $0 },
                    bounds: [Double](repeating: parameters.cost, count: 2 * rows), tolerance: parameters.tolerance,
                    shrinking: parameters.shrinking, isCancelled: control.isCancelled)
                coefficients = (0..<rows).map { solution.alpha[$0] - solution.alpha[$0 + rows] }
            }
        } catch is CancellationError {
            throw ServiceError(.conflict, "the training was cancelled")
        }
        var vectors: [Double] = []
        var kept: [Double] = []
        for row in 0..<rows where coefficients[row] != 0 {
            vectors.append(contentsOf: values[(row * columns)..<((row + 1) * columns)])
            kept.append(coefficients[row])
        }
        return Fitted(supportVectors: vectors, coefficients: kept, rho: solution.rho, iterations: solution.iterations)
    }

    static func decision(
        _ fitted: Fitted, kernel: Kernel, columns: Int, row: ArraySlice<Double>
    ) -> Double {
        var total = -fitted.rho
        for (index, coefficient) in fitted.coefficients.enumerated() {
            total += coefficient * kernel.value(fitted.supportVectors, index, row, columns: columns)
        }
        return total
    }

    /// LIBSVM's svm_binary_svc_probability: decision values of each row from a model trained
    /// on the other four of five folds (rows shuffled by the seed).
    static func crossValidatedDecisions(
        _ values: [Double], rows: Int, columns: Int, targets: [Double], kernel: Kernel, parameters: Parameters,
        seed: UInt64, control: TrainingControl
    ) throws -> [Double] {
        var random = SeededRandom(seed: seed)
        var order = Array(0..<rows)
        for i in stride(from: rows - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        let folds = min(5, rows)
        var decisions = [Double](repeating: 0, count: rows)
        for fold in 0..<folds {
            try control.checkCancellation()
            let start = fold * rows / folds
            let end = (fold + 1) * rows / folds
            let held = Array(order[start..<end])
            let kept = Array(order[..<start] + order[end...])
            let keptTargets = kept.map { targets[$0] }
            let positives = keptTargets.filter { $0 > 0.5 }.count
            if positives == 0 || positives == kept.count {
                for row in held { decisions[row] = positives == 0 ? -1 : 1 }
                continue
            }
            var subset: [Double] = []
            subset.reserveCapacity(kept.count * columns)
            for row in kept { subset.append(contentsOf: values[(row * columns)..<((row + 1) * columns)]) }
            let fitted = try fit(
                subset, rows: kept.count, columns: columns, targets: keptTargets, task: .classification,
                kernel: kernel, parameters: parameters, control: control)
            for row in held {
                decisions[row] = decision(
                    fitted, kernel: kernel, columns: columns, row: values[(row * columns)..<((row + 1) * columns)])
            }
            control.report(.init(fraction: 0.5 + 0.1 * Double(fold + 1), stage: "Platt fold \(fold + 1) of \(folds)"))
        }
        return decisions
    }

    /// Platt's sigmoid by Newton's method with a backtracking line search (Lin, Lin and Weng
    /// 2007), on targets smoothed to (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2).
    static func fitSigmoid(decisions: [Double], targets: [Double]) -> (Double, Double) {
        let positives = Double(targets.filter { $0 > 0.5 }.count)
        let negatives = Double(targets.count) - positives
        let high = (positives + 1) / (positives + 2)
        let low = 1 / (negatives + 2)
        let t = targets.map { $0 > 0.5 ? high : low }
        var a = 0.0
        var b = log((negatives + 1) / (positives + 1))
        func objective(_ a: Double, _ b: Double) -> Double {
            var total = 0.0
            for (f, target) in zip(decisions, t) {
                let z = f * a + b
                total += z >= 0 ? target * z + log(1 + exp(-z)) : (target - 1) * z + log(1 + exp(z))
            }
            return total
        }
        var value = objective(a, b)
        for _ in 0..<100 {
            var h11 = 1e-12
            var h22 = 1e-12
            var h21 = 0.0
            var g1 = 0.0
            var g2 = 0.0
            for (f, target) in zip(decisions, t) {
                let z = f * a + b
                let (p, q) =
                    z >= 0 ? (exp(-z) / (1 + exp(-z)), 1 / (1 + exp(-z))) : (1 / (1 + exp(z)), exp(z) / (1 + exp(z)))
                let d2 = p * q
                h11 += f * f * d2
                h22 += d2
                h21 += f * d2
                let d1 = target - p
                g1 += f * d1
                g2 += d1
            }
            if abs(g1) < 1e-5 && abs(g2) < 1e-5 { break }
            let determinant = h11 * h22 - h21 * h21
            let da = -(h22 * g1 - h21 * g2) / determinant
            let db = -(-h21 * g1 + h11 * g2) / determinant
            let slope = g1 * da + g2 * db
            var step = 1.0
            while step >= 1e-10 {
                let candidate = objective(a + step * da, b + step * db)
                if candidate < value + 1e-4 * step * slope {
                    a += step * da
                    b += step * db
                    value = candidate
                    break
                }
                step /= 2
            }
            if step < 1e-10 { break }
        }
        return (a, b)
    }

    /// The decision value f(x) = Σ coef_i K(sv_i, x) − ρ of a raw (unstandardised) row.
    public func decision(_ row: ArraySlice<Double>) -> Double {
        let scaled = standardizer.apply(row)
        return Self.decision(
            Fitted(supportVectors: supportVectors, coefficients: coefficients, rho: rho, iterations: iterations),
            kernel: kernel, columns: columns, row: scaled[...])
    }

    /// The probability of class 1 (Platt's when fitted, else the logistic of the decision value,
    /// which orders rows the same way) or the predicted value.
    public func predict(_ row: ArraySlice<Double>) -> Double {
        let f = decision(row)
        guard task == .classification else { return f }
        if let plattA, let plattB {
            let z = f * plattA + plattB
            return z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z))
        }
        return 1 / (1 + exp(-f))
    }
}
