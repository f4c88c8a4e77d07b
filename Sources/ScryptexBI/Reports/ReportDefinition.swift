public import Foundation
public import ScryptexCore
import ScryptexPostgres

/// What can be reported: the metrics and dimensions a definition may name, each with what it
/// means (`GET …/reports/catalogue`).
public enum ReportCatalogue {
    public struct Entry: Sendable, Encodable, Equatable {
        public var name: String
        public var label: String
        public var definition: String
        public var unit: String?
    }

    public static let metrics: [Entry] = [
        Entry(
            name: "pnl", label: "Realised P&L",
            definition:
                "realised P&L of the trades at average cost per account and symbol, in USD at each closing trade's rate",
            unit: "USD"),
        Entry(
            name: "volume", label: "Volume", definition: "Σ notional in USD (face value where no rate was known)",
            unit: "USD"),
        Entry(name: "buyVolume", label: "Buy volume", definition: "volume of buys", unit: "USD"),
        Entry(name: "sellVolume", label: "Sell volume", definition: "volume of sells", unit: "USD"),
        Entry(name: "netVolume", label: "Net volume", definition: "buy volume − sell volume", unit: "USD"),
        Entry(name: "trades", label: "Trades", definition: "trades executed, not cancelled", unit: nil),
        Entry(
            name: "quantity", label: "Quantity", definition: "Σ quantity traded (units of each instrument)", unit: nil),
        Entry(
            name: "averageTradeSize", label: "Average trade", definition: "volume ÷ trades", unit: "USD"),
    ]

    public static let dimensions: [Entry] = [
        Entry(name: "account", label: "Account", definition: "the institutional account (by name)", unit: nil),
        Entry(name: "instrument", label: "Instrument", definition: "the traded symbol", unit: nil),
        Entry(name: "venue", label: "Venue", definition: "the execution venue (empty when none was booked)", unit: nil),
        Entry(
            name: "strategy", label: "Strategy",
            definition:
                "what produced the trade: `trading` for trades booked through the API, `market making: <name>` for the fills of a market-making strategy",
            unit: nil),
        Entry(name: "day", label: "Day", definition: "the UTC day of execution", unit: nil),
        Entry(name: "week", label: "Week", definition: "the ISO week of execution (its Monday)", unit: nil),
        Entry(name: "month", label: "Month", definition: "the calendar month of execution (UTC)", unit: nil),
    ]

    public static let sections: [Entry] = [
        Entry(
            name: "risk", label: "Risk",
            definition:
                "VaR and expected shortfall (historical and parametric, 95 %), Sharpe, volatility and maximum drawdown of the period's daily returns (realised P&L ÷ capital), as the quant suite defines them",
            unit: nil),
        Entry(
            name: "attribution", label: "Attribution",
            definition:
                "Brinson-Fachler attribution of the period's return by instrument, month by month, linked with Carino's coefficients (the quant suite's): the portfolio holds each instrument at its share of the month's volume and earns its realised P&L on that share of capital; the benchmark is an equal-weighted basket of the instruments traded, each returning its price change over the month",
            unit: nil),
    ]

    public static let formats = ["json", "csv", "html", "pdf"]
    public static let timeDimensions: Set<String> = ["day", "week", "month"]
}

/// When a scheduled report runs: daily, weekly (on a weekday) or monthly (on a day of the
/// month), at a local time in a time zone.
public struct ReportSchedule: Sendable, Codable, Equatable {
    public var frequency: String
    public var timeZone: String
    /// `HH:MM`, local.
    public var time: String
    /// 1 (Monday) … 7 (Sunday), weekly only.
    public var weekday: Int?
    /// 1 … 28, monthly only.
    public var dayOfMonth: Int?

    public init(frequency: String, timeZone: String, time: String, weekday: Int? = nil, dayOfMonth: Int? = nil) {
        self.frequency = frequency
        self.timeZone = timeZone
        self.time = time
        self.weekday = weekday
        self.dayOfMonth = dayOfMonth
    }
}

/// A custom report: metrics by dimensions over a period, filtered.
public struct ReportDefinition: Sendable, Codable, Equatable {
    public struct Period: Sendable, Codable, Equatable {
        public var from: String
        public var to: String

        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }

    public struct Webhook: Sendable, Codable, Equatable {
        public var url: String
    }

    public var name: String
    public var metrics: [String]
    public var dimensions: [String]
    public var period: Period
    /// Per dimension (not a time one), the values kept.
    public var filters: [String: [String]]?
    public var sections: [String]?
    /// The format the client asked for first (all are generated).
    public var format: String?
    public var schedule: ReportSchedule?
    public var webhook: Webhook?

