import Foundation
import ScryptexCore
import ScryptexQuant
import Synchronization
import Testing

@testable import ScryptexML

@Suite("Random forest")
struct RandomForestTests {
    @Test func treesSolveXORAndTheForestIsTheSameOnAnyNumberOfThreads() throws {
        let train = KnownAnswers.xor(rows: 600)
        let test = KnownAnswers.xor(rows: 300, seed: 9)
        var parameters = RandomForest.Parameters()
        parameters.trees = 30
        let forest = try RandomForest(training: train, task: .classification, parameters: parameters, seed: 42)
        #expect(KnownAnswers.accuracy(forest.predict, on: test) > 0.95)
        let alone = try RandomForest(
            training: train, task: .classification, parameters: parameters, seed: 42, workers: 1)
        #expect(alone == forest, "deterministic for a seed, whatever the threads")
        let other = try RandomForest(training: train, task: .classification, parameters: parameters, seed: 43)
        #expect(other != forest)
        #expect(try #require(forest.outOfBagScore) > 0.9)
        #expect(abs(forest.featureImportances.reduce(0, +) - 1) < 1e-12)
    }

    @Test func aSingleFullTreeFitsItsTrainingRowsExactly() throws {
        let train = KnownAnswers.separable(rows: 200)
        var parameters = RandomForest.Parameters()
        parameters.trees = 1
        parameters.bootstrap = false
        parameters.outOfBagScore = false
        parameters.maximumFeatures = "all"
        for criterion in [SplitCriterion.gini, .entropy] {
            parameters.criterion = criterion
            let forest = try RandomForest(training: train, task: .classification, parameters: parameters, seed: 1)
            #expect(KnownAnswers.accuracy(forest.predict, on: train) == 1)
            #expect(forest.outOfBagScore == nil)
        }
        parameters.maximumDepth = 1
        let stump = try RandomForest(training: train, task: .classification, parameters: parameters, seed: 1)
        #expect(stump.trees[0].nodeCount == 3 && stump.trees[0].depth == 1)
    }

    /// Importances find the features that matter: x₁ (linear) and x₂ (quadratic) over the
    /// weaker x₃, and a pure-noise column last.
    @Test func regressionLearnsAKnownFunction() throws {
        let train = KnownAnswers.regression(rows: 1_500)
        let test = KnownAnswers.regression(rows: 500, seed: 8)
        var parameters = RandomForest.Parameters()
        parameters.trees = 50
        parameters.criterion = .squaredError
        let forest = try RandomForest(training: train, task: .regression, parameters: parameters, seed: 7)
        let predictions = (0..<test.count).map { forest.predict(test.features.row($0)) }
        let metrics = RegressionMetrics(truth: test.targets, predictions: predictions, baselines: [])
        #expect(metrics.rSquared > 0.9, "R² \(metrics.rSquared)")
        #expect(forest.featureImportances[0] > forest.featureImportances[2])
        #expect(try #require(forest.outOfBagScore) > 0.85)
    }

    @Test func hyperparametersAreValidatedAndNamed() throws {
        let cases: [([String: ParameterValue], String)] = [
            (["nEstimators": .number(0)], "field 'hyperparameters.nEstimators': a whole number from 1 to 2000"),
            (
                ["criterion": .text("squared_error")],
                "field 'hyperparameters.criterion': classification splits on gini or entropy"
            ),
            (
                ["maxFeatures": .text("half")],
                "field 'hyperparameters.maxFeatures': sqrt, log2, all, a count or a fraction above 0"
            ),
            (["trees": .number(10)], "field 'hyperparameters.trees': not a hyperparameter of random_forest"),
            (
                ["bootstrap": .flag(false), "oobScore": .flag(true)],
                "field 'hyperparameters.oobScore': needs bootstrap"
            ),
        ]
        for (values, message) in cases {
            do {
                _ = try RandomForest.Parameters(values, task: .classification)
                Issue.record("accepted \(values)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
        }
        let parsed = try RandomForest.Parameters(
            ["nEstimators": .number(200), "maxFeatures": .number(0.5)], task: .classification)
        #expect(parsed.trees == 200 && parsed.featuresPerSplit(columns: 10, task: .classification) == 5)
        #expect(RandomForest.Parameters().featuresPerSplit(columns: 10, task: .classification) == 3)
        // A count past the features is all of them, however large.
        let huge = try RandomForest.Parameters(["maxFeatures": .number(1e300)], task: .classification)
        #expect(huge.featuresPerSplit(columns: 10, task: .classification) == 10)
    }

    /// A cancelled run stops at the next tree and throws; nothing is returned half-grown.
    @Test func cancellationStopsTheTrees() throws {
        let grown = Atomic<Int>(0)
        let control = TrainingControl(
            report: { _ in grown.add(1, ordering: .relaxed) }, isCancelled: { grown.load(ordering: .relaxed) >= 3 })
        var parameters = RandomForest.Parameters()
        parameters.trees = 200
        #expect(throws: ServiceError.self) {
            try RandomForest(
                training: KnownAnswers.xor(rows: 300), task: .classification, parameters: parameters, seed: 1,
                control: control)
        }
        #expect(grown.load(ordering: .relaxed) < 10)
    }
}
