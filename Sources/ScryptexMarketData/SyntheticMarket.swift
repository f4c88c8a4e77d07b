import Foundation
import ScryptexCore

/// A synthetic market for demos and tests: geometric Brownian motion with Merton jumps and two
/// volatility regimes (a Markov chain switching between calm and turbulent), the same bars for
/// the same seed. Each bar is simulated in `stepsPerBar` exact log-normal steps: the open is the
/// previous close, the high and low the extremes of the path, the close its end.
///
/// Per step of length dt (years), in regime k:
/// ln S(t+dt) − ln S(t) = (μ − σ_k²/2 − λκ)·dt + σ_k·√dt·Z + Σ_{i≤N} J_i,
/// Z ~ N(0,1), N ~ Poisson(λ·dt), J_i ~ N(μ_J, σ_J²), κ = e^{μ_J + σ_J²/2} − 1 (so the expected
/// return is μ whatever the jumps).
public struct SyntheticMarket: Sendable, Codable, Equatable {
    public var symbol = "SYN-USD"
    public var timeframe = Timeframe.oneDay
    public var bars = 1_000
    /// When the first bar opens (seconds since 1970, on the timeframe's grid).
    public var start: Int64 = 1_514_764_800
    public var initialPrice = 100.0
    /// Annual drift μ and the annual volatilities of the calm and turbulent regimes.
    public var drift = 0.05
    public var calmVolatility = 0.4
    public var turbulentVolatility = 1.0
    /// Chance per bar of moving from calm to turbulent, and back.
    public var turbulenceProbability = 0.01
    public var calmingProbability = 0.05
    /// Jumps per year (λ), and the mean and deviation of a jump's log size.
    public var jumpsPerYear = 4.0
    public var jumpMean = -0.05
    public var jumpDeviation = 0.1
    public var stepsPerBar = 8
    /// The volume of a calm, quiet bar (it grows with the bar's move).
    public var baseVolume = 1_000_000.0
    public var seed: UInt64 = 42

    public init() {}

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, bars, start, initialPrice, drift, calmVolatility, turbulentVolatility
        case turbulenceProbability, calmingProbability, jumpsPerYear, jumpMean, jumpDeviation, stepsPerBar
        case baseVolume, seed
    }

    /// Every field optional: a missing one keeps its default.
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func read<Value: Decodable>(_ key: CodingKeys, into value: inout Value) throws {
            if let found = try container.decodeIfPresent(Value.self, forKey: key) { value = found }
        }
        try read(.symbol, into: &symbol)
        try read(.timeframe, into: &timeframe)
        try read(.bars, into: &bars)
        try read(.start, into: &start)
        try read(.initialPrice, into: &initialPrice)
        try read(.drift, into: &drift)
        try read(.calmVolatility, into: &calmVolatility)
        try read(.turbulentVolatility, into: &turbulentVolatility)
        try read(.turbulenceProbability, into: &turbulenceProbability)
        try read(.calmingProbability, into: &calmingProbability)
        try read(.jumpsPerYear, into: &jumpsPerYear)
        try read(.jumpMean, into: &jumpMean)
        try read(.jumpDeviation, into: &jumpDeviation)
        try read(.stepsPerBar, into: &stepsPerBar)
        try read(.baseVolume, into: &baseVolume)
        try read(.seed, into: &seed)
    }

    /// Checks every parameter, naming the first that is out of range.
    public func validated() throws -> SyntheticMarket {
        func require(_ condition: Bool, _ field: String, _ rule: String) throws {
            guard condition else { throw ServiceError(.invalidInput, "field '\(field)': \(rule)") }
        }
        _ = try MarketSymbol.parse(symbol)
        try require((2...5_000_000).contains(bars), "bars", "from 2 to 5,000,000")
        try require(initialPrice > 0 && initialPrice.isFinite, "initialPrice", "a positive number")
        try require(abs(drift) <= 10, "drift", "an annual drift from -10 to 10")
        try require(calmVolatility > 0 && calmVolatility <= 10, "calmVolatility", "above 0 and at most 10")
        try require(
            turbulentVolatility > 0 && turbulentVolatility <= 10, "turbulentVolatility", "above 0 and at most 10")
        try require(
            (0...1).contains(turbulenceProbability) && (0...1).contains(calmingProbability),
            "turbulenceProbability", "probabilities from 0 to 1")
        try require(jumpsPerYear >= 0 && jumpsPerYear <= 1_000, "jumpsPerYear", "from 0 to 1,000")
        try require(
            abs(jumpMean) <= 1 && jumpDeviation >= 0 && jumpDeviation <= 1, "jumpMean", "jump sizes within ±1 (log)")
        try require((1...1_000).contains(stepsPerBar), "stepsPerBar", "from 1 to 1,000")
        try require(start % timeframe.seconds == 0 || timeframe == .oneWeek, "start", "on the timeframe's grid")
        return self
    }

    public func generate() throws -> BarSeries {
        let market = try validated()
        var random = SeededRandom(seed: market.seed)
        var series = BarSeries(symbol: try MarketSymbol.parse(market.symbol), timeframe: market.timeframe)
        series.reserveCapacity(market.bars)
        let dt = 1 / (market.timeframe.barsPerYear * Double(market.stepsPerBar))
        let kappa = exp(market.jumpMean + market.jumpDeviation * market.jumpDeviation / 2) - 1
        var turbulent = false
        var logPrice = log(market.initialPrice)
        for index in 0..<market.bars {
            if turbulent {
                if random.nextUniform() < market.calmingProbability { turbulent = false }
            } else if random.nextUniform() < market.turbulenceProbability {
                turbulent = true
            }
            let sigma = turbulent ? market.turbulentVolatility : market.calmVolatility
            let drift = (market.drift - sigma * sigma / 2 - market.jumpsPerYear * kappa) * dt
            let open = exp(logPrice)
            var high = open
            var low = open
            for _ in 0..<market.stepsPerBar {
                var step = drift + sigma * dt.squareRoot() * random.nextNormal()
                for _ in 0..<random.nextPoisson(mean: market.jumpsPerYear * dt) {
                    step += market.jumpMean + market.jumpDeviation * random.nextNormal()
                }
                logPrice += step
                let price = exp(logPrice)
                high = max(high, price)
                low = min(low, price)
            }
            let close = exp(logPrice)
            let move = abs(log(close / open))
            let volume = market.baseVolume * (1 + 20 * move) * exp(0.3 * random.nextNormal())
            series.append(
                Bar(
                    time: market.start + Int64(index) * market.timeframe.seconds, open: open, high: high, low: low,
                    close: close, volume: volume))
        }
        return series
    }
}
