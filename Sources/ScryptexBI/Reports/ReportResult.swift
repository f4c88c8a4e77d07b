public import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexInstitutional
import ScryptexMarketMaking
public import ScryptexPostgres
public import ScryptexQuant

/// A generated report: its table (dimensions then metrics, one row per group), totals, the time
/// series its charts plot, and the sections asked for. The JSON, CSV, HTML and PDF files are
/// all written from it.
public struct ReportResult: Sendable, Codable, Equatable {
    public struct Column: Sendable, Codable, Equatable {
        public var name: String
        public var label: String
        /// `dimension` or `metric`.
        public var kind: String
        public var unit: String?
    }

    /// One point of a time series: the period's label and each metric's value.
    public struct Point: Sendable, Codable, Equatable {
        public var period: String
        public var values: [String: Double]
    }

    public struct Risk: Sendable, Codable, Equatable {
        public var capitalUSD: String
        public var days: Int
        public var statistics: ReturnStatistics?
        public var note: String?
    }

    public var name: String
    public var brand: String
    public var period: ReportDefinition.Period
    public var generatedAt: Date
    public var metrics: [String]
    public var dimensions: [String]
    public var filters: [String: [String]]?
    public var columns: [Column]
    /// Each row's cells as text (exact amounts written out in full).
    public var rows: [[String]]
    /// Each metric's total over every row.
    public var totals: [String: String]
    /// Per time period (the report's time dimension, else days), each metric summed.
    public var series: [Point]
    /// The first non-time dimension's values per time period, for the first metric (stacked).
    public var stacked: [String: [Double]]?
    public var risk: Risk?
    public var attribution: Attribution?

    /// Brinson-Fachler attribution of the period's return by instrument against an equal-weighted
    /// basket of the instruments traded (`ReportQuery.attribution`).
    public struct Attribution: Sendable, Codable, Equatable {
        public var capitalUSD: String
        public var benchmark: String
        /// The quant suite's analysis: per month and linked over the months (Carino).
        public var analysis: BrinsonAttribution?
        /// Instruments without a price at some month's start or end: held by the portfolio only.
        public var unpriced: [String]
        /// Months left out, and why.
        public var skipped: [String]
        public var note: String?
    }
}

/// Computes a report's result from the trading facts.
public struct ReportQuery: Sendable {
    public init() {}

    /// The largest number of rows a report's table holds.
    public static let maximumRows = 50_000

    public func run(
        _ definition: ReportDefinition, account: UUID, brand: String, now: Date = Date(),
        in transaction: PostgresTransaction
    ) async throws -> ReportResult {
        try definition.validate()
        var accounts = try await DashboardService().accounts(in: .account(account), in: transaction)
        if let wanted = definition.filters?["account"] {
            let allowed = Set(wanted.compactMap { UUID(uuidString: $0) })
            accounts = accounts.filter { allowed.contains($0) }
        }
        let (from, to) = definition.days
        let names = try await AccountService().names(of: accounts, in: transaction)
        let strategies = try await Self.strategyNames(accounts: accounts, in: transaction)
        // A strategy filter names strategies as reports show them (or by their stored value).
        let strategyFilter = definition.filters?["strategy"].map { wanted in
            strategies.filter { wanted.contains($0.value) || wanted.contains($0.key) }.map(\.key)
        }
        let rows = try await transaction.query(
            """
            SELECT account_id, symbol, venue, strategy, day, trades, quantity, volume_usd, buy_volume_usd,
                sell_volume_usd, realised_usd
            FROM bi_daily_facts
            WHERE account_id = ANY(\(accounts)::uuid[]) AND day BETWEEN \(from) AND \(to)
              AND (\(definition.filters?["instrument"])::text[] IS NULL OR symbol = ANY(\(definition.filters?["instrument"])::text[]))
              AND (\(definition.filters?["venue"])::text[] IS NULL OR venue = ANY(\(definition.filters?["venue"])::text[]))
              AND (\(strategyFilter)::text[] IS NULL OR strategy = ANY(\(strategyFilter)::text[]))
            ORDER BY day
            """)
        var facts: [Fact] = []
        facts.reserveCapacity(rows.count)
        for row in rows {
            let account = try row.decode("account_id", as: UUID.self)
            facts.append(
                Fact(
                    account: names[account] ?? account.uuidString.lowercased(),
                    instrument: try row.decode("symbol", as: String.self),
                    venue: try row.decode("venue", as: String.self),
                    strategy: strategies[try row.decode("strategy", as: String.self)] ?? "",
                    day: try row.decode("day", as: PostgresDate.self), trades: try row.decode("trades", as: Int.self),
                    quantity: try row.decode("quantity", as: ExactDecimal.self),
                    volume: try row.decode("volume_usd", as: ExactDecimal.self),
                    buyVolume: try row.decode("buy_volume_usd", as: ExactDecimal.self),
                    sellVolume: try row.decode("sell_volume_usd", as: ExactDecimal.self),
                    realised: try row.decode("realised_usd", as: ExactDecimal.self)))
        }
        var result = try Self.tabulate(facts, definition: definition, brand: brand, now: now)
        let sections = definition.sections ?? []
        if !sections.isEmpty {
            let capital = try await Self.capital(account: account, in: transaction)
            if sections.contains("risk") { result.risk = Self.risk(facts: facts, from: from, to: to, capital: capital) }
            if sections.contains("attribution") {
                let instruments = Set(facts.map(\.instrument)).sorted()
                var prices: [Int: [String: ExactDecimal]] = [:]
                for month in Self.months(from: from, to: to) {
                    for boundary in [month.first, month.last.adding(days: 1)]
                    where prices[boundary.daysSinceEpoch] == nil {
                        prices[boundary.daysSinceEpoch] = try await TradeHistory().prices(
                            of: instruments,
                            before: Date(timeIntervalSince1970: Double(boundary.daysSinceEpoch) * 86_400),
                            in: transaction)
                    }
                }
                result.attribution = Self.attribution(
                    facts: facts, from: from, to: to, capital: capital, prices: prices)
            }
        }
        return result
    }

