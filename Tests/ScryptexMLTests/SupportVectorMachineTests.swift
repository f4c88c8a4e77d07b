import Foundation
import ScryptexCore
import ScryptexQuant
import Testing

@testable import ScryptexML

@Suite("Support vector machine")
struct SupportVectorMachineTests {
    /// Two points at −1 and 1 (standardised they stay there): the maximum-margin line is x = 0,
    /// both points are support vectors with α = ½, and f(x) = x.
    @Test func theMaximumMarginOfTwoPointsByHand() throws {
        let data = KnownAnswers.data(["x"], [-1, 1], [0, 1])
        var parameters = SupportVectorMachine.Parameters()
        parameters.kernel = .linear
        parameters.cost = 100
        let svm = try SupportVectorMachine(training: data, task: .classification, parameters: parameters, seed: 1)
        #expect(svm.coefficients.count == 2)
        #expect(abs(svm.coefficients[0] + 0.5) < 1e-9 && abs(svm.coefficients[1] - 0.5) < 1e-9)
        #expect(abs(svm.rho) < 1e-9)
        #expect(abs(svm.decision([0.5]) - 0.5) < 1e-9 && abs(svm.decision([-3]) + 3) < 1e-9)
    }

    @Test func aLinearSVMSeparatesASeparableSetButNotXOR() throws {
        var parameters = SupportVectorMachine.Parameters()
        parameters.kernel = .linear
        let separable = try SupportVectorMachine(
            training: KnownAnswers.separable(rows: 400), task: .classification, parameters: parameters, seed: 1)
        #expect(KnownAnswers.accuracy(separable.decisionClass, on: KnownAnswers.separable(rows: 200, seed: 5)) == 1)
        let xor = try SupportVectorMachine(
            training: KnownAnswers.xor(rows: 400), task: .classification, parameters: parameters, seed: 1)
        // No line gets more than three quadrants of four right.
        #expect(KnownAnswers.accuracy(xor.decisionClass, on: KnownAnswers.xor(rows: 400, seed: 6)) < 0.8)
    }

    @Test func anRBFKernelSolvesXORWithAndWithoutShrinking() throws {
        var parameters = SupportVectorMachine.Parameters()
        parameters.cost = 10
        let train = KnownAnswers.xor(rows: 500)
        let test = KnownAnswers.xor(rows: 400, seed: 6)
        let shrunk = try SupportVectorMachine(training: train, task: .classification, parameters: parameters, seed: 1)
        #expect(KnownAnswers.accuracy(shrunk.decisionClass, on: test) > 0.95)
        parameters.shrinking = false
        let whole = try SupportVectorMachine(training: train, task: .classification, parameters: parameters, seed: 1)
        // The same optimum either way (to the solver's tolerance).
        #expect(abs(whole.rho - shrunk.rho) < 1e-2)
        #expect(KnownAnswers.accuracy(whole.decisionClass, on: test) > 0.95)
        // A tiny cache (2 rows) changes nothing but the speed.
        parameters.shrinking = true
        parameters.cacheMegabytes = 1
        let small = try SupportVectorMachine(training: train, task: .classification, parameters: parameters, seed: 1)
        #expect(small.coefficients == shrunk.coefficients)
    }

    /// Platt's sigmoid makes probabilities that order the rows as the decision values do and are
    /// calibrated: about 0.5 on the boundary, near 1 far on the positive side.
    @Test func probabilitiesComeFromPlattScaling() throws {
        var parameters = SupportVectorMachine.Parameters()
        parameters.probability = true
        parameters.kernel = .linear
        let svm = try SupportVectorMachine(
            training: KnownAnswers.separable(rows: 300, margin: 0), task: .classification, parameters: parameters,
            seed: 3)
        let a = try #require(svm.plattA)
        #expect(a < 0, "a larger decision value means a higher probability")
        #expect(svm.predict([1.5, 1.5]) > 0.95 && svm.predict([-1.5, -1.5]) < 0.05)
    }

    @Test func epsilonRegressionLearnsAKnownFunction() throws {
        var parameters = SupportVectorMachine.Parameters()
        parameters.cost = 10
        parameters.epsilon = 0.05
        let svm = try SupportVectorMachine(
            training: KnownAnswers.regression(rows: 800), task: .regression, parameters: parameters, seed: 1)
        let test = KnownAnswers.regression(rows: 300, seed: 8)
        let predictions = (0..<test.count).map { svm.predict(test.features.row($0)) }
        let metrics = RegressionMetrics(truth: test.targets, predictions: predictions, baselines: [])
        #expect(metrics.rSquared > 0.95, "R² \(metrics.rSquared)")
    }

    @Test func hyperparametersAreValidatedAndNamed() throws {
        let cases: [([String: ParameterValue], String)] = [
            (["kernel": .text("poly")], "field 'hyperparameters.kernel': one of linear, rbf"),
            (["C": .number(0)], "field 'hyperparameters.C': a number from"),
            (["gamma": .text("wide")], "field 'hyperparameters.gamma': scale, auto or a number above 0"),
            (["degree": .number(3)], "field 'hyperparameters.degree': not a hyperparameter of svm"),
        ]
        for (values, message) in cases {
            do {
                _ = try SupportVectorMachine.Parameters(values, task: .classification)
                Issue.record("accepted \(values)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
        }
        let example = try SupportVectorMachine.Parameters(
            ["kernel": .text("rbf"), "C": .number(1), "gamma": .text("scale")], task: .classification)
        #expect(example.kernel == .rbf && example.cost == 1 && example.gammaRule == "scale")
    }
}

extension SupportVectorMachine {
    /// 1 on the positive side of the boundary, else 0 (as LIBSVM predicts).
    func decisionClass(_ row: ArraySlice<Double>) -> Double { decision(row) > 0 ? 1 : 0 }
}
