import Foundation
import ScryptexCore
import ScryptexMarketMaking

/// Quote latency in process: `count` quotes of one market (Avellaneda-Stoikov, then a 5-level
/// ladder), each timed on its own, the mid walking and the inventory changing between them,
/// the volatility estimate updated before each quote (part of the work timed).
enum QuoteBench {
    static func run(count: Int) throws {
        let market = Market(
            symbol: "ETH/USDC", venue: "bench", tickSize: ExactDecimal("0.01")!, lotSize: ExactDecimal("0.001")!,
            minimumNotional: ExactDecimal("10")!)
        let models: [(String, QuotingParameters)] = [
            (
                "avellaneda_stoikov",
                QuotingParameters(
                    model: .avellanedaStoikov(
                        .init(gamma: 0.1, kappa: 1.5, horizon: .infinite, horizonSeconds: 60, eta: 0.2)),
                    orderSize: 1, minimumSpread: 0.5, maximumSpread: 50, inventoryLimit: 20)
            ),
            (
                "ladder (5 levels)",
                QuotingParameters(
                    model: .ladder(
                        .init(
                            levels: 5, spreadMode: .volatility, spread: 0, volatilityMultiple: 2, horizonSeconds: 3_600,
                            levelSpacing: 0.5, sizeIncrement: 0.5, inventorySkew: 0.5)),
                    orderSize: 1, minimumSpread: 0.5, inventoryLimit: 20)
            ),
        ]
        let clock = ContinuousClock()
        for (name, parameters) in models {
            var random = SeededRandom(seed: 1)
            var estimator = VolatilityEstimator()
            var mid = 2000.0
            var inventory = 0.0
            var times = [Double](repeating: 0, count: count)
            var checksum = 0
            for index in 0..<(count + 10_000) {
                mid *= 1 + 0.0005 * random.nextNormal()
                inventory = max(-19, min(19, inventory + (random.nextUniform() - 0.5)))
                let time = 1_700_000_000 + Double(index)
                let start = clock.now
                estimator.update(mid: mid, at: time)
                let quote = try QuoteEngine.quote(
                    market: market, parameters: parameters,
                    state: MarketState(
                        mid: mid, inventory: inventory, estimatedVolatility: estimator.ewma, time: time))
                let elapsed = clock.now - start
                checksum &+= quote.bids.count + quote.asks.count
                // The first 10,000 warm up.
                if index >= 10_000 { times[index - 10_000] = elapsed.secondsValue * 1e6 }
            }
            times.sort()
            func percentile(_ p: Double) -> String {
                String(format: "%.2f", times[min(times.count - 1, Int(Double(times.count) * p))])
            }
            print(
                "| \(name) | \(count) | \(percentile(0.5)) | \(percentile(0.99)) | \(percentile(0.999)) | \(checksum) orders quoted |"
            )
        }
    }
}
