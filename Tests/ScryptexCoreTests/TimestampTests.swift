import Foundation
import ScryptexCore
import Testing

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test(arguments: [
        ("2026-05-04T09:30:00.123456Z", "2026-05-04T09:30:00.123456Z"),
        ("2026-05-04T09:30:00Z", "2026-05-04T09:30:00.000000Z"),
        ("2026-05-04T11:30:00.5+02:00", "2026-05-04T09:30:00.500000Z"),
        ("1999-12-31T23:59:59.999999Z", "1999-12-31T23:59:59.999999Z"),
        ("2024-02-29T00:00:00.000001Z", "2024-02-29T00:00:00.000001Z"),
    ])
    func microsecondsSurviveARoundTrip(text: String, formatted: String) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(Timestamp.formatMicroseconds(date) == formatted)
        #expect(Timestamp.parse(formatted) == date || abs(Timestamp.parse(formatted)!.timeIntervalSince(date)) < 1e-6)
        #expect(Timestamp.format(date) == String(formatted.prefix(19)) + "Z")
    }
}
