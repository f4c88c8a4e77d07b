public import Foundation
import ScryptexCore

/// Calendar months in UTC as the ledger names them (`2026-11`): periods, plan start months and
/// the month a fee event is booked in. Text sorts in time order.
public enum RevenueMonth {
    /// The month `date` falls in, in UTC.
    public static func of(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, _) = CivilCalendar.civil(fromDaysSinceEpoch: days)
        return CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2)
    }

    /// Whether `text` is a month such as `2026-11` (years 2000 to 2100).
    public static func isValid(_ text: String) -> Bool {
        guard let (year, month) = parts(of: text) else { return false }
        return (2000...2100).contains(year) && (1...12).contains(month)
    }

    /// The month after `month`.
    public static func next(after month: String) -> String {
        guard let (year, number) = parts(of: month) else { preconditionFailure("'\(month)' is not a month") }
        return number == 12
            ? CivilCalendar.pad(year + 1, 4) + "-01"
            : CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(number + 1, 2)
    }

    /// The month before `month`.
    public static func previous(before month: String) -> String {
        guard let (year, number) = parts(of: month) else { preconditionFailure("'\(month)' is not a month") }
        return number == 1
            ? CivilCalendar.pad(year - 1, 4) + "-12"
            : CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(number - 1, 2)
    }

    private static func parts(of text: String) -> (Int, Int)? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 7, utf8[4] == UInt8(ascii: "-"),
            utf8.enumerated().allSatisfy({
                $0.offset == 4 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0.element)
            }),
            let year = Int(text.prefix(4)), let month = Int(text.suffix(2))
        else { return nil }
        return (year, month)
    }
}
