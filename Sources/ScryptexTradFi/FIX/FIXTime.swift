public import Foundation
import ScryptexCore

/// FIX's UTCTimestamp: `YYYYMMDD-HH:MM:SS` or `YYYYMMDD-HH:MM:SS.sss`, always UTC.
public enum FIXTime {
    /// `instant` to the millisecond.
    public static func format(_ instant: Date) -> String {
        let milliseconds = Int64((instant.timeIntervalSince1970 * 1000).rounded(.down))
        let days = Int(milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000)
        let within = Int(milliseconds - Int64(days) * 86_400_000)
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: days)
        return CivilCalendar.pad(year, 4) + CivilCalendar.pad(month, 2) + CivilCalendar.pad(day, 2) + "-"
            + CivilCalendar.pad(within / 3_600_000, 2) + ":" + CivilCalendar.pad(within / 60_000 % 60, 2) + ":"
            + CivilCalendar.pad(within / 1000 % 60, 2) + "." + CivilCalendar.pad(within % 1000, 3)
    }

    /// FIX's LocalMktDate of `instant` in UTC: `YYYYMMDD` (a ClearingBusinessDate, say).
    public static func businessDate(_ instant: Date) -> String {
        String(format(instant).prefix(8))
    }

    /// `YYYYMMDD` as `YYYY-MM-DD`, nil unless it is a real date.
    public static func isoDate(fromBusinessDate text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 8, bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let digits = bytes.map { Int($0 - 0x30) }
        let year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
        let month = digits[4] * 10 + digits[5]
        let day = digits[6] * 10 + digits[7]
        guard year >= 1, (1...12).contains(month),
            (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        return CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
    }

    /// The instant a timestamp names, nil if it is not one.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 17 || bytes.count == 21, bytes[8] == UInt8(ascii: "-"), bytes[11] == UInt8(ascii: ":"),
            bytes[14] == UInt8(ascii: ":"), bytes.count == 17 || bytes[17] == UInt8(ascii: ".")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(12..<14), let second = number(15..<17),
            (1...12).contains(month), (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var milliseconds = 0
        if bytes.count == 21 {
            guard let fraction = number(18..<21) else { return nil }
            milliseconds = fraction
        }
        let seconds =
            Double(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)) * 86_400
            + Double(hour * 3600 + minute * 60 + second) + Double(milliseconds) / 1000
        return Date(timeIntervalSince1970: seconds)
    }
}
