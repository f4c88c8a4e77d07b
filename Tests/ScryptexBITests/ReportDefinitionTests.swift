import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexPostgres
import Testing

@testable import ScryptexBI

@Suite("Report definitions")
struct ReportDefinitionTests {
    static func problem(_ json: String) -> String? {
        do {
            _ = try ReportDefinition.decode(Array(json.utf8))
            return nil
        } catch let error as ServiceError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func theIssueExampleIsAccepted() throws {
        let definition = try ReportDefinition.decode(
            Array(
                #"{"name":"Monthly","metrics":["pnl","volume"],"dimensions":["instrument"],"period":{"from":"2026-11-01","to":"2026-11-30"},"format":"pdf"}"#
                    .utf8))
        #expect(definition.metrics == ["pnl", "volume"] && definition.days.to.description == "2026-11-30")
    }

    @Test func badDefinitionsAreNamed() {
        let base = #""name":"R","period":{"from":"2026-11-01","to":"2026-11-30"}"#
        #expect(
            Self.problem("{\(base),\"metrics\":[\"profit\"],\"dimensions\":[]}")?.contains(
                "'metrics[0]': 'profit' is not a metric") == true)
        #expect(
            Self.problem("{\(base),\"metrics\":[\"pnl\"],\"dimensions\":[\"desk\"]}")?.contains(
                "'dimensions[0]': 'desk' is not a dimension") == true)
        #expect(
            Self.problem(
                #"{"name":"R","metrics":["pnl"],"dimensions":[],"period":{"from":"2026-11-30","to":"2026-11-01"}}"#)?
                .contains("field 'period': it ends (2026-11-01) before it starts (2026-11-30)") == true)
        #expect(
            Self.problem(
                "{\(base),\"metrics\":[\"pnl\"],\"dimensions\":[],\"schedule\":{\"frequency\":\"daily\",\"timeZone\":\"Mars/Olympus\",\"time\":\"06:00\"}}"
            )?.contains("'schedule.timeZone': 'Mars/Olympus' is not a time zone") == true)
        #expect(
            Self.problem("{\(base),\"metrics\":[\"pnl\"],\"dimensions\":[],\"colour\":1}")?.contains("field 'colour'")
                == true)
        #expect(Self.problem("{\(base),\"dimensions\":[]}")?.contains("field 'metrics': required") == true)
        #expect(
            Self.problem("{\(base),\"metrics\":[\"pnl\"],\"dimensions\":[\"day\",\"month\"]}")?.contains(
                "at most one of day") == true)
        #expect(Self.problem("[1]") == "the body is not a JSON object")
    }

    /// A weekly report on Mondays at 06:30 in New York: the next run, and the week it reports.
    @Test func schedulesRunInTheirTimeZone() throws {
        let schedule = ReportSchedule(frequency: "weekly", timeZone: "America/New_York", time: "06:30", weekday: 1)
        try schedule.validate()
        // Wednesday 2026-12-02 12:00 UTC → Monday 2026-12-07 06:30 EST = 11:30 UTC.
        let next = schedule.nextRun(after: Date(timeIntervalSince1970: 1_796_212_800))
        #expect(next == Date(timeIntervalSince1970: 1_796_643_000))
        #expect(schedule.period(endingBefore: next) == .init(from: "2026-11-30", to: "2026-12-06"))
        let monthly = ReportSchedule(frequency: "monthly", timeZone: "Europe/London", time: "00:15", dayOfMonth: 1)
        #expect(monthly.period(endingBefore: next) == .init(from: "2026-11-01", to: "2026-11-30"))
        let daily = ReportSchedule(frequency: "daily", timeZone: "Asia/Tokyo", time: "08:00")
        // 2026-12-07 11:30 UTC is 20:30 in Tokyo: yesterday there is the 6th.
        #expect(daily.period(endingBefore: next) == .init(from: "2026-12-06", to: "2026-12-06"))
    }

    @Test func theNext13FDeadlineIs45DaysAfterQuarterEnd() {
        let november = DashboardService.next13FDeadline(onOrAfter: PostgresDate(year: 2026, month: 11, day: 20)!)
        #expect(november.quarterEnd.description == "2026-12-31" && november.due.description == "2027-02-14")
        let august = DashboardService.next13FDeadline(onOrAfter: PostgresDate(year: 2026, month: 8, day: 14)!)
        #expect(august.quarterEnd.description == "2026-06-30" && august.due.description == "2026-08-14")
    }
}

@Suite("Transaction snapshots")
struct TransactionSnapshotTests {
    @Test func snapshotsReadAndWriteAsPostgreSQLDoes() throws {
        let snapshot = try #require(TransactionSnapshot("748:752:748,750"))
        #expect(snapshot.xmin == 748 && snapshot.xmax == 752 && snapshot.inProgress == [748, 750])
        #expect(snapshot.description == "748:752:748,750")
        #expect(TransactionSnapshot("5:5:")?.inProgress == [])
        #expect(TransactionSnapshot("5:x:") == nil && TransactionSnapshot("1:2:3,y") == nil)
    }
}
