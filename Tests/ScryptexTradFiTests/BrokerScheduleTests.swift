import Foundation
import ScryptexCore
import Testing

@testable import ScryptexTradFi

@Suite("Broker session schedules")
struct BrokerScheduleTests {
    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func weekdayHoursInUTCAndInAZone() {
        let weekdays = BrokerSchedule(days: ["mon", "tue", "wed", "thu", "fri"], start: "07:00", end: "22:00")
        // 2026-12-04 is a Friday, 2026-12-05 a Saturday.
        #expect(weekdays.isOpen(at: Self.instant("2026-12-04T07:00:00Z")))
        #expect(weekdays.isOpen(at: Self.instant("2026-12-04T21:59:00Z")))
        #expect(!weekdays.isOpen(at: Self.instant("2026-12-04T22:00:00Z")))
        #expect(!weekdays.isOpen(at: Self.instant("2026-12-04T06:59:00Z")))
        #expect(!weekdays.isOpen(at: Self.instant("2026-12-05T12:00:00Z")))
        // 09:30 to 16:00 in New York is 14:30 to 21:00 UTC in December.
        let newYork = BrokerSchedule(days: ["fri"], start: "09:30", end: "16:00", timeZone: "America/New_York")
        #expect(newYork.isOpen(at: Self.instant("2026-12-04T14:30:00Z")))
        #expect(!newYork.isOpen(at: Self.instant("2026-12-04T14:29:00Z")))
        #expect(!newYork.isOpen(at: Self.instant("2026-12-04T21:00:00Z")))
    }

    /// Sunday 22:00 to 21:00 the next day: a session that spans midnight opens on the listed day.
    @Test func aSessionAcrossMidnightStaysOpenIntoTheNextDay() {
        let overnight = BrokerSchedule(days: ["sun"], start: "22:00", end: "21:00")
        #expect(overnight.isOpen(at: Self.instant("2026-12-06T22:30:00Z")))
        #expect(overnight.isOpen(at: Self.instant("2026-12-07T20:59:00Z")))
        #expect(!overnight.isOpen(at: Self.instant("2026-12-07T21:00:00Z")))
        #expect(!overnight.isOpen(at: Self.instant("2026-12-06T21:00:00Z")))
    }

    @Test(arguments: [
        (BrokerSchedule(days: [], start: "07:00", end: "22:00"), "schedule.days"),
        (BrokerSchedule(days: ["monday"], start: "07:00", end: "22:00"), "schedule.days"),
        (BrokerSchedule(days: ["mon", "mon"], start: "07:00", end: "22:00"), "schedule.days"),
        (BrokerSchedule(days: ["mon"], start: "7:00", end: "22:00"), "schedule.start"),
        (BrokerSchedule(days: ["mon"], start: "07:00", end: "24:30"), "schedule.end"),
        (BrokerSchedule(days: ["mon"], start: "07:00", end: "07:00"), "schedule.end"),
        (BrokerSchedule(days: ["mon"], start: "07:00", end: "22:00", timeZone: "Mars/Olympus"), "schedule.timeZone"),
    ])
    func badSchedulesAreRefusedNamingTheField(schedule: BrokerSchedule, field: String) {
        #expect {
            try schedule.validate()
        } throws: { error in
            (error as? ServiceError)?.message.contains("field '\(field)'") == true
        }
    }
}