    struct Fact {
        var account: String
        var instrument: String
        var venue: String
        var strategy: String
        var day: PostgresDate
        var trades: Int
        var quantity: ExactDecimal
        var volume: ExactDecimal
        var buyVolume: ExactDecimal
        var sellVolume: ExactDecimal
        var realised: ExactDecimal

        func value(of dimension: String) -> String {
            switch dimension {
            case "account": account
            case "instrument": instrument
            case "venue": venue
            case "strategy": strategy
            case "day": day.description
            case "week": day.adding(days: -((day.daysSinceEpoch + 3) % 7)).description
            default: String(day.description.prefix(7))
            }
        }
    }

    struct Sums {
        var trades = 0
        var quantity = ExactDecimal.zero
        var volume = ExactDecimal.zero
        var buyVolume = ExactDecimal.zero
        var sellVolume = ExactDecimal.zero
        var realised = ExactDecimal.zero

        mutating func add(_ fact: Fact) throws {
            trades += fact.trades
            quantity = try quantity.adding(fact.quantity, figure: "quantity")
            volume = try volume.adding(fact.volume, figure: "volume")
            buyVolume = try buyVolume.adding(fact.buyVolume, figure: "buy volume")
            sellVolume = try sellVolume.adding(fact.sellVolume, figure: "sell volume")
            realised = try realised.adding(fact.realised, figure: "P&L")
        }

        func value(of metric: String) throws -> ExactDecimal {
            switch metric {
            case "pnl": realised
            case "volume": volume
            case "buyVolume": buyVolume
            case "sellVolume": sellVolume
            case "netVolume": try buyVolume.subtracting(sellVolume, figure: "net volume")
            case "trades": ExactDecimal(trades)
            case "quantity": quantity
            default: trades == 0 ? .zero : volume.divided(by: ExactDecimal(trades), scale: 2) ?? .zero
            }
        }
    }