    public init(
        name: String, metrics: [String], dimensions: [String], period: Period, filters: [String: [String]]? = nil,
        sections: [String]? = nil, format: String? = nil, schedule: ReportSchedule? = nil, webhook: Webhook? = nil
    ) {
        self.name = name
        self.metrics = metrics
        self.dimensions = dimensions
        self.period = period
        self.filters = filters
        self.sections = sections
        self.format = format
        self.schedule = schedule
        self.webhook = webhook
    }

    static let fields: Set<String> = [
        "name", "metrics", "dimensions", "period", "filters", "sections", "format", "schedule", "webhook",
    ]

    /// Reads a request body strictly: unknown fields, metrics, dimensions, a period that ends
    /// before it starts, an unknown time zone are refused, naming the field.
    public static func decode(_ bytes: [UInt8]) throws -> ReportDefinition {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw ServiceError(.invalidInput, "the body is not a JSON object")
            }
            object = parsed
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        try only(object, fields, field: "")
        if let period = object["period"] as? [String: Any] { try only(period, ["from", "to"], field: "period.") }
        if let schedule = object["schedule"] as? [String: Any] {
            try only(schedule, ["frequency", "timeZone", "time", "weekday", "dayOfMonth"], field: "schedule.")
        }
        if let webhook = object["webhook"] as? [String: Any] { try only(webhook, ["url"], field: "webhook.") }
        let definition: ReportDefinition
        do {
            definition = try JSONDecoder().decode(ReportDefinition.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw ServiceError(.invalidInput, "field '\(path(context.codingPath + [key]))': required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ServiceError(.invalidInput, "field '\(path(context.codingPath))': not the right type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ServiceError(.invalidInput, "field '\(path(context.codingPath))': required")
        } catch {
            throw ServiceError(.invalidInput, "the body is not a report definition")
        }
        try definition.validate()
        return definition
    }

    static func only(_ object: [String: Any], _ allowed: Set<String>, field: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ServiceError(
                .invalidInput, "field '\(field)\(unknown.prefix(80))': not a field of a report definition")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingPrefix(".").description
    }

    /// The period's first and last day (of a validated definition: `validate()` refuses any
    /// other).
    var days: (from: PostgresDate, to: PostgresDate) {
        (PostgresDate(iso8601: period.from)!, PostgresDate(iso8601: period.to)!)
    }

    public func validate() throws(ServiceError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count), !trimmed.contains(where: \.isNewline) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 200 characters on one line")
        }
        let metricNames = Set(ReportCatalogue.metrics.map(\.name))
        guard (1...8).contains(metrics.count) else {
            throw ServiceError(.invalidInput, "field 'metrics': 1 to 8 metrics (GET …/reports/catalogue lists them)")
        }
        for (index, metric) in metrics.enumerated() where !metricNames.contains(metric) {
            throw ServiceError(
                .invalidInput,
                "field 'metrics[\(index)]': '\(metric.prefix(80))' is not a metric; one of \(ReportCatalogue.metrics.map(\.name).joined(separator: ", "))"
            )
        }
        guard Set(metrics).count == metrics.count else {
            throw ServiceError(.invalidInput, "field 'metrics': a metric is named twice")
        }
        let dimensionNames = Set(ReportCatalogue.dimensions.map(\.name))
        guard dimensions.count <= 3 else {
            throw ServiceError(.invalidInput, "field 'dimensions': at most 3 dimensions")
        }
        for (index, dimension) in dimensions.enumerated() where !dimensionNames.contains(dimension) {
            throw ServiceError(
                .invalidInput,
                "field 'dimensions[\(index)]': '\(dimension.prefix(80))' is not a dimension; one of \(ReportCatalogue.dimensions.map(\.name).joined(separator: ", "))"
            )
        }
        guard Set(dimensions).count == dimensions.count else {
            throw ServiceError(.invalidInput, "field 'dimensions': a dimension is named twice")
        }
        guard dimensions.filter({ ReportCatalogue.timeDimensions.contains($0) }).count <= 1 else {
            throw ServiceError(.invalidInput, "field 'dimensions': at most one of day, week and month")
        }
        guard let from = PostgresDate(iso8601: period.from) else {
            throw ServiceError(.invalidInput, "field 'period.from': a date such as 2026-11-01")
        }
        guard let to = PostgresDate(iso8601: period.to) else {
            throw ServiceError(.invalidInput, "field 'period.to': a date such as 2026-11-30")
        }
        guard !(to < from) else {
            throw ServiceError(
                .invalidInput, "field 'period': it ends (\(period.to)) before it starts (\(period.from))")
        }
        guard to.daysSinceEpoch - from.daysSinceEpoch < 3_660 else {
            throw ServiceError(.invalidInput, "field 'period': at most 10 years")
        }
        for (dimension, values) in filters ?? [:] {
            guard dimensionNames.contains(dimension), !ReportCatalogue.timeDimensions.contains(dimension) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'filters.\(dimension.prefix(80))': filters are by account, instrument, venue or strategy")
            }
            guard (1...100).contains(values.count), values.allSatisfy({ (0...200).contains($0.count) }) else {
                throw ServiceError(.invalidInput, "field 'filters.\(dimension)': 1 to 100 values")
            }
            if dimension == "account", let bad = values.first(where: { UUID(uuidString: $0) == nil }) {
                throw ServiceError(.invalidInput, "field 'filters.account': '\(bad.prefix(80))' is not an account id")
            }
        }
        let sectionNames = Set(ReportCatalogue.sections.map(\.name))
        for section in sections ?? [] where !sectionNames.contains(section) {
            throw ServiceError(
                .invalidInput, "field 'sections': '\(section.prefix(80))' is not a section; risk or attribution")
        }
        if let format, !ReportCatalogue.formats.contains(format) {
            throw ServiceError(.invalidInput, "field 'format': json, csv, html or pdf")
        }
        if let schedule { try schedule.validate() }
        if let webhook {
            guard let url = URLComponents(string: webhook.url), url.scheme == "https", url.host?.isEmpty == false,
                url.user == nil, url.password == nil, webhook.url.count <= 2_000
            else {
                throw ServiceError(.invalidInput, "field 'webhook.url': an https URL without credentials")
            }
            guard schedule != nil else {
                throw ServiceError(.invalidInput, "field 'webhook': only a scheduled report has a webhook")
            }
        }
    }
}

