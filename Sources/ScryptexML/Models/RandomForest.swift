import Foundation
public import ScryptexCore
public import ScryptexQuant
import Synchronization

/// Breiman's random forest of CART trees, as scikit-learn grows it: each tree on a bootstrap
/// sample, each split among a random subset of the features; classification averages the
/// trees' leaf probabilities, regression their means.
public struct RandomForest: Sendable, Codable, Equatable {
    public struct Parameters: Sendable, Codable, Equatable {
        public var trees = 100
        public var criterion = SplitCriterion.gini
        public var maximumDepth: Int?
        public var minimumSamplesSplit = 2
        public var minimumSamplesLeaf = 1
        /// "sqrt" (classification default), "log2", "all" (regression default), or a count or a
        /// fraction of the features.
        public var maximumFeatures: String?
        public var bootstrap = true
        public var outOfBagScore = true

        public init() {}

        /// From a request's `hyperparameters`: `nEstimators`, `criterion`, `maxDepth`,
        /// `minSamplesSplit`, `minSamplesLeaf`, `maxFeatures`, `bootstrap`, `oobScore`.
        public init(
            _ values: [String: ParameterValue], task: LearningTask, field: String = "hyperparameters"
        )
            throws
        {
            var reader = HyperparameterReader(values, field: field)
            trees = try reader.integer("nEstimators", default: 100, in: 1...2_000)
            criterion = try reader.choice(
                "criterion", default: task == .classification ? SplitCriterion.gini : .squaredError)
            if (task == .regression) != (criterion == .squaredError) {
                throw reader.problem(
                    "criterion",
                    task == .regression
                        ? "regression splits on squared_error" : "classification splits on gini or entropy")
            }
            maximumDepth = try reader.optionalInteger("maxDepth", in: 1...200)
            minimumSamplesSplit = try reader.integer("minSamplesSplit", default: 2, in: 2...100_000)
            minimumSamplesLeaf = try reader.integer("minSamplesLeaf", default: 1, in: 1...100_000)
            switch reader.raw("maxFeatures") {
            case nil: maximumFeatures = nil
            case .text(let word) where ["sqrt", "log2", "all"].contains(word): maximumFeatures = word
            case .number(let number) where number > 0: maximumFeatures = String(number)
            default: throw reader.problem("maxFeatures", "sqrt, log2, all, a count or a fraction above 0")
            }
            bootstrap = try reader.flag("bootstrap", default: true)
            outOfBagScore = try reader.flag("oobScore", default: bootstrap)
            if outOfBagScore && !bootstrap {
                throw reader.problem("oobScore", "needs bootstrap: without it no row is out of the bag")
            }
            try reader.finish(modelType: "random_forest")
        }

        /// Features tried at each split, for `columns` features.
        func featuresPerSplit(columns: Int, task: LearningTask) -> Int {
            let word = maximumFeatures ?? (task == .classification ? "sqrt" : "all")
            let count: Int
            switch word {
            case "sqrt": count = Int(Double(columns).squareRoot())
            case "log2": count = Int(log2(Double(columns)))
            case "all": count = columns
            default:
                let number = Double(word) ?? 1
                count = number < 1 ? Int(number * Double(columns)) : Int(min(number, Double(columns)))
            }
            return min(columns, max(1, count))
        }
    }

    public var parameters: Parameters
    public var task: LearningTask
    public var classCount: Int
    public var trees: [DecisionTree]
    /// Mean decrease in impurity per feature, averaged over the trees and scaled to add up to 1.
    public var featureImportances: [Double]
    /// Accuracy (classification) or R² (regression) of each training row predicted by the
    /// trees that did not see it; nil without bootstrap or when no row was left out.
    public var outOfBagScore: Double?

