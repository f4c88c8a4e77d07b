import Foundation
import ScryptexCore
public import ScryptexMarketData

/// `POST /api/enterprise/quant-strategies/:id/optimize`: which parameters to vary and how, the
/// objective, and walk-forward validation.
public struct OptimizationRequest: Sendable, Codable, Equatable {
    /// A parameter's candidates: `values`, or `min`, `max` and `step` (grid) — random search
    /// draws from the same set.
    public struct Range: Sendable, Codable, Equatable {
        public var values: [Double]?
        public var min: Double?
        public var max: Double?
        public var step: Double?
    }

    public struct WalkForward: Sendable, Codable, Equatable {
        /// Consecutive windows the period is cut into (2–20).
        public var folds: Int
        /// The share of each window the parameters are chosen on (the rest tests them).
        public var trainFraction: Double
    }

    public var parameters: [String: Range]
    /// `grid` (every combination) or `random` (`samples` of them, drawn with `seed`).
    public var method: String?
    public var samples: Int?
    public var seed: UInt64?
    /// `sharpeRatio` (default), `sortinoRatio`, `calmarRatio`, `totalReturn` or `annualReturn`.
    public var objective: String?
    public var walkForward: WalkForward?
    /// The backtest settings every candidate runs with.
    public var settings: BacktestRequest?

    public static let largestSearch = 10_000
    static let fields: Set<String> = [
        "parameters", "method", "samples", "seed", "objective", "walkForward", "settings",
    ]

    /// Decodes a JSON body, refusing fields it does not know (here and in `settings`).
    public static func decode(_ body: [UInt8]) throws -> OptimizationRequest {
        let data = Data(body)
        guard let keys = try? JSONDecoder().decode([String: BacktestRequest.Ignored].self, from: data) else {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        for key in keys.keys.sorted() where !fields.contains(key) {
            throw ServiceError(
                .invalidInput,
                "field '\(key)': not an optimization setting; they are \(fields.sorted().joined(separator: ", "))")
        }
        struct Nested: Decodable { var settings: [String: BacktestRequest.Ignored]? }
        if let nested = try? JSONDecoder().decode(Nested.self, from: data), let settings = nested.settings {
            for key in settings.keys.sorted() where !BacktestRequest.fields.contains(key) {
                throw ServiceError(.invalidInput, "field 'settings.\(key)': not a backtest setting")
            }
        }
        do {
            return try JSONDecoder().decode(OptimizationRequest.self, from: data)
        } catch let error as DecodingError {
            throw ServiceError(.invalidInput, DecodingErrorDescription.describe(error))
        }
    }
    public static let objectives = ["sharpeRatio", "sortinoRatio", "calmarRatio", "totalReturn", "annualReturn"]
}

/// One set of parameter values and how it did.
public struct OptimizationCandidate: Sendable, Codable, Equatable {
    public var parameters: [String: Double]
    public var objective: Double?
    public var totalReturn: Double
    public var maxDrawdown: Double
    public var trades: Int
}

public struct WalkForwardFold: Sendable, Codable, Equatable {
    public var trainStart: String
    public var trainEnd: String
    public var testStart: String
    public var testEnd: String
    /// Chosen on the training window.
    public var parameters: [String: Double]
    public var inSampleObjective: Double?
    /// The chosen parameters on the test window, never seen while choosing.
    public var outOfSample: ReturnStatistics
}

public struct OptimizationResult: Sendable, Codable, Equatable {
    public var method: String
    public var objective: String
    public var evaluated: Int
    /// Combinations the strategy's rules refuse (a fast period not below the slow one, say).
    public var invalid: Int
    public var best: OptimizationCandidate?
    /// The 50 best over the whole period (in-sample: optimistic by construction).
    public var ranking: [OptimizationCandidate]
    public var walkForward: [WalkForwardFold]?
    /// The out-of-sample windows stitched together: what the method would have earned.
    public var outOfSample: ReturnStatistics?
    public var conventions: [String: String]
}

/// Grid and random search over a strategy's numeric parameters, with walk-forward validation.
public struct ParameterOptimizer: Sendable {
    public let strategy: QuantStrategy
    public let request: OptimizationRequest
    let settings: BacktestSettings
    let candidates: [[String: Double]]
    let objective: String

