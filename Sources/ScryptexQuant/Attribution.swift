import Foundation
import ScryptexCore
public import ScryptexMarketData

/// Brinson-Fachler attribution of a portfolio's excess return over a benchmark, segment by
/// segment (assets, strategies, sectors — whatever the weights and returns are given for), linked
/// over several periods with Carino's logarithmic smoothing.
public struct BrinsonAttribution: Sendable, Codable, Equatable {
    public struct Holding: Sendable, Codable, Equatable {
        public var weight: Double
        public var `return`: Double

        public init(weight: Double, return value: Double) {
            self.weight = weight
            self.return = value
        }
    }

    public struct Period: Sendable, Codable, Equatable {
        public var label: String
        public var portfolio: [String: Holding]
        public var benchmark: [String: Holding]

        public init(label: String, portfolio: [String: Holding], benchmark: [String: Holding]) {
            self.label = label
            self.portfolio = portfolio
            self.benchmark = benchmark
        }
    }

    public struct Effects: Sendable, Codable, Equatable {
        /// (w_i − W_i)(R_i − R_b): being over- or under-weight in segments that beat the benchmark.
        public var allocation: Double
        /// W_i (r_i − R_i): picking better within a segment, at the benchmark's weight.
        public var selection: Double
        /// (w_i − W_i)(r_i − R_i).
        public var interaction: Double
        public var total: Double { allocation + selection + interaction }

        enum CodingKeys: String, CodingKey { case allocation, selection, interaction, total }

        public init(allocation: Double, selection: Double, interaction: Double) {
            self.allocation = allocation
            self.selection = selection
            self.interaction = interaction
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            allocation = try container.decode(Double.self, forKey: .allocation)
            selection = try container.decode(Double.self, forKey: .selection)
            interaction = try container.decode(Double.self, forKey: .interaction)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(allocation, forKey: .allocation)
            try container.encode(selection, forKey: .selection)
            try container.encode(interaction, forKey: .interaction)
            try container.encode(total, forKey: .total)
        }

        static func + (left: Effects, right: Effects) -> Effects {
            Effects(
                allocation: left.allocation + right.allocation, selection: left.selection + right.selection,
                interaction: left.interaction + right.interaction)
        }

        func scaled(_ factor: Double) -> Effects {
            Effects(allocation: allocation * factor, selection: selection * factor, interaction: interaction * factor)
        }
    }

    public struct PeriodResult: Sendable, Codable, Equatable {
        public var label: String
        public var portfolioReturn: Double
        public var benchmarkReturn: Double
        public var bySegment: [String: Effects]
        public var total: Effects
        /// Carino's coefficient k_t = (ln(1 + R_p) − ln(1 + R_b)) / (R_p − R_b).
        public var linkingCoefficient: Double
    }

    public var periods: [PeriodResult]
    /// Each segment's effects over all periods, linked: Σ_t effect_t · k_t / K, so that they add
    /// up to the compounded excess return.
    public var linkedBySegment: [String: Effects]
    public var linkedTotal: Effects
    public var portfolioReturn: Double
    public var benchmarkReturn: Double
    /// (Π(1 + R_p) − 1) − (Π(1 + R_b) − 1), which the linked effects add up to.
    public var excessReturn: Double

    public init(periods input: [Period]) throws {
        guard !input.isEmpty else { throw ServiceError(.invalidInput, "field 'periods': at least one period") }
        var results: [PeriodResult] = []
        for (number, period) in input.enumerated() {
            let field = "periods[\(number)]"
            for (name, side) in [("portfolio", period.portfolio), ("benchmark", period.benchmark)] {
                let total = side.values.map(\.weight).reduce(0, +)
                guard abs(total - 1) < 1e-6 else {
                    throw ServiceError(.invalidInput, "field '\(field).\(name)': weights add up to \(total), not 1")
                }
                guard side.values.allSatisfy({ $0.weight.isFinite && $0.return.isFinite && $0.return > -1 }) else {
                    throw ServiceError(.invalidInput, "field '\(field).\(name)': finite weights and returns above -1")
                }
            }
            let segments = Set(period.portfolio.keys).union(period.benchmark.keys)
            let portfolioReturn = period.portfolio.values.map { $0.weight * $0.return }.reduce(0, +)
            let benchmarkReturn = period.benchmark.values.map { $0.weight * $0.return }.reduce(0, +)
            var bySegment: [String: Effects] = [:]
            for segment in segments {
                let w = period.portfolio[segment]?.weight ?? 0
                let big = period.benchmark[segment]?.weight ?? 0
                // A segment only one side holds takes the other side's return as its own.
                let r = period.portfolio[segment]?.return ?? period.benchmark[segment]?.return ?? 0
                let bigR = period.benchmark[segment]?.return ?? r
                bySegment[segment] = Effects(
                    allocation: (w - big) * (bigR - benchmarkReturn), selection: big * (r - bigR),
                    interaction: (w - big) * (r - bigR))
            }
            let total = bySegment.values.reduce(Effects(allocation: 0, selection: 0, interaction: 0), +)
            results.append(
                PeriodResult(
                    label: period.label, portfolioReturn: portfolioReturn, benchmarkReturn: benchmarkReturn,
                    bySegment: bySegment, total: total,
                    linkingCoefficient: Self.carino(portfolioReturn, benchmarkReturn)))
        }
        periods = results
        portfolioReturn = results.reduce(1) { $0 * (1 + $1.portfolioReturn) } - 1
        benchmarkReturn = results.reduce(1) { $0 * (1 + $1.benchmarkReturn) } - 1
        excessReturn = portfolioReturn - benchmarkReturn
        let big = Self.carino(portfolioReturn, benchmarkReturn)
        var linked: [String: Effects] = [:]
        for period in results {
            for (segment, effects) in period.bySegment {
                linked[segment] =
                    (linked[segment] ?? Effects(allocation: 0, selection: 0, interaction: 0))
                    + effects.scaled(period.linkingCoefficient / big)
            }
        }
        linkedBySegment = linked
        linkedTotal = linked.values.reduce(Effects(allocation: 0, selection: 0, interaction: 0), +)
    }

