import Foundation
import ScryptexCore
import ScryptexMarketData
import Testing

@testable import ScryptexQuant

@Suite("Parameter optimisation")
struct ParameterOptimizationTests {
    static func strategy(_ config: [String: ParameterValue] = [:]) -> QuantStrategy {
        QuantStrategy(
            id: UUID(), accountId: UUID(), name: "s", type: "mean_reversion",
            config: ["lookbackPeriod": .number(20), "zscoreThreshold": .number(2), "assets": .list(["ETH-USD"])]
                .merging(config) { $1 },
            riskParameters: [:], createdBy: "test", createdAt: Date(), updatedAt: Date())
    }

    static func request(_ json: String) throws -> OptimizationRequest {
        try OptimizationRequest.decode(Array(json.utf8))
    }

    @Test func aGridFindsTheBestCombinationAndWalkForwardTestsItOutOfSample() throws {
        let bars = try QuantReferenceTests.series("eth-usd-daily.csv", symbol: "ETH-USD")
        let search = try Self.request(
            #"{"parameters":{"lookbackPeriod":{"min":10,"max":30,"step":10},"zscoreThreshold":{"values":[1.5,2]}},"walkForward":{"folds":3,"trainFraction":0.7}}"#
        )
        let optimizer = try ParameterOptimizer(strategy: Self.strategy(), request: search)
        let result = try optimizer.run([bars])
        #expect(result.evaluated == 6 && result.invalid == 0)
        let best = try #require(result.best)
        #expect(result.ranking.allSatisfy { ($0.objective ?? -.infinity) <= (best.objective ?? -.infinity) })
        // The best candidate's figures are those of a plain backtest with its parameters.
        let direct = try BacktestEngine(
            strategy: try optimizer.parametersFor(best.parameters), settings: BacktestSettings()
        ).run([bars])
        #expect(abs(direct.metrics.returns.totalReturn - best.totalReturn) < 1e-12)
        #expect(direct.metrics.returns.sharpeRatio == best.objective)
        // Three windows; each tests after it trains, and the tests follow one another.
        let folds = try #require(result.walkForward)
        #expect(folds.count == 3)
        for (index, fold) in folds.enumerated() {
            #expect(fold.trainStart < fold.trainEnd && fold.trainEnd < fold.testStart && fold.testStart < fold.testEnd)
            if index > 0 { #expect(folds[index - 1].testEnd < fold.trainStart) }
        }
        let stitched = try #require(result.outOfSample)
        #expect(stitched.periods == folds.map(\.outOfSample.periods).reduce(0, +))
    }

    @Test func randomSearchIsReproducibleFromItsSeed() throws {
        let bars = try QuantReferenceTests.series("eth-usd-daily.csv", symbol: "ETH-USD")
        let search = try Self.request(
            #"{"method":"random","samples":5,"seed":7,"objective":"totalReturn","parameters":{"lookbackPeriod":{"min":5,"max":60,"step":1}}}"#
        )
        let first = try ParameterOptimizer(strategy: Self.strategy(), request: search).run([bars])
        let second = try ParameterOptimizer(strategy: Self.strategy(), request: search).run([bars])
        #expect(first == second && first.evaluated == 5)
    }

    @Test(arguments: [
        (
            #"{"parameters":{"lookback":{"values":[5]}}}"#,
            "field 'parameters.lookback': not a parameter of mean_reversion"
        ),
        (
            #"{"parameters":{"lookbackPeriod":{"min":2,"max":100000,"step":1}}}"#,
            "field 'parameters.lookbackPeriod': 99999 values"
        ),
        (#"{"parameters":{"lookbackPeriod":{"values":[5]}},"objective":"profit"}"#, "field 'objective': 'profit'"),
        (
            #"{"parameters":{"lookbackPeriod":{"values":[5]}},"walkForward":{"folds":1,"trainFraction":0.7}}"#,
            "field 'walkForward.folds'"
        ),
        (
            #"{"parameters":{"lookbackPeriod":{"values":[5]}},"settings":{"fees":3}}"#,
            "field 'settings.fees': not a backtest setting"
        ),
        (#"{"parameter":{}}"#, "field 'parameter': not an optimization setting"),
    ])
    func badSearchesAreNamed(body: String, message: String) {
        let error = #expect(throws: ServiceError.self) {
            try ParameterOptimizer(strategy: Self.strategy(), request: try Self.request(body))
        }
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error?.message))")
    }
}