extension ReportSchedule {
    public func validate() throws(ServiceError) {
        guard ["daily", "weekly", "monthly"].contains(frequency) else {
            throw ServiceError(.invalidInput, "field 'schedule.frequency': daily, weekly or monthly")
        }
        guard TimeZone(identifier: timeZone) != nil, timeZone.count <= 64 else {
            throw ServiceError(
                .invalidInput,
                "field 'schedule.timeZone': '\(timeZone.prefix(80))' is not a time zone such as Europe/London")
        }
        guard localTime != nil else {
            throw ServiceError(.invalidInput, "field 'schedule.time': a local time such as 06:30")
        }
        switch frequency {
        case "weekly":
            guard let weekday, (1...7).contains(weekday), dayOfMonth == nil else {
                throw ServiceError(
                    .invalidInput, "field 'schedule.weekday': 1 (Monday) to 7 (Sunday) for a weekly report")
            }
        case "monthly":
            guard let dayOfMonth, (1...28).contains(dayOfMonth), weekday == nil else {
                throw ServiceError(.invalidInput, "field 'schedule.dayOfMonth': 1 to 28 for a monthly report")
            }
        default:
            guard weekday == nil, dayOfMonth == nil else {
                throw ServiceError(.invalidInput, "field 'schedule': a daily report has no weekday or dayOfMonth")
            }
        }
    }

    var localTime: (hour: Int, minute: Int)? {
        let parts = time.split(separator: ":")
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]),
            let minute = Int(parts[1]),
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        return (hour, minute)
    }

    /// The first run strictly after `instant`.
    public func nextRun(after instant: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let (hour, minute) = localTime ?? (0, 0)
        var components = DateComponents()
        components.hour = hour
        components.minute = minute
        components.second = 0
        switch frequency {
        case "weekly":
            // Calendar weekdays: 1 is Sunday.
            components.weekday = (weekday ?? 1) % 7 + 1
        case "monthly":
            components.day = dayOfMonth ?? 1
        default:
            break
        }
        return calendar.nextDate(after: instant, matching: components, matchingPolicy: .nextTime)
            ?? instant.addingTimeInterval(86_400)
    }

    /// The period a run at `instant` reports: the previous whole day, ISO week or month in the
    /// schedule's time zone.
    public func period(endingBefore instant: Date) -> ReportDefinition.Period {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        let today = PostgresDate(year: parts.year!, month: parts.month!, day: parts.day!)!
        switch frequency {
        case "weekly":
            // ISO weekday of today: Monday 1 … Sunday 7.
            let weekday = (today.daysSinceEpoch + 3) % 7 + 1
            let monday = today.adding(days: -(weekday - 1) - 7)
            return .init(from: monday.description, to: monday.adding(days: 6).description)
        case "monthly":
            let first = PostgresDate(year: today.year, month: today.month, day: 1)!
            let last = first.adding(days: -1)
            return .init(
                from: PostgresDate(year: last.year, month: last.month, day: 1)!.description, to: last.description)
        default:
            let yesterday = today.adding(days: -1)
            return .init(from: yesterday.description, to: yesterday.description)
        }
    }
}
