import Foundation
import ScryptexCore
import ScryptexMarketData
import Synchronization
import Testing

@testable import ScryptexMarketMaking

@Suite("Sweeps, hedging and netting")
struct SweepAndHedgeTests {
    static func market() -> Market { QuoteEngineTests.market }

    @Test func aSweepReplaysEveryCombinationAndRanksThem() throws {
        var synthetic = SyntheticMarket()
        synthetic.bars = 1_500
        synthetic.timeframe = .oneHour
        let bars = try synthetic.generate()
        let base = QuotingParameters(
            model: .avellanedaStoikov(.init(gamma: 0.1, kappa: 1, horizon: .infinite, horizonSeconds: 3_600)),
            orderSize: 1, minimumSpread: 0.2, inventoryLimit: 10)
        let done = Mutex<[Int]>([])
        let result = try ParameterSweep.run(
            bars: bars, market: Self.market(), base: base, grid: ["gamma": [0.01, 0.1, 1], "kappa": [0.5, 2]],
            fillModel: FillModel(volumeShare: 0.5),
            control: .init(report: { finished, _ in done.withLock { $0.append(finished) } }))
        #expect(result.evaluated == 6 && Set(result.ranking.map { $0.parameters }).count == 6)
        #expect(done.withLock { $0.sorted() } == [1, 2, 3, 4, 5, 6])
        let sharpes = result.ranking.compactMap(\.sharpeRatio)
        #expect(sharpes == sharpes.sorted(by: >), "ranked by risk-adjusted P&L")
        // Each entry is exactly what a single replay of its parameters gives.
        let best = try #require(result.ranking.first)
        var parameters = base
        for (key, value) in best.parameters { try ParameterSweep.apply(key, value, to: &parameters) }
        let single = try MarketMakingSimulation.run(
            bars: bars, market: Self.market(), parameters: parameters, fillModel: FillModel(volumeShare: 0.5))
        #expect(single.totalPnL == best.totalPnL && single.sharpeRatio == best.sharpeRatio)
        for (grid, message) in [
            (["levels": [1.0, 2]], "field 'grid.levels': not a parameter a avellaneda_stoikov sweep varies"),
            (["gamma": [-1.0]], "field 'grid.gamma': above 0"),
            (
                ["gamma": Array(repeating: 0.1, count: 30), "kappa": Array(repeating: 1, count: 30)],
                "field 'grid': 900 combinations"
            ),
        ] {
            #expect(throws: ServiceError.self, "\(message)") { try ParameterSweep.combinations(base, grid: grid) }
        }
    }

    /// A level count no ladder has is refused before it becomes an integer.
    @Test func aSweepRefusesImpossibleLevelCounts() {
        let ladder = QuotingParameters(
            model: .ladder(.init(levels: 1, spreadMode: .fixed, spread: 2, levelSpacing: 0)), orderSize: 1,
            inventoryLimit: 10)
        for value in [1e300, -3, 2.5] {
            #expect(throws: ServiceError.self) { try ParameterSweep.combinations(ladder, grid: ["levels": [value]]) }
        }
    }

    /// Threshold 5, ratio 0.5, at most 2: exposure 9 → sell 2 (half of 4); exposure −6 → buy 0.5.
    @Test func hedgeOrdersByHand() throws {
        let hedge = try HedgePolicy(
            market: Market(
                symbol: "ETH-PERP", venue: "hedge", tickSize: ExactDecimal("0.1")!, lotSize: ExactDecimal("0.01")!),
            threshold: 5, ratio: 0.5, maximumOrderSize: 2
        ).validated()
        #expect(hedge.order(inventory: 4, hedgePosition: 0) == nil)
        let sell = try #require(hedge.order(inventory: 10, hedgePosition: -1))
        #expect(sell.side == .sell && sell.quantity == ExactDecimal("2")! && sell.exposureAfter == 7)
        let buy = try #require(hedge.order(inventory: -6, hedgePosition: 0))
        #expect(buy.side == .buy && buy.quantity == ExactDecimal("0.5")!)
        #expect(throws: ServiceError.self) {
            try HedgePolicy(market: hedge.market, threshold: 0, maximumOrderSize: 1).validated()
        }
    }

    @Test func inventoryIsNettedAcrossVenuesOfTheSameAsset() {
        let a = Market(
            symbol: "ETH/USDC", venue: "one", tickSize: ExactDecimal("0.01")!, lotSize: ExactDecimal("0.001")!)
        let b = Market(
            symbol: "ETH/USDC", venue: "two", tickSize: ExactDecimal("0.01")!, lotSize: ExactDecimal("0.001")!)
        let c = Market(
            symbol: "BTC/USDC", venue: "one", tickSize: ExactDecimal("0.1")!, lotSize: ExactDecimal("0.0001")!)
        let positions = [a.key: 2.0, b.key: -0.5, c.key: 1]
        let netted = InventoryNetting.quotedInventory(positions: positions, markets: [a, b, c], netting: true)
        #expect(netted[a.key] == 1.5 && netted[b.key] == 1.5 && netted[c.key] == 1)
        let separate = InventoryNetting.quotedInventory(positions: positions, markets: [a, b, c], netting: false)
        #expect(separate[a.key] == 2 && separate[b.key] == -0.5)
    }
}