    public init(strategy: QuantStrategy, request: OptimizationRequest) throws {
        self.strategy = strategy
        self.request = request
        settings = try (request.settings ?? BacktestRequest()).settings()
        objective = request.objective ?? "sharpeRatio"
        guard OptimizationRequest.objectives.contains(objective) else {
            throw ServiceError(
                .invalidInput,
                "field 'objective': '\(objective.prefix(40))' is not one of \(OptimizationRequest.objectives.joined(separator: ", "))"
            )
        }
        let parameters = try strategy.parameters()
        let numeric = (StrategyParameters.known[parameters.type] ?? []).filter {
            !["assets", "timeframe", "dataset"].contains($0)
        }
        guard !request.parameters.isEmpty else {
            throw ServiceError(
                .invalidInput, "field 'parameters': name at least one of \(numeric.joined(separator: ", "))")
        }
        var axes: [(String, [Double])] = []
        for (name, range) in request.parameters.sorted(by: { $0.key < $1.key }) {
            guard numeric.contains(name) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'parameters.\(name)': not a parameter of \(parameters.type.rawValue) to vary; they are \(numeric.joined(separator: ", "))"
                )
            }
            axes.append((name, try Self.values(range, field: "parameters.\(name)")))
        }
        let total = axes.reduce(1.0) { $0 * Double($1.1.count) }
        var grid: [[String: Double]] = [[:]]
        let method = request.method ?? "grid"
        switch method {
        case "grid":
            guard total <= Double(OptimizationRequest.largestSearch) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'parameters': \(Int(total)) combinations, more than \(OptimizationRequest.largestSearch); narrow the ranges or use method 'random'"
                )
            }
            for (name, values) in axes {
                grid = grid.flatMap { partial in values.map { partial.merging([name: $0]) { $1 } } }
            }
        case "random":
            let samples = request.samples ?? 100
            guard (1...OptimizationRequest.largestSearch).contains(samples) else {
                throw ServiceError(.invalidInput, "field 'samples': from 1 to \(OptimizationRequest.largestSearch)")
            }
            var random = SeededRandom(seed: request.seed ?? 42)
            grid = (0..<samples).map { _ in
                Dictionary(uniqueKeysWithValues: axes.map { ($0.0, $0.1[Int(random.next() % UInt64($0.1.count))]) })
            }
        default:
            throw ServiceError(.invalidInput, "field 'method': '\(method.prefix(40))' is not grid or random")
        }
        candidates = grid
        if let walk = request.walkForward {
            guard (2...20).contains(walk.folds) else {
                throw ServiceError(.invalidInput, "field 'walkForward.folds': from 2 to 20")
            }
            guard walk.trainFraction >= 0.3 && walk.trainFraction <= 0.9 else {
                throw ServiceError(.invalidInput, "field 'walkForward.trainFraction': from 0.3 to 0.9")
            }
        }
    }

    static func values(_ range: OptimizationRequest.Range, field: String) throws -> [Double] {
        if let values = range.values {
            guard !values.isEmpty, values.count <= OptimizationRequest.largestSearch, values.allSatisfy(\.isFinite)
            else {
                throw ServiceError(
                    .invalidInput, "field '\(field).values': 1 to \(OptimizationRequest.largestSearch) numbers")
            }
            return Array(Set(values)).sorted()
        }
        guard let low = range.min, let high = range.max, let step = range.step, low.isFinite, high.isFinite,
            step > 0, low <= high
        else {
            throw ServiceError(.invalidInput, "field '\(field)': give 'values', or 'min' ≤ 'max' and a positive 'step'")
        }
        let count = Int(((high - low) / step + 1e-9).rounded(.down)) + 1
        guard count <= OptimizationRequest.largestSearch else {
            throw ServiceError(
                .invalidInput, "field '\(field)': \(count) values, more than \(OptimizationRequest.largestSearch)")
        }
        return (0..<count).map { low + Double($0) * step }
    }

    /// Runs the search (and walk-forward validation) on the strategy's bars.
    public func run(_ series: [BarSeries], progress: (Double) -> Void = { _ in }) throws -> OptimizationResult {
        var invalid = 0
        var evaluated: [OptimizationCandidate] = []
        // Windows are cut on the first asset's times (a pair's second series is cut at the same times).
        let base = series[0]
        for (number, candidate) in candidates.enumerated() {
            if let outcome = try evaluate(candidate, series: series, from: 0, invalid: &invalid) {
                evaluated.append(outcome.candidate)
            }
            progress(Double(number + 1) / Double(candidates.count) * (request.walkForward == nil ? 1 : 0.5))
        }
        let ranked = Self.rank(evaluated)
        var result = OptimizationResult(
            method: request.method ?? "grid", objective: objective, evaluated: evaluated.count, invalid: invalid,
            best: ranked.first, ranking: Array(ranked.prefix(50)), walkForward: nil, outOfSample: nil,
            conventions: settings.conventions(timeframe: base.timeframe).merging([
                "walkForward":
                    "each window's first trainFraction chooses the parameters by the objective; its rest tests them, the indicators warmed up on the bars before it; the test windows stitched give the out-of-sample figures"
            ]) { $1 })
        guard let walk = request.walkForward else { return result }
        let windowLength = base.count / walk.folds
        var folds: [WalkForwardFold] = []
        var stitched: [Double] = []
        for fold in 0..<walk.folds {
            let start = fold * windowLength
            let end = fold == walk.folds - 1 ? base.count : start + windowLength
            let split = start + Int(Double(end - start) * walk.trainFraction)
            guard split - start > 2, end - split > 1 else {
                throw ServiceError(
                    .invalidInput,
                    "field 'walkForward.folds': \(walk.folds) windows of \(base.count) bars are too short")
            }
            let train = series.map { $0.between(base.times[start], base.times[split]) }
            var trained: [OptimizationCandidate] = []
            var ignored = 0
            for candidate in candidates {
                if let outcome = try evaluate(candidate, series: train, from: 0, invalid: &ignored) {
                    trained.append(outcome.candidate)
                }
            }
            guard let chosen = Self.rank(trained).first else { continue }
            // The test window with the bars its indicators need before it.
            let parameters = try parametersFor(chosen.parameters)
            let warmStart = max(0, split - parameters.warmUp)
            let test = series.map { $0.between(base.times[warmStart], end < base.count ? base.times[end] : nil) }
            var unused = 0
            guard let outcome = try evaluate(chosen.parameters, series: test, from: split - warmStart, invalid: &unused)
            else { continue }
            stitched += outcome.returns
            folds.append(
                WalkForwardFold(
                    trainStart: MarketTime.rfc3339(base.times[start]),
                    trainEnd: MarketTime.rfc3339(base.times[split - 1]),
                    testStart: MarketTime.rfc3339(base.times[split]), testEnd: MarketTime.rfc3339(base.times[end - 1]),
                    parameters: chosen.parameters, inSampleObjective: chosen.objective,
                    outOfSample: ReturnStatistics(
                        returns: outcome.returns, periodsPerYear: base.timeframe.barsPerYear, alpha: settings.alpha)))
            progress(0.5 + 0.5 * Double(fold + 1) / Double(walk.folds))
        }
        result.walkForward = folds
        if stitched.count > 1 {
            result.outOfSample = ReturnStatistics(
                returns: stitched, periodsPerYear: base.timeframe.barsPerYear, alpha: settings.alpha)
        }
        return result
    }

    func parametersFor(_ values: [String: Double]) throws -> StrategyParameters {
        var config = strategy.config
        for (name, value) in values { config[name] = .number(value) }
        return try StrategyParameters(type: strategy.type, config: config, riskParameters: strategy.riskParameters)
    }

    /// One candidate's backtest, measured from bar `start`; nil when the rules refuse the values
    /// or the data is too short for them.
    func evaluate(
        _ values: [String: Double], series: [BarSeries], from start: Int, invalid: inout Int
    ) throws -> (
        candidate: OptimizationCandidate, returns: [Double]
    )? {
        let parameters: StrategyParameters
        do {
            parameters = try parametersFor(values)
        } catch {
            invalid += 1
            return nil
        }
        guard series[0].count > parameters.warmUp + 1 else { return nil }
        let book = try BacktestEngine(strategy: parameters, settings: settings).simulate(series)
        let returns = book.returns(from: start)
        guard returns.count > 1 else { return nil }
        let statistics = ReturnStatistics(
            returns: returns, periodsPerYear: series[0].timeframe.barsPerYear, alpha: settings.alpha)
        let score: Double? =
            switch objective {
            case "sortinoRatio": statistics.sortinoRatio
            case "calmarRatio": statistics.calmarRatio
            case "totalReturn": statistics.totalReturn
            case "annualReturn": statistics.annualReturn
            default: statistics.sharpeRatio
            }
        return (
            OptimizationCandidate(
                parameters: values, objective: score, totalReturn: statistics.totalReturn,
                maxDrawdown: statistics.maxDrawdown, trades: book.trades.count),
            returns
        )
    }

    /// Best first; candidates without a score (no trades, no variance) last.
    static func rank(_ candidates: [OptimizationCandidate]) -> [OptimizationCandidate] {
        candidates.sorted { left, right in
            switch (left.objective, right.objective) {
            case (let l?, let r?): l > r
            case (.some, nil): true
            default: false
            }
        }
    }
}