    static func tabulate(
        _ facts: [Fact], definition: ReportDefinition, brand: String, now: Date
    ) throws
        -> ReportResult
    {
        var groups: [[String]: Sums] = [:]
        var total = Sums()
        let timeDimension = definition.dimensions.first { ReportCatalogue.timeDimensions.contains($0) } ?? "day"
        var perPeriod: [String: Sums] = [:]
        let stackDimension = definition.dimensions.first { !ReportCatalogue.timeDimensions.contains($0) }
        var stackedSums: [String: [String: Sums]] = [:]
        for fact in facts {
            let key = definition.dimensions.map { fact.value(of: $0) }
            try groups[key, default: Sums()].add(fact)
            try total.add(fact)
            let period = fact.value(of: timeDimension)
            try perPeriod[period, default: Sums()].add(fact)
            if let stackDimension {
                try stackedSums[fact.value(of: stackDimension), default: [:]][period, default: Sums()].add(fact)
            }
        }
        guard groups.count <= maximumRows else {
            throw ServiceError(
                .invalidInput,
                "the report has \(groups.count) rows, more than \(maximumRows): add filters or fewer dimensions")
        }
        let catalogue = Dictionary(
            uniqueKeysWithValues: (ReportCatalogue.metrics + ReportCatalogue.dimensions).map { ($0.name, $0) })
        let columns =
            definition.dimensions.map {
                ReportResult.Column(name: $0, label: catalogue[$0]?.label ?? $0, kind: "dimension", unit: nil)
            }
            + definition.metrics.map {
                ReportResult.Column(
                    name: $0, label: catalogue[$0]?.label ?? $0, kind: "metric", unit: catalogue[$0]?.unit)
            }
        let rows = try groups.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { key, sums in
            key + (try definition.metrics.map { try sums.value(of: $0).normalized.description })
        }
        let periods = perPeriod.keys.sorted()
        let series = try periods.map { period in
            ReportResult.Point(
                period: period,
                values: Dictionary(
                    uniqueKeysWithValues: try definition.metrics.map {
                        ($0, try perPeriod[period, default: Sums()].value(of: $0).doubleValue)
                    }))
        }
        var stacked: [String: [Double]]?
        if stackDimension != nil, let first = definition.metrics.first, stackedSums.count <= 12 {
            stacked = try stackedSums.mapValues { byPeriod in
                try periods.map { try byPeriod[$0]?.value(of: first).doubleValue ?? 0 }
            }
        }
        return ReportResult(
            name: definition.name, brand: brand, period: definition.period, generatedAt: now,
            metrics: definition.metrics, dimensions: definition.dimensions, filters: definition.filters,
            columns: columns, rows: rows,
            totals: Dictionary(
                uniqueKeysWithValues: try definition.metrics.map {
                    ($0, try total.value(of: $0).normalized.description)
                }),
            series: series, stacked: stacked, risk: nil)
    }

    /// Each strategy value the accounts' facts hold, and how reports show it: `trading`, or
    /// `market making: <name>` for a market-making strategy's fills.
    static func strategyNames(accounts: [UUID], in transaction: PostgresTransaction) async throws -> [String: String] {
        let values = try await transaction.query(
            "SELECT DISTINCT strategy FROM bi_daily_facts WHERE account_id = ANY(\(accounts)::uuid[])"
        ).map { try $0.decode("strategy", as: String.self) }
        let names = try await FillHistory().names(of: values.compactMap(StrategyFacts.strategyID), in: transaction)
        var shown = [TradingFacts.strategy: TradingFacts.strategy]
        for value in values {
            guard let id = StrategyFacts.strategyID(value) else {
                shown[value] = value
                continue
            }
            shown[value] = "market making: " + (names[id] ?? id.uuidString.lowercased())
        }
        return shown
    }

    static func capital(account: UUID, in transaction: PostgresTransaction) async throws -> ExactDecimal {
        let accounts = try await DashboardService().accounts(in: .account(account), in: transaction)
        let valued = try await TradeHistory().valuedPositions(of: accounts, in: transaction).compactMap(\.valueUSD)
            .sum(figure: "the valued AUM")
        if valued > .zero { return valued }
        return try await AccountService().account(account, in: transaction).totalAUM
    }

    /// The calendar months of a period, clipped to it: label `YYYY-MM`, first and last day.
    static func months(
        from: PostgresDate, to: PostgresDate
    ) -> [(label: String, first: PostgresDate, last: PostgresDate)] {
        var months: [(String, PostgresDate, PostgresDate)] = []
        var first = from
        while !(to < first) {
            let next =
                first.month == 12
                ? PostgresDate(year: first.year + 1, month: 1, day: 1)!
                : PostgresDate(year: first.year, month: first.month + 1, day: 1)!
            let last = to < next.adding(days: -1) ? to : next.adding(days: -1)
            months.append((String(first.description.prefix(7)), first, last))
            first = next
        }
        return months
    }

    static let attributionBenchmark =
        "an equal-weighted basket of the instruments traded in the period that have a price at the month's start and end, each returning its price change over the month (reference price in force, else the last trade)"

