import Foundation
public import ScryptexCore
public import ScryptexMarketData
import Synchronization

/// Liquidity-provision optimisation: every combination of the values given for some of a
/// strategy's parameters, each replayed over the same bars, ranked by risk-adjusted P&L (the
/// Sharpe ratio of per-bar P&L changes; then total P&L).
public enum ParameterSweep {
    public static let maximumCombinations = 500

    /// The parameters a sweep may vary, per model.
    public static let common = ["orderSize", "minimumSpread", "maximumSpread", "inventoryLimit"]
    public static let stoikov = ["gamma", "kappa", "eta", "horizonSeconds"]
    public static let ladder = [
        "spread", "levels", "levelSpacing", "sizeIncrement", "inventorySkew", "volatilityMultiple",
    ]

    public struct Entry: Sendable, Equatable, Codable {
        public var parameters: [String: Double]
        public var totalPnL: ExactDecimal
        public var maxDrawdown: Double
        public var sharpeRatio: Double?
        public var fillRate: Double
        public var fills: Int
        public var largestInventory: Double
    }

    public struct Result: Sendable, Equatable, Codable {
        public var model: String
        public var evaluated: Int
        public var ranking: [Entry]
        public var conventions: [String: String]
    }

    public struct Control: Sendable {
        public var report: @Sendable (_ done: Int, _ total: Int) -> Void
        public var isCancelled: @Sendable () -> Bool

        public init(
            report: @escaping @Sendable (Int, Int) -> Void = { _, _ in },
            isCancelled: @escaping @Sendable () -> Bool = { false }
        ) {
            self.report = report
            self.isCancelled = isCancelled
        }
    }

    /// Every combination, as parameter sets (validated, the first bad one named).
    public static func combinations(
        _ base: QuotingParameters, grid: [String: [Double]]
    ) throws -> [(
        [String: Double], QuotingParameters
    )] {
        let allowed: [String]
        switch base.model {
        case .avellanedaStoikov: allowed = common + stoikov
        case .ladder: allowed = common + ladder
        }
        guard !grid.isEmpty else { throw ServiceError(.invalidInput, "field 'grid': at least one parameter to vary") }
        for (key, values) in grid {
            guard allowed.contains(key) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'grid.\(key.prefix(40))': not a parameter a \(base.model.name) sweep varies (\(allowed.joined(separator: ", ")))"
                )
            }
            guard (1...50).contains(values.count), values.allSatisfy(\.isFinite) else {
                throw ServiceError(.invalidInput, "field 'grid.\(key)': 1 to 50 finite numbers")
            }
        }
        let keys = grid.keys.sorted()
        let total = keys.reduce(1) { $0 * grid[$1]!.count }
        guard total <= maximumCombinations else {
            throw ServiceError(
                .invalidInput, "field 'grid': \(total) combinations; at most \(maximumCombinations)")
        }
        var result: [([String: Double], QuotingParameters)] = []
        for index in 0..<total {
            var rest = index
            var chosen: [String: Double] = [:]
            var parameters = base
            for key in keys {
                let values = grid[key]!
                let value = values[rest % values.count]
                rest /= values.count
                chosen[key] = value
                try apply(key, value, to: &parameters)
            }
            _ = try parameters.validated(field: "grid")
            result.append((chosen, parameters))
        }
        return result
    }

    static func apply(_ key: String, _ value: Double, to parameters: inout QuotingParameters) throws {
        switch key {
        case "orderSize": parameters.orderSize = value
        case "minimumSpread": parameters.minimumSpread = value
        case "maximumSpread": parameters.maximumSpread = value
        case "inventoryLimit": parameters.inventoryLimit = value
        default:
            switch parameters.model {
            case .avellanedaStoikov(var model):
                switch key {
                case "gamma": model.gamma = value
                case "kappa": model.kappa = value
                case "eta": model.eta = value
                default: model.horizonSeconds = value
                }
                parameters.model = .avellanedaStoikov(model)
            case .ladder(var ladder):
                switch key {
                case "spread": ladder.spread = value
                case "levels":
                    guard value == value.rounded(), (1...20).contains(value) else {
                        throw ServiceError(.invalidInput, "field 'grid.levels': whole numbers from 1 to 20")
                    }
                    ladder.levels = Int(value)
                case "levelSpacing": ladder.levelSpacing = value
                case "sizeIncrement": ladder.sizeIncrement = value
                case "inventorySkew": ladder.inventorySkew = value
                default: ladder.volatilityMultiple = value
                }
                parameters.model = .ladder(ladder)
            }
        }
    }

    /// Replays every combination on `workers` threads.
    public static func run(
        bars: BarSeries, market: Market, base: QuotingParameters, grid: [String: [Double]], fillModel: FillModel,
        workers: Int = ComputeThreads.cores, control: Control = Control()
    ) throws -> Result {
        let sets = try combinations(base, grid: grid)
        let results = Mutex<[Entry?]>(Array(repeating: nil, count: sets.count))
        let failure = Mutex<(any Error)?>(nil)
        let done = Atomic<Int>(0)
        let count = max(1, min(workers, sets.count))
        ComputeThreads.runBlocking(workers: count) { worker in
            for index in stride(from: worker, to: sets.count, by: count) {
                if control.isCancelled() || failure.withLock({ $0 != nil }) { return }
                do {
                    let report = try MarketMakingSimulation.run(
                        bars: bars, market: market, parameters: sets[index].1, fillModel: fillModel)
                    let entry = Entry(
                        parameters: sets[index].0, totalPnL: report.totalPnL, maxDrawdown: report.maxDrawdown,
                        sharpeRatio: report.sharpeRatio, fillRate: report.fillRate, fills: report.fills,
                        largestInventory: report.largestInventory)
                    results.withLock { $0[index] = entry }
                } catch {
                    failure.withLock { $0 = error }
                    return
                }
                control.report(done.add(1, ordering: .relaxed).newValue, sets.count)
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        if control.isCancelled() { throw ServiceError(.conflict, "the sweep was cancelled") }
        let ranking = results.withLock { $0 }.compactMap { $0 }.sorted { a, b in
            switch (a.sharpeRatio, b.sharpeRatio) {
            case (let x?, let y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return b.totalPnL < a.totalPnL
            }
        }
        return Result(
            model: base.model.name, evaluated: ranking.count, ranking: ranking,
            conventions: [
                "ranking":
                    "by the Sharpe ratio of per-bar P&L changes (annualised), then total P&L; each set replayed over the same bars with the same fill model"
            ])
    }
}
