import Foundation
import ScryptexCore
import Testing

@testable import ScryptexQuant

/// Each method against its closed form or defining property.
@Suite("Portfolio optimisation")
struct PortfolioOptimizationTests {
    // Volatilities 20 %, 30 %, 50 %; correlations 0.3, 0.1, 0.4.
    static let covariance: [[Double]] = [
        [0.04, 0.3 * 0.2 * 0.3, 0.1 * 0.2 * 0.5],
        [0.3 * 0.2 * 0.3, 0.09, 0.4 * 0.3 * 0.5],
        [0.1 * 0.2 * 0.5, 0.4 * 0.3 * 0.5, 0.25],
    ]
    static let mean = [0.08, 0.12, 0.20]

    static func optimizer(lower: Double = 0, upper: Double = 1, riskFree: Double = 0.02) throws -> PortfolioOptimizer {
        try PortfolioOptimizer(
            assets: ["A", "B", "C"], mean: mean, covariance: covariance, lower: [lower, lower, lower],
            upper: [upper, upper, upper], riskFreeRate: riskFree)
    }

    /// The inverse of a 3×3 matrix by cofactors.
    static func inverse(_ m: [[Double]]) -> [[Double]] {
        let det =
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        var result = [[Double]](repeating: [0, 0, 0], count: 3)
        for i in 0..<3 {
            for j in 0..<3 {
                let rows = [0, 1, 2].filter { $0 != j }
                let columns = [0, 1, 2].filter { $0 != i }
                let minor =
                    m[rows[0]][columns[0]] * m[rows[1]][columns[1]] - m[rows[0]][columns[1]] * m[rows[1]][columns[0]]
                result[i][j] = ((i + j) % 2 == 0 ? 1 : -1) * minor / det
            }
        }
        return result
    }

    static func normalised(_ vector: [Double]) -> [Double] {
        let total = vector.reduce(0, +)
        return vector.map { $0 / total }
    }

    @Test func minimumVarianceIsTheInverseCovarianceTimesOnesWhenNoBoundBinds() throws {
        let inverse = Self.inverse(Self.covariance)
        let expected = Self.normalised(inverse.map { $0.reduce(0, +) })
        let found = try Self.optimizer().optimize(.minimumVariance)
        for (index, asset) in ["A", "B", "C"].enumerated() {
            #expect(abs(found.weights[asset]! - expected[index]) < 1e-9, "\(asset)")
        }
    }

    @Test func maximumSharpeIsTheTangencyPortfolio() throws {
        let inverse = Self.inverse(Self.covariance)
        let excess = Self.mean.map { $0 - 0.02 }
        let expected = Self.normalised(inverse.map { row in zip(row, excess).map(*).reduce(0, +) })
        #expect(expected.allSatisfy { $0 > 0 }, "the tangency weights are inside the long-only bounds")
        let found = try Self.optimizer().optimize(.maximumSharpe)
        for (index, asset) in ["A", "B", "C"].enumerated() {
            #expect(abs(found.weights[asset]! - expected[index]) < 1e-6, "\(asset): \(found.weights[asset]!)")
        }
    }

    @Test func boundsBindAndImpossibleBoundsAreNamed() throws {
        let capped = try Self.optimizer(upper: 0.4).optimize(.minimumVariance)
        #expect(capped.weights.values.allSatisfy { $0 <= 0.4 + 1e-12 })
        #expect(abs(capped.weights.values.reduce(0, +) - 1) < 1e-12)
        let error = #expect(throws: ServiceError.self) { try Self.optimizer(upper: 0.3) }
        #expect(error?.message.contains("no weights within them add up to 1") == true)
        let parity = #expect(throws: ServiceError.self) { try Self.optimizer(upper: 0.4).optimize(.riskParity) }
        #expect(parity?.message.contains("does not take bounds") == true)
    }

    @Test func riskParityEqualisesRiskContributions() throws {
        let found = try Self.optimizer().optimize(.riskParity)
        for share in found.riskContributions.values { #expect(abs(share - 1.0 / 3) < 1e-10) }
        #expect(abs(found.weights.values.reduce(0, +) - 1) < 1e-12)
    }

    @Test func hierarchicalRiskParityOfTwoAssetsIsInverseVariance() throws {
        let two = try PortfolioOptimizer(
            assets: ["A", "B"], mean: [0.1, 0.1], covariance: [[0.04, 0.01], [0.01, 0.09]], lower: [0, 0],
            upper: [1, 1])
        let found = try two.optimize(.hierarchicalRiskParity)
        #expect(abs(found.weights["A"]! - 0.09 / 0.13) < 1e-12)
        // Four assets in two tight pairs: each pair is kept together and gets half the risk split.
        let blocks: [[Double]] = [
            [0.04, 0.036, 0.0, 0.0], [0.036, 0.04, 0.0, 0.0], [0.0, 0.0, 0.09, 0.081], [0.0, 0.0, 0.081, 0.09],
        ]
        let four = try PortfolioOptimizer(
            assets: ["A", "C", "B", "D"], mean: [0.1, 0.1, 0.1, 0.1],
            covariance: [
                [blocks[0][0], blocks[0][2], blocks[0][1], blocks[0][3]],
                [blocks[2][0], blocks[2][2], blocks[2][1], blocks[2][3]],
                [blocks[1][0], blocks[1][2], blocks[1][1], blocks[1][3]],
                [blocks[3][0], blocks[3][2], blocks[3][1], blocks[3][3]],
            ], lower: [0, 0, 0, 0], upper: [1, 1, 1, 1])
        let weights = try four.optimize(.hierarchicalRiskParity).weights
        #expect(abs(weights["A"]! - weights["B"]!) < 1e-12 && abs(weights["C"]! - weights["D"]!) < 1e-12)
        // Pair variances (inverse-variance halves): 0.038 and 0.0855; A's pair takes 0.0855/0.1235.
        #expect(abs(weights["A"]! + weights["B"]! - 0.0855 / 0.1235) < 1e-12)
    }

    @Test func theFrontierRisesFromTheMinimumVariancePortfolio() throws {
        let optimizer = try Self.optimizer()
        let frontier = optimizer.frontier(points: 12)
        let minimum = try optimizer.optimize(.minimumVariance)
        #expect(abs(frontier[0].volatility - minimum.volatility) < 1e-12)
        for index in 1..<frontier.count {
            #expect(frontier[index].expectedReturn >= frontier[index - 1].expectedReturn - 1e-12)
            #expect(frontier[index].volatility >= frontier[index - 1].volatility - 1e-12)
        }
        #expect(abs(frontier.last!.expectedReturn - 0.20) < 1e-3, "the last point is (nearly) all in C")
    }
}
