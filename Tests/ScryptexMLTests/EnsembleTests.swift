import Foundation
import ScryptexCore
import ScryptexQuant
import Testing

@testable import ScryptexML

@Suite("Ensembles")
struct EnsembleTests {
    static let quick: [String: [String: ParameterValue]] = ["random_forest": ["nEstimators": .number(20)]]

    @Test func softVotingAveragesTheMembersProbabilities() throws {
        let train = KnownAnswers.xor(rows: 400)
        let test = KnownAnswers.xor(rows: 300, seed: 6)
        let parameters = try Ensemble.Parameters(
            ["members": .list(["random_forest", "svm"]), "weights": .numbers([3, 1])], nested: Self.quick,
            task: .classification)
        let ensemble = try Ensemble(training: train, task: .classification, parameters: parameters, seed: 1)
        let predictions = ensemble.predictions(for: test.features)
        let members = ensemble.members.map { $0.predictions(for: test.features) }
        for row in 0..<test.count {
            #expect(abs(predictions[row] - (3 * members[0][row] + members[1][row]) / 4) < 1e-12)
        }
        let hits = (0..<test.count).filter { (predictions[$0] >= 0.5 ? 1.0 : 0.0) == test.targets[$0] }.count
        #expect(Double(hits) / Double(test.count) > 0.95)
        // The SVM member votes with Platt's probabilities.
        guard case .svm(let svm) = ensemble.members[1] else { Issue.record("not an SVM"); return }
        #expect(svm.plattA != nil)
    }

    /// Stacking learns to trust the member that is right: on XOR, the forest and the RBF SVM
    /// over a linear SVM that cannot separate it.
    @Test func stackingWeighsTheMembersFromOutOfFoldPredictions() throws {
        let train = KnownAnswers.xor(rows: 500)
        let test = KnownAnswers.xor(rows: 300, seed: 6)
        var nested = Self.quick
        nested["svm"] = ["kernel": .text("linear")]
        let parameters = try Ensemble.Parameters(
            ["method": .text("stacking"), "members": .list(["random_forest", "svm"]), "folds": .number(3)],
            nested: nested, task: .classification)
        let ensemble = try Ensemble(training: train, task: .classification, parameters: parameters, seed: 2)
        #expect(try #require(ensemble.metaWeights).count == 2 && ensemble.metaBias != nil)
        func accuracy(_ predictions: [Double]) -> Double {
            Double((0..<test.count).filter { (predictions[$0] >= 0.5 ? 1.0 : 0.0) == test.targets[$0] }.count)
                / Double(test.count)
        }
        let stacked = accuracy(ensemble.predictions(for: test.features))
        let linear = accuracy(ensemble.members[1].predictions(for: test.features))
        // Equal votes would drag the forest towards the coin-flipping linear SVM; the combiner
        // learnt not to.
        #expect(stacked > 0.93 && linear < 0.8, "stacked \(stacked), linear SVM \(linear)")
    }

    @Test func aLeastSquaresCombinerRecoversKnownWeights() {
        var random = SeededRandom(seed: 5)
        let a = (0..<200).map { _ in random.nextNormal() }
        let b = (0..<200).map { _ in random.nextNormal() }
        let targets = (0..<200).map { 0.5 + 2 * a[$0] - b[$0] }
        let fitted = Ensemble.fitCombiner(inputs: [a, b], targets: targets, task: .regression)
        #expect(abs(fitted.bias - 0.5) < 1e-6 && abs(fitted.weights[0] - 2) < 1e-4 && abs(fitted.weights[1] + 1) < 1e-4)
    }

    @Test func badEnsemblesAreNamed() {
        let cases: [([String: ParameterValue], [String: [String: ParameterValue]], String)] = [
            (["members": .list(["random_forest", "ensemble"])], [:], "field 'hyperparameters.members': 'ensemble'"),
            (["members": .list(["svm"])], [:], "field 'hyperparameters.members': 2 to 6 models"),
            (["weights": .numbers([1, 1])], [:], "field 'hyperparameters.weights': one number"),
            ([:], ["svm": ["kernel": .text("cubic")]], "field 'hyperparameters.svm.kernel'"),
            (
                ["members": .list(["random_forest", "svm"])], ["lstm": [:]],
                "field 'hyperparameters.lstm': not a member"
            ),
        ]
        for (values, nested, message) in cases {
            do {
                _ = try Ensemble.Parameters(values, nested: nested, task: .classification)
                Issue.record("accepted \(values) \(nested)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}