    /// Grows the forest on `workers` threads; trees are seeded from `seed` and their index, so
    /// the forest is the same whatever the number of workers.
    public init(
        training data: LabelledData, task: LearningTask, parameters: Parameters, seed: UInt64,
        workers: Int = ComputeThreads.cores, control: TrainingControl = .none
    ) throws {
        let rows = data.count
        guard rows >= 2 else { throw ServiceError(.invalidInput, "a random forest needs at least 2 training rows") }
        self.parameters = parameters
        self.task = task
        classCount = task == .classification ? 2 : 1
        let columns = data.features.columnCount
        let grower = TreeGrower(
            data: data.features.values, columns: columns, targets: data.targets, classCount: classCount,
            criterion: parameters.criterion, maximumDepth: parameters.maximumDepth ?? Int.max,
            minimumSamplesSplit: parameters.minimumSamplesSplit, minimumSamplesLeaf: parameters.minimumSamplesLeaf,
            featuresPerSplit: parameters.featuresPerSplit(columns: columns, task: task))
        let count = parameters.trees
        let bootstrap = parameters.bootstrap
        struct Grown: Sendable {
            var tree: DecisionTree
            var importances: [Double]
            var outOfBag: [Int32]
        }
        let results = Mutex<[Grown?]>(Array(repeating: nil, count: count))
        let done = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        let workerCount = max(1, min(workers, count))
        ComputeThreads.runBlocking(workers: workerCount) { worker in
            for index in stride(from: worker, to: count, by: workerCount) {
                if failed.load(ordering: .relaxed) { return }
                if control.isCancelled() {
                    failed.store(true, ordering: .relaxed)
                    return
                }
                var random = SeededRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
                var weights = [Double](repeating: 0, count: rows)
                if bootstrap {
                    for _ in 0..<rows { weights[Int(random.next() % UInt64(rows))] += 1 }
                } else {
                    for row in 0..<rows { weights[row] = 1 }
                }
                let drawn = (0..<rows).filter { weights[$0] > 0 }.map(Int32.init)
                let outOfBag = bootstrap ? (0..<rows).filter { weights[$0] == 0 }.map(Int32.init) : []
                var importances = [Double](repeating: 0, count: columns)
                let tree = grower.grow(rows: drawn, weights: weights, random: &random, importances: &importances)
                let total = importances.reduce(0, +)
                if total > 0 { importances = importances.map { $0 / total } }
                results.withLock { $0[index] = Grown(tree: tree, importances: importances, outOfBag: outOfBag) }
                let finished = done.add(1, ordering: .relaxed).newValue
                control.report(.init(fraction: Double(finished) / Double(count), stage: "tree \(finished) of \(count)"))
            }
        }
        try control.checkCancellation()
        let grown = results.withLock { $0 }.compactMap { $0 }
        precondition(grown.count == count, "every tree was grown")
        trees = grown.map(\.tree)
        var importances = [Double](repeating: 0, count: columns)
        for one in grown { for f in 0..<columns { importances[f] += one.importances[f] / Double(count) } }
        let total = importances.reduce(0, +)
        featureImportances = total > 0 ? importances.map { $0 / total } : importances

        // Out-of-bag predictions: each row by the trees that did not draw it.
        outOfBagScore = nil
        if parameters.outOfBagScore && bootstrap {
            var sums = [Double](repeating: 0, count: rows * classCount)
            var votes = [Int](repeating: 0, count: rows)
            for one in grown {
                for row in one.outOfBag {
                    let outputs = one.tree.outputs(for: data.features.row(Int(row)))
                    for (k, value) in outputs.enumerated() { sums[Int(row) * classCount + k] += value }
                    votes[Int(row)] += 1
                }
            }
            let covered = (0..<rows).filter { votes[$0] > 0 }
            if !covered.isEmpty {
                if task == .classification {
                    let hits = covered.filter { row in
                        let predicted = sums[row * 2 + 1] > sums[row * 2] ? 1.0 : 0.0
                        return predicted == data.targets[row]
                    }.count
                    outOfBagScore = Double(hits) / Double(covered.count)
                } else {
                    outOfBagScore =
                        RegressionMetrics.errors(
                            covered.map { data.targets[$0] }, covered.map { sums[$0] / Double(votes[$0]) }
                        ).2
                }
            }
        }
    }

    /// The probability of class 1 (classification) or the predicted value (regression).
    public func predict(_ row: ArraySlice<Double>) -> Double {
        var total = 0.0
        for tree in trees {
            let outputs = tree.outputs(for: row)
            total += task == .classification ? outputs[outputs.startIndex + 1] : outputs[outputs.startIndex]
        }
        return total / Double(trees.count)
    }
}
