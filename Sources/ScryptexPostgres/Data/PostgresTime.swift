public import Foundation
import ScryptexCore

/// A calendar date without a time of day, as in a PostgreSQL `date` column.
public struct PostgresDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Makes a date; nil if the day does not exist (`2026-02-30`).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(iso8601 text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The date that `instant` falls on in UTC.
    public init(containing instant: Date) {
        let days = Int((instant.timeIntervalSince1970 / 86_400).rounded(.down))
        (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: days)
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int { CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) }

    /// The date `days` days later (or earlier, for a negative count).
    public func adding(days: Int) -> PostgresDate {
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: daysSinceEpoch + days)
        return PostgresDate(year: year, month: month, day: day)!
    }

    public var description: String {
        CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
    }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }
}

extension PostgresDate: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .date }
    public static var postgresArrayDataType: PostgresDataType { .dateArray }
    public var postgresText: String? { description }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let date = PostgresDate(iso8601: text) else {
            throw PostgresDecodingFailure("'\(text)' is not a date between years 0001 and 9999")
        }
        self = date
    }
}

extension Date: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .timestamptz }
    public static var postgresArrayDataType: PostgresDataType { .timestamptzArray }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, microsecond precision as PostgreSQL stores it.
    public var postgresText: String? {
        let microseconds = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        var days = microseconds / 86_400_000_000
        var remainder = microseconds % 86_400_000_000
        if remainder < 0 {
            remainder += 86_400_000_000
            days -= 1
        }
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: Int(days))
        let seconds = Int(remainder / 1_000_000)
        let fraction = Int(remainder % 1_000_000)
        return CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2) + " "
            + CivilCalendar.pad(seconds / 3600, 2) + ":" + CivilCalendar.pad(seconds / 60 % 60, 2) + ":"
            + CivilCalendar.pad(seconds % 60, 2) + "." + CivilCalendar.pad(fraction, 6) + "+00"
    }

    /// Decodes `timestamptz` (any offset) and `timestamp` (taken as UTC) in ISO style.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let date = TimestampText.parseTimestamp(text) else {
            throw PostgresDecodingFailure("'\(text)' is not an ISO timestamp between years 0001 and 9999")
        }
        self = date
    }
}

/// Parsing of PostgreSQL's ISO timestamp text.
enum TimestampText {
    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.ffffff][(+|-)HH[:MM[:SS]]]`.
    static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, bytes[10] == UInt8(ascii: " ") || bytes[10] == UInt8(ascii: "T"),
            let date = PostgresDate(iso8601: String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = number(bytes[11..<13]), let minute = number(bytes[14..<16]), let second = number(bytes[17..<19]),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var microseconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, let digit = number(bytes[index..<index + 1]) {
                if digits < 6 {
                    microseconds = microseconds * 10 + digit
                    digits += 1
                }
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<6 { microseconds *= 10 }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
            let parts = String(decoding: bytes[(index + 1)...], as: UTF8.self).split(separator: ":")
            guard (1...3).contains(parts.count) else { return nil }
            var multiplier = 3600
            for part in parts {
                guard part.count == 2, let value = Int(part) else { return nil }
                offsetSeconds += value * multiplier
                multiplier /= 60
            }
            if sign == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
        }
        let seconds = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let total = Int64(seconds) * 1_000_000 + Int64(microseconds)
        return Date(timeIntervalSince1970: Double(total) / 1_000_000)
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
