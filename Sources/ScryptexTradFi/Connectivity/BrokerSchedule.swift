public import Foundation
public import ScryptexCore

/// When a broker session is connected: the days of the week and the hours of each (in a time
/// zone of the IANA database, UTC by default). Outside them the host logs out and stays away;
/// no schedule means always.
public struct BrokerSchedule: Sendable, Codable, Equatable {
    /// `mon` … `sun`.
    public var days: [String]
    /// `HH:MM`, inclusive.
    public var start: String
    /// `HH:MM`, exclusive; `24:00` for the end of the day. Before `start`: the session spans
    /// midnight (it closes on the next day).
    public var end: String
    public var timeZone: String?

    public init(days: [String], start: String, end: String, timeZone: String? = nil) {
        self.days = days
        self.start = start
        self.end = end
        self.timeZone = timeZone
    }

    static let weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    static func minutes(_ text: String, field: String) throws(ServiceError) -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]),
            let minutes = Int(parts[1]), (0...24).contains(hours), (0...59).contains(minutes),
            hours < 24 || minutes == 0
        else { throw ServiceError(.invalidInput, "field 'schedule.\(field)': HH:MM, from 00:00 to 24:00") }
        return hours * 60 + minutes
    }

    public func validate() throws(ServiceError) {
        guard !days.isEmpty, days.allSatisfy(Self.weekdays.contains), Set(days).count == days.count else {
            throw ServiceError(
                .invalidInput, "field 'schedule.days': distinct days among mon, tue, wed, thu, fri, sat, sun")
        }
        let opens = try Self.minutes(start, field: "start")
        let closes = try Self.minutes(end, field: "end")
        guard opens != closes else {
            throw ServiceError(
                .invalidInput, "field 'schedule.end': the same time as start (leave out the schedule for always)")
        }
        if let timeZone, TimeZone(identifier: timeZone) == nil {
            throw ServiceError(.invalidInput, "field 'schedule.timeZone': not a time zone of the IANA database")
        }
    }

    /// Whether the session is open at `instant`. A session spanning midnight opens on a listed
    /// day and stays open into the next.
    public func isOpen(at instant: Date) -> Bool {
        guard let opens = try? Self.minutes(start, field: "start"), let closes = try? Self.minutes(end, field: "end"),
            let zone = TimeZone(identifier: timeZone ?? "UTC")
        else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: instant)
        let now = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let today = Self.weekdays[(parts.weekday ?? 1) - 1]
        let yesterday = Self.weekdays[((parts.weekday ?? 1) + 5) % 7]
        if opens < closes { return days.contains(today) && now >= opens && now < closes }
        // Across midnight: the evening of a listed day, or the morning after one.
        return (days.contains(today) && now >= opens) || (days.contains(yesterday) && now < closes)
    }
}