    /// (ln(1 + a) − ln(1 + b)) / (a − b), and 1/(1 + a) when a = b (its limit).
    static func carino(_ a: Double, _ b: Double) -> Double {
        abs(a - b) < 1e-15 ? 1 / (1 + a) : (log1p(a) - log1p(b)) / (a - b)
    }
}

/// Returns-based factor attribution: r_t = α + Σ β_k f_{k,t} + ε_t by least squares, with each
/// factor's share of the mean return (β_k · mean f_k, annualised) and what is left to α.
public struct FactorAttribution: Sendable, Codable, Equatable {
    public struct Factor: Sendable, Codable, Equatable {
        public var name: String
        public var beta: Double
        public var tStatistic: Double?
        /// β · mean(f) · N.
        public var contribution: Double
    }

    public var observations: Int
    /// Per bar, and · N.
    public var alpha: Double
    public var annualAlpha: Double
    public var alphaTStatistic: Double?
    public var factors: [Factor]
    public var rSquared: Double
    /// mean(r) · N = annualAlpha + Σ contributions.
    public var annualReturn: Double
    /// The sample deviation of the residuals · √N.
    public var residualVolatility: Double

    public init(returns: [Double], factors: [(name: String, returns: [Double])], periodsPerYear: Double) throws {
        let n = returns.count
        let k = factors.count
        guard k >= 1 else { throw ServiceError(.invalidInput, "field 'factors': at least one") }
        guard n >= k + 3 else {
            throw ServiceError(.invalidInput, "field 'returns': \(n) returns for \(k) factors; \(k + 3) at least")
        }
        for factor in factors where factor.returns.count != n {
            throw ServiceError(
                .invalidInput, "field 'factors.\(factor.name)': \(factor.returns.count) returns for \(n) of the series")
        }
        // The design matrix with a column of ones; normal equations solved by Gaussian elimination
        // with partial pivoting (k is small).
        let columns = [[Double](repeating: 1, count: n)] + factors.map(\.returns)
        let size = k + 1
        var normal = [[Double]](repeating: [Double](repeating: 0, count: size), count: size)
        var right = [Double](repeating: 0, count: size)
        for i in 0..<size {
            for j in 0..<size { normal[i][j] = zip(columns[i], columns[j]).map(*).reduce(0, +) }
            right[i] = zip(columns[i], returns).map(*).reduce(0, +)
        }
        guard let coefficients = Self.solve(normal, right), let inverse = Self.inverse(normal) else {
            throw ServiceError(.invalidInput, "field 'factors': collinear factors (one is a combination of the others)")
        }
        let fitted = (0..<n).map { t in (0..<size).map { coefficients[$0] * columns[$0][t] }.reduce(0, +) }
        let residuals = zip(returns, fitted).map(-)
        let mean = returns.reduce(0, +) / Double(n)
        let total = returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
        let residualSquares = residuals.map { $0 * $0 }.reduce(0, +)
        let sigma2 = residualSquares / Double(n - size)
        func tStatistic(_ index: Int) -> Double? {
            let standardError = (sigma2 * inverse[index][index]).squareRoot()
            return standardError > 0 ? coefficients[index] / standardError : nil
        }
        observations = n
        alpha = coefficients[0]
        annualAlpha = coefficients[0] * periodsPerYear
        alphaTStatistic = tStatistic(0)
        self.factors = factors.enumerated().map { index, factor in
            Factor(
                name: factor.name, beta: coefficients[index + 1], tStatistic: tStatistic(index + 1),
                contribution: coefficients[index + 1] * factor.returns.reduce(0, +) / Double(n) * periodsPerYear)
        }
        rSquared = total > 0 ? 1 - residualSquares / total : 1
        annualReturn = mean * periodsPerYear
        residualVolatility = (residualSquares / Double(n - 1)).squareRoot() * periodsPerYear.squareRoot()
    }

