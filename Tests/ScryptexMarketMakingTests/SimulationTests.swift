import Foundation
import ScryptexCore
import ScryptexMarketData
import ScryptexTestSupport
import Testing

@testable import ScryptexMarketMaking

@Suite("Market-making simulation")
struct SimulationTests {
    static let market = QuoteEngineTests.market

    static func ladder(spread: Double = 2) -> QuotingParameters {
        QuotingParameters(
            model: .ladder(.init(levels: 1, spreadMode: .fixed, spread: spread, levelSpacing: 0)), orderSize: 1,
            inventoryLimit: 10)
    }

    static func bars(_ rows: [(Double, Double, Double, Double, Double)]) -> BarSeries {
        var series = BarSeries(symbol: "ETH/USDC", timeframe: .oneHour)
        for (index, row) in rows.enumerated() {
            series.append(
                Bar(
                    time: 1_700_000_000 + Int64(index) * 3_600, open: row.0, high: row.1, low: row.2, close: row.3,
                    volume: row.4))
        }
        return series
    }

    /// Quotes 99/101 from the close of 100: bar 1 trades down to 98.5 (bought 1 at 99); quotes
    /// 98/100 from 99: bar 2 trades up to 100.2 (sold 1 at 100); quotes 99/101: bar 3 fills nothing.
    @Test func aReplayByHand() throws {
        let bars = Self.bars([
            (100, 100, 100, 100, 10), (100, 100.5, 98.5, 99, 10), (99, 100.2, 98.5, 100, 10),
            (100, 100.5, 99.5, 100, 10),
        ])
        let report = try MarketMakingSimulation.run(
            bars: bars, market: Self.market, parameters: Self.ladder(),
            fillModel: FillModel(volumeShare: 1, feeBasisPoints: ExactDecimal(10)))
        #expect(report.fills == 2 && report.ordersPosted == 6 && abs(report.fillRate - 2.0 / 6) < 1e-12)
        // 1 earned, less 10 bps of 99 and of 100.
        #expect(report.realisedPnL == ExactDecimal("0.801")!, "\(report.realisedPnL)")
        #expect(report.finalInventory.isZero && report.totalPnL == report.realisedPnL)
        #expect(report.spreadCaptured == ExactDecimal(2), "one below the mid, one above")
        #expect(report.timeInMarket == 1 && report.bars == 4)
        // A bar that only touches the bid does not fill it unless asked.
        let touching = Self.bars([(100, 100, 100, 100, 10), (100, 100, 99, 99.5, 10), (99.5, 99.5, 99.5, 99.5, 10)])
        #expect(
            try MarketMakingSimulation.run(bars: touching, market: Self.market, parameters: Self.ladder()).fills == 0)
        #expect(
            try MarketMakingSimulation.run(
                bars: touching, market: Self.market, parameters: Self.ladder(), fillModel: FillModel(fillsAtTouch: true)
            ).fills == 1)
    }

    /// A bar with volume 5 and a 10 % share fills 0.5 of a 1.0 bid.
    @Test func partialFillsTakeTheVolumeShare() throws {
        let bars = Self.bars([(100, 100, 100, 100, 5), (100, 100, 98, 99, 5), (99, 99, 99, 99, 5)])
        let report = try MarketMakingSimulation.run(
            bars: bars, market: Self.market, parameters: Self.ladder(), fillModel: FillModel(volumeShare: 0.1))
        #expect(report.finalInventory == ExactDecimal("0.5")!)
    }

    /// Both models on the real hourly file, side by side.
    @Test func bothModelsReplayTheRealHourlyFile() throws {
        let bytes = Array(
            try Data(contentsOf: URL(fileURLWithPath: SharedData.path("market/eth-usdt-hourly-binance.csv"))))
        let bars = try CSVBarReader.series(bytes, symbol: "ETH/USDT", timeframe: .oneHour)
        let stoikov = QuotingParameters(
            model: .avellanedaStoikov(
                .init(gamma: 0.05, kappa: 0.5, horizon: .infinite, horizonSeconds: 3_600, eta: 0.1)),
            orderSize: 1, minimumSpread: 0.5, inventoryLimit: 20)
        let fixed = QuotingParameters(
            model: .ladder(
                .init(levels: 3, spreadMode: .fixed, spread: 4, levelSpacing: 2, sizeIncrement: 0.5, inventorySkew: 0.5)
            ),
            orderSize: 1, inventoryLimit: 20)
        let model = FillModel(volumeShare: 0.05, feeBasisPoints: ExactDecimal(-1))
        for parameters in [stoikov, fixed] {
            let report = try MarketMakingSimulation.run(
                bars: bars, market: Self.market, parameters: parameters, fillModel: model)
            #expect(report.bars == bars.count && report.path.count <= MarketMakingSimulation.pathPoints + 1)
            #expect(report.fills > 100 && report.fillRate > 0 && report.fillRate < 1, "\(report.model)")
            #expect(
                report.largestInventory <= 20 + 2.5,
                "the limit stops the growing side (one bar's fills past it at most)")
            #expect(report.totalPnL.doubleValue.isFinite && report.maxDrawdown >= 0)
            #expect(report.fees.isNegative, "a maker rebate")
        }
    }
}