    /// Brinson-Fachler attribution by instrument, month by month, linked with Carino's
    /// coefficients (the quant suite's `BrinsonAttribution`). In each month the portfolio holds
    /// each instrument at its share of the month's volume, w_i, and earns r_i = realised P&L_i ÷
    /// (capital · w_i) — so Σ w_i r_i is the month's realised P&L ÷ capital, the return the risk
    /// section measures; the benchmark is `attributionBenchmark`. `prices` holds, per day since
    /// 1970, the instruments' prices just before that day.
    static func attribution(
        facts: [Fact], from: PostgresDate, to: PostgresDate, capital: ExactDecimal,
        prices: [Int: [String: ExactDecimal]]
    ) -> ReportResult.Attribution {
        var attribution = ReportResult.Attribution(
            capitalUSD: capital.normalized.description, benchmark: attributionBenchmark, analysis: nil, unpriced: [],
            skipped: [], note: nil)
        let capitalValue = capital.doubleValue
        guard capitalValue > 0 else {
            attribution.note = "no capital to measure returns against"
            return attribution
        }
        var unpriced: Set<String> = []
        var periods: [BrinsonAttribution.Period] = []
        for month in months(from: from, to: to) {
            var volume: [String: Double] = [:]
            var realised: [String: Double] = [:]
            for fact in facts where !(fact.day < month.first) && !(month.last < fact.day) {
                volume[fact.instrument, default: 0] += fact.volume.doubleValue
                realised[fact.instrument, default: 0] += fact.realised.doubleValue
            }
            let total = volume.values.reduce(0, +)
            guard total > 0 else {
                attribution.skipped.append("\(month.label): no trades")
                continue
            }
            var portfolio: [String: BrinsonAttribution.Holding] = [:]
            for (instrument, traded) in volume where traded > 0 {
                let weight = traded / total
                portfolio[instrument] = .init(
                    weight: weight, return: (realised[instrument] ?? 0) / (capitalValue * weight))
            }
            let start = prices[month.first.daysSinceEpoch] ?? [:]
            let end = prices[month.last.adding(days: 1).daysSinceEpoch] ?? [:]
            var benchmarkReturns: [String: Double] = [:]
            for instrument in Set(facts.map(\.instrument)) {
                guard let opening = start[instrument]?.doubleValue, let closing = end[instrument]?.doubleValue,
                    opening > 0
                else {
                    unpriced.insert(instrument)
                    continue
                }
                benchmarkReturns[instrument] = closing / opening - 1
            }
            guard !benchmarkReturns.isEmpty else {
                attribution.skipped.append("\(month.label): no instrument has a price at the month's start and end")
                continue
            }
            let benchmarkWeight = 1 / Double(benchmarkReturns.count)
            periods.append(
                .init(
                    label: month.label, portfolio: portfolio,
                    benchmark: benchmarkReturns.mapValues { .init(weight: benchmarkWeight, return: $0) }))
        }
        attribution.unpriced = unpriced.sorted()
        guard !periods.isEmpty else {
            attribution.note = "no month of the period has both trades and priced instruments"
            return attribution
        }
        do {
            attribution.analysis = try BrinsonAttribution(periods: periods)
        } catch {
            attribution.note =
                "attribution is not defined for this period: \((error as? ServiceError)?.message ?? "\(error)")"
        }
        return attribution
    }

    static func risk(facts: [Fact], from: PostgresDate, to: PostgresDate, capital: ExactDecimal) -> ReportResult.Risk {
        var byDay: [Int: Double] = [:]
        for fact in facts { byDay[fact.day.daysSinceEpoch, default: 0] += fact.realised.doubleValue }
        let days = (from.daysSinceEpoch...to.daysSinceEpoch).map { byDay[$0] ?? 0 }
        let capitalValue = capital.doubleValue
        guard capitalValue > 0, days.count >= 2 else {
            return .init(
                capitalUSD: capital.normalized.description, days: days.count, statistics: nil,
                note: capitalValue > 0
                    ? "risk needs a period of at least two days" : "no capital to measure returns against")
        }
        return .init(
            capitalUSD: capital.normalized.description, days: days.count,
            statistics: ReturnStatistics(returns: days.map { $0 / capitalValue }, periodsPerYear: 365), note: nil)
    }
}
