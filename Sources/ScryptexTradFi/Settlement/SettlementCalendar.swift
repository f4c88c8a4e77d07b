public import Foundation
public import ScryptexPostgres

/// When a currency settles: its settlement cycle in business days, the cut-off after which a
/// payment no longer settles that day, and its business days (Monday to Friday, less the
/// holidays recorded for it).
public struct SettlementCalendar: Sendable {
    public var currency: String
    /// Business days from the trade date to the value date.
    public var cycleDays: Int
    /// The cut-off, in minutes after midnight UTC, of a payment for value that day.
    public var cutOffMinutesUTC: Int
    public var holidays: Set<PostgresDate>

    /// The fiat currencies settled here, with their cycle and cut-off (UTC, for the usual
    /// high-value systems: Fedwire 18:00 New York, TARGET2 customer payments 17:00 CET, CHAPS
    /// 17:40 London less an hour's margin, SIC, BOJ-NET, LVTS/Lynx, RITS, MEPS+, CHATS).
    static let conventions: [String: (cycle: Int, cutOff: Int)] = [
        "USD": (1, 22 * 60), "EUR": (2, 16 * 60), "GBP": (2, 15 * 60 + 40), "CHF": (2, 14 * 60),
        "JPY": (2, 6 * 60), "CAD": (1, 21 * 60), "AUD": (2, 6 * 60), "SGD": (2, 9 * 60), "HKD": (2, 9 * 60),
    ]

    public static var currencies: [String] { conventions.keys.sorted() }

    /// The calendar of `currency`; nil for a currency not settled here (a stablecoin settles on
    /// chain, not through a payment system).
    public init?(currency: String, holidays: Set<PostgresDate> = []) {
        guard let convention = Self.conventions[currency] else { return nil }
        self.currency = currency
        cycleDays = convention.cycle
        cutOffMinutesUTC = convention.cutOff
        self.holidays = holidays
    }

    public func isBusinessDay(_ day: PostgresDate) -> Bool {
        // 1970-01-01 was a Thursday: 0 Thursday … 2 Saturday, 3 Sunday.
        let weekday = ((day.daysSinceEpoch % 7) + 7) % 7
        return weekday != 2 && weekday != 3 && !holidays.contains(day)
    }

    /// The business day `count` business days after `day` (the next one for 1).
    public func adding(businessDays count: Int, to day: PostgresDate) -> PostgresDate {
        var date = day
        var left = count
        while left > 0 {
            date = date.adding(days: 1)
            if isBusinessDay(date) { left -= 1 }
        }
        return date
    }

    /// The instant the cut-off of `day` falls at.
    public func cutOff(of day: PostgresDate) -> Date {
        Date(timeIntervalSince1970: TimeInterval(day.daysSinceEpoch * 86_400 + cutOffMinutesUTC * 60))
    }

    /// The value date of a trade made on `tradeDate`, instructed at `now`: the cycle's business
    /// day, or — when that day's cut-off has passed (a late instruction) — the next business day
    /// whose cut-off has not. Returns it and whether it rolled.
    public func valueDate(tradeDate: PostgresDate, instructedAt now: Date) -> (date: PostgresDate, rolled: Bool) {
        // A trade on a weekend or holiday counts from the next business day.
        let counted = isBusinessDay(tradeDate) ? tradeDate : adding(businessDays: 1, to: tradeDate)
        var date = adding(businessDays: cycleDays, to: counted)
        var rolled = false
        while cutOff(of: date) < now {
            date = adding(businessDays: 1, to: date)
            rolled = true
        }
        return (date, rolled)
    }
}
