import Foundation
import ScryptexCore
public import ScryptexMarketData

/// Portfolio weights over assets from their return history: minimum variance, maximum Sharpe,
/// equal risk contribution, hierarchical risk parity, and efficient-frontier points. Annualised
/// inputs: μ = mean of the simple returns · N, Σ = sample covariance (n − 1) · N.
public struct PortfolioOptimizer: Sendable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case minimumVariance = "min_variance"
        case maximumSharpe = "max_sharpe"
        case riskParity = "risk_parity"
        case hierarchicalRiskParity = "hrp"
    }

    public let assets: [String]
    public let mean: [Double]
    public let covariance: [[Double]]
    public let lower: [Double]
    public let upper: [Double]
    public let riskFreeRate: Double
    public let observations: Int

    /// - Parameters:
    ///   - series: One series per asset (aligned here on the times all have).
    ///   - lower, upper: Bounds per asset (long-only 0…1 by default).
    public init(series: [BarSeries], lower: [Double]? = nil, upper: [Double]? = nil, riskFreeRate: Double = 0) throws {
        guard series.count >= 2 else {
            throw ServiceError(.invalidInput, "field 'assets': at least two assets to weigh")
        }
        let aligned = Self.aligned(series)
        guard aligned[0].count >= series.count + 2 else {
            throw ServiceError(
                .invalidInput,
                "the assets have \(aligned[0].count) bars in common in the period; \(series.count + 2) at least are needed"
            )
        }
        assets = series.map(\.symbol)
        let returns = aligned.map { column in (1..<column.count).map { column[$0] / column[$0 - 1] - 1 } }
        let perYear = series[0].timeframe.barsPerYear
        observations = returns[0].count
        mean = returns.map { $0.reduce(0, +) / Double($0.count) * perYear }
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: series.count), count: series.count)
        let means = returns.map { $0.reduce(0, +) / Double($0.count) }
        for i in 0..<series.count {
            for j in i..<series.count {
                var sum = 0.0
                for t in 0..<observations { sum += (returns[i][t] - means[i]) * (returns[j][t] - means[j]) }
                matrix[i][j] = sum / Double(observations - 1) * perYear
                matrix[j][i] = matrix[i][j]
            }
        }
        covariance = matrix
        self.lower = lower ?? [Double](repeating: 0, count: series.count)
        self.upper = upper ?? [Double](repeating: 1, count: series.count)
        self.riskFreeRate = riskFreeRate
        try Self.checkBounds(self.lower, self.upper, assets: assets)
    }

    /// For tests and callers with their own estimates.
    public init(
        assets: [String], mean: [Double], covariance: [[Double]], lower: [Double], upper: [Double],
        riskFreeRate: Double = 0
    ) throws {
        self.assets = assets
        self.mean = mean
        self.covariance = covariance
        self.lower = lower
        self.upper = upper
        self.riskFreeRate = riskFreeRate
        observations = 0
        try Self.checkBounds(lower, upper, assets: assets)
    }

    static func checkBounds(_ lower: [Double], _ upper: [Double], assets: [String]) throws {
        for (index, asset) in assets.enumerated() where lower[index] > upper[index] {
            throw ServiceError(
                .invalidInput, "field 'bounds.\(asset)': min \(lower[index]) is above max \(upper[index])")
        }
        let low = lower.reduce(0, +)
        let high = upper.reduce(0, +)
        guard low <= 1 + 1e-12, high >= 1 - 1e-12 else {
            throw ServiceError(
                .invalidInput,
                "field 'bounds': no weights within them add up to 1 (the minimums sum to \(low), the maximums to \(high))"
            )
        }
    }

    /// The closes on the times every series has.
    static func aligned(_ series: [BarSeries]) -> [[Double]] {
        var common = Set(series[0].times)
        for other in series.dropFirst() { common.formIntersection(other.times) }
        return series.map { one in
            one.times.indices.filter { common.contains(one.times[$0]) }.map { one.close[$0] }
        }
    }

    public struct Portfolio: Sendable, Codable, Equatable {
        public var weights: [String: Double]
        public var expectedReturn: Double
        public var volatility: Double
        public var sharpeRatio: Double?
        /// Each asset's share of the portfolio's variance, w_i (Σw)_i / wᵀΣw.
        public var riskContributions: [String: Double]
    }

    /// The portfolio at `weights`, each within 10⁻¹² of a bound put on it (so a solver's 10⁻¹⁶
    /// reads as the 0 it means).
    public func portfolio(_ solved: [Double]) -> Portfolio {
        let weights = solved.indices.map { index in
            abs(solved[index] - lower[index]) < 1e-12
                ? lower[index] : abs(solved[index] - upper[index]) < 1e-12 ? upper[index] : solved[index]
        }
        let sigmaW = multiply(weights)
        let variance = zip(weights, sigmaW).map(*).reduce(0, +)
        let expected = zip(weights, mean).map(*).reduce(0, +)
        let volatility = variance.squareRoot()
        return Portfolio(
            weights: Dictionary(uniqueKeysWithValues: zip(assets, weights)), expectedReturn: expected,
            volatility: volatility, sharpeRatio: volatility > 0 ? (expected - riskFreeRate) / volatility : nil,
            riskContributions: Dictionary(
                uniqueKeysWithValues: assets.indices.map {
                    (assets[$0], variance > 0 ? weights[$0] * sigmaW[$0] / variance : 0)
                }))
    }

    public func optimize(_ method: Method) throws -> Portfolio {
        switch method {
        case .minimumVariance: return portfolio(meanVariance(tradeOff: 0))
        case .maximumSharpe: return portfolio(try maximumSharpeWeights())
        case .riskParity: return portfolio(try equalRiskContribution())
        case .hierarchicalRiskParity: return portfolio(try hierarchicalRiskParity())
        }
    }

    /// Points of the efficient frontier, from the minimum-variance portfolio to the
    /// highest-return one within the bounds.
    public func frontier(points: Int) -> [Portfolio] {
        let tradeOffs =
            [0.0] + (0..<max(1, points - 1)).map { pow(10, -3 + 7 * Double($0) / Double(max(1, points - 2))) }
        return tradeOffs.map { portfolio(meanVariance(tradeOff: $0)) }
    }

    func multiply(_ weights: [Double]) -> [Double] {
        covariance.map { row in zip(row, weights).map(*).reduce(0, +) }
    }

    /// argmin wᵀΣw − λ·μᵀw over Σw = 1 and the bounds: accelerated projected gradient (FISTA)
    /// with step 1/L, L = 2·(largest eigenvalue of Σ), until the weights move less than 1e-14.
    func meanVariance(tradeOff lambda: Double) -> [Double] {
        let n = assets.count
        let lipschitz = 2 * largestEigenvalue()
        let step = lipschitz > 0 ? 1 / lipschitz : 1
        var weights = project([Double](repeating: 1 / Double(n), count: n))
        var momentum = weights
        var t = 1.0
        for _ in 0..<200_000 {
            let gradient = zip(multiply(momentum), mean).map { 2 * $0 - lambda * $1 }
            let next = project(zip(momentum, gradient).map { $0 - step * $1 })
            let nextT = (1 + (1 + 4 * t * t).squareRoot()) / 2
            let change = zip(next, weights).map { abs($0 - $1) }.max() ?? 0
            momentum = zip(next, weights).map { $0 + (t - 1) / nextT * ($0 - $1) }
            weights = next
            t = nextT
            if change < 1e-14 { break }
        }
        return weights
    }

    func largestEigenvalue() -> Double {
        var vector = [Double](repeating: 1, count: assets.count)
        var value = 0.0
        for _ in 0..<500 {
            let next = multiply(vector)
            let norm = next.map { $0 * $0 }.reduce(0, +).squareRoot()
            guard norm > 0 else { return 0 }
            vector = next.map { $0 / norm }
            value = norm
        }
        return value
    }

    /// The Euclidean projection onto {Σw = 1, lower ≤ w ≤ upper}: w_i = clamp(v_i − τ), τ by
    /// bisection.
    func project(_ values: [Double]) -> [Double] {
        var low = zip(values, upper).map { $0 - $1 }.min()! - 1
        var high = zip(values, lower).map { $0 - $1 }.max()! + 1
        func total(_ tau: Double) -> Double {
            values.indices.map { min(max(values[$0] - tau, lower[$0]), upper[$0]) }.reduce(0, +)
        }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if total(middle) > 1 { low = middle } else { high = middle }
        }
        let tau = (low + high) / 2
        return values.indices.map { min(max(values[$0] - tau, lower[$0]), upper[$0]) }
    }

    /// The frontier portfolio with the highest Sharpe ratio: the best of a logarithmic sweep of the
    /// trade-off λ, refined by golden-section search (the ratio is unimodal along the frontier).
    func maximumSharpeWeights() throws -> [Double] {
        guard mean.contains(where: { $0 > riskFreeRate }) else {
            throw ServiceError(
                .invalidInput,
                "no asset is expected to return more than the risk-free rate: the maximum Sharpe portfolio is undefined"
            )
        }
        func sharpe(_ logLambda: Double) -> Double {
            portfolio(meanVariance(tradeOff: pow(10, logLambda))).sharpeRatio ?? -.infinity
        }
        let grid = stride(from: -4.0, through: 4.0, by: 0.25).map { ($0, sharpe($0)) }
        let best = grid.indices.max { grid[$0].1 < grid[$1].1 }!
        var a = grid[max(0, best - 1)].0
        var b = grid[min(grid.count - 1, best + 1)].0
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<60 {
            let c = b - ratio * (b - a)
            let d = a + ratio * (b - a)
            if sharpe(c) > sharpe(d) { b = d } else { a = c }
        }
        return meanVariance(tradeOff: pow(10, (a + b) / 2))
    }

    /// Equal risk contribution (long only): Spinu's convex problem min ½yᵀΣy − Σ ln y_i / n by
    /// cyclical coordinate descent (each step solves its quadratic exactly), w = y / Σy.
    func equalRiskContribution() throws -> [Double] {
        let n = assets.count
        var y = (0..<n).map { 1 / covariance[$0][$0].squareRoot() }
        let budget = 1 / Double(n)
        for _ in 0..<10_000 {
            var change = 0.0
            for i in 0..<n {
                var others = 0.0
                for j in 0..<n where j != i { others += covariance[i][j] * y[j] }
                let value =
                    (-others + (others * others + 4 * covariance[i][i] * budget).squareRoot()) / (2 * covariance[i][i])
                change = max(change, abs(value - y[i]) / max(value, 1e-300))
                y[i] = value
            }
            if change < 1e-15 { break }
        }
        let total = y.reduce(0, +)
        let weights = y.map { $0 / total }
        try requireWithinBounds(weights, method: "risk_parity")
        return weights
    }

    /// Hierarchical risk parity (López de Prado, 2016): single-linkage clustering on the
    /// correlation distance √((1 − ρ)/2), the assets ordered by the tree, weights split down the
    /// order by recursive bisection in inverse proportion to each half's inverse-variance variance.
    func hierarchicalRiskParity() throws -> [Double] {
        let n = assets.count
        let deviations = (0..<n).map { covariance[$0][$0].squareRoot() }
        var distance = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n where i != j {
                let correlation = covariance[i][j] / (deviations[i] * deviations[j])
                distance[i][j] = (max(0, (1 - correlation) / 2)).squareRoot()
            }
        }
        // Single linkage: merge the two closest clusters until one is left; the order of the
        // leaves follows the merges (quasi-diagonalisation).
        var clusters: [[Int]] = (0..<n).map { [$0] }
        while clusters.count > 1 {
            var best = (0, 1, Double.infinity)
            for a in 0..<clusters.count {
                for b in (a + 1)..<clusters.count {
                    var nearest = Double.infinity
                    for i in clusters[a] { for j in clusters[b] { nearest = min(nearest, distance[i][j]) } }
                    if nearest < best.2 { best = (a, b, nearest) }
                }
            }
            let merged = clusters[best.0] + clusters[best.1]
            clusters.remove(at: best.1)
            clusters[best.0] = merged
        }
        let order = clusters[0]
        var weights = [Double](repeating: 1, count: n)
        func clusterVariance(_ members: [Int]) -> Double {
            let inverse = members.map { 1 / covariance[$0][$0] }
            let total = inverse.reduce(0, +)
            let w = inverse.map { $0 / total }
            var variance = 0.0
            for (a, i) in members.enumerated() {
                for (b, j) in members.enumerated() { variance += w[a] * w[b] * covariance[i][j] }
            }
            return variance
        }
        var pending = [order]
        while let members = pending.popLast() {
            guard members.count > 1 else { continue }
            let left = Array(members[..<(members.count / 2)])
            let right = Array(members[(members.count / 2)...])
            let leftVariance = clusterVariance(left)
            let rightVariance = clusterVariance(right)
            let alpha = 1 - leftVariance / (leftVariance + rightVariance)
            for i in left { weights[i] *= alpha }
            for i in right { weights[i] *= 1 - alpha }
            pending += [left, right]
        }
        try requireWithinBounds(weights, method: "hrp")
        return weights
    }

    func requireWithinBounds(_ weights: [Double], method: String) throws {
        for (index, weight) in weights.enumerated()
        where weight < lower[index] - 1e-9 || weight > upper[index] + 1e-9 {
            throw ServiceError(
                .invalidInput,
                "field 'bounds.\(assets[index])': \(method) gives it \(weight), outside \(lower[index])…\(upper[index]); \(method) does not take bounds, use min_variance or max_sharpe with them"
            )
        }
    }
}