    static func solve(_ matrix: [[Double]], _ vector: [Double]) -> [Double]? {
        LinearSystem.solve(matrix, vector)
    }

    static func inverse(_ matrix: [[Double]]) -> [[Double]]? {
        let n = matrix.count
        var columns: [[Double]] = []
        for index in 0..<n {
            var unit = [Double](repeating: 0, count: n)
            unit[index] = 1
            guard let column = solve(matrix, unit) else { return nil }
            columns.append(column)
        }
        return (0..<n).map { row in (0..<n).map { columns[$0][row] } }
    }
}

/// Calendar-period returns from bars, for attribution by asset and by strategy.
public enum PeriodReturns {
    /// Each calendar month's (UTC) simple return from the last close before it (or the month's
    /// first close, for the first month) to its last close, labelled `YYYY-MM`.
    public static func monthly(_ series: BarSeries) -> [(label: String, return: Double)] {
        monthly(times: series.times, values: series.close, base: nil)
    }

    /// Each calendar month's (UTC) return of `values` (a price or an equity at each time): from
    /// the last value before the month — `base` before the first month, or its first value when
    /// `base` is nil — to the month's last value.
    public static func monthly(times: [Int64], values: [Double], base: Double?) -> [(label: String, return: Double)] {
        var result: [(String, Double)] = []
        var reference: Double?
        var currentMonth: Int?
        var last = 0.0
        for index in values.indices {
            let seconds = times[index]
            let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
            let civil = CivilCalendar.civil(fromDaysSinceEpoch: days)
            let month = civil.year * 12 + civil.month - 1
            if month != currentMonth {
                if let currentMonth, let reference { result.append((label(currentMonth), last / reference - 1)) }
                reference = currentMonth == nil ? (base ?? values[index]) : last
                currentMonth = month
            }
            last = values[index]
        }
        if let currentMonth, let reference { result.append((label(currentMonth), last / reference - 1)) }
        return result
    }

    static func label(_ month: Int) -> String {
        let year = month >= 0 ? month / 12 : (month - 11) / 12
        return CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month - year * 12 + 1, 2)
    }
}

extension BrinsonAttribution {
    /// A strategy as a segment of attribution by strategy: its backtest's monthly returns, the
    /// portfolio's weight in it, and the benchmark's weight in its asset held outright.
    public struct StrategySegment: Sendable {
        public var name: String
        public var months: [MonthlyReturn]
        public var portfolioWeight: Double
        public var benchmarkWeight: Double

        public init(name: String, months: [MonthlyReturn], portfolioWeight: Double, benchmarkWeight: Double) {
            self.name = name
            self.months = months
            self.portfolioWeight = portfolioWeight
            self.benchmarkWeight = benchmarkWeight
        }
    }

    /// Attribution by strategy: in each month every backtest covers, the portfolio holds each
    /// strategy at its weight and earns the strategy's return; the benchmark holds each
    /// strategy's asset outright at its weight. Selection is then what the strategy added over
    /// holding its asset, allocation what the weights added.
    public init(strategies: [StrategySegment]) throws {
        guard strategies.count >= 1 else {
            throw ServiceError(.invalidInput, "field 'backtests': at least one completed backtest")
        }
        for (field, total) in [
            ("portfolioWeight", strategies.map(\.portfolioWeight).reduce(0, +)),
            ("benchmarkWeight", strategies.map(\.benchmarkWeight).reduce(0, +)),
        ] where !(abs(total - 1) < 1e-6) {
            throw ServiceError(.invalidInput, "field 'backtests[].\(field)': the weights add up to \(total), not 1")
        }
        let common = strategies.dropFirst().reduce(Set(strategies[0].months.map(\.month))) {
            $0.intersection($1.months.map(\.month))
        }
        guard !common.isEmpty else {
            throw ServiceError(.invalidInput, "field 'backtests': the backtests have no calendar month in common")
        }
        let byMonth = strategies.map { Dictionary($0.months.map { ($0.month, $0) }, uniquingKeysWith: { a, _ in a }) }
        let periods = common.sorted().map { month in
            var portfolio: [String: Holding] = [:]
            var benchmark: [String: Holding] = [:]
            for (index, strategy) in strategies.enumerated() {
                let returns = byMonth[index][month]!
                portfolio[strategy.name] = Holding(weight: strategy.portfolioWeight, return: returns.strategy)
                benchmark[strategy.name] = Holding(weight: strategy.benchmarkWeight, return: returns.asset)
            }
            return Period(label: month, portfolio: portfolio, benchmark: benchmark)
        }
        try self.init(periods: periods)
    }
}
