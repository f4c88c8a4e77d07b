import Foundation
import ScryptexCore
import Testing

@testable import ScryptexMarketData

@Suite("CSV bars")
struct CSVBarReaderTests {
    static func read(_ text: String) throws -> (CSVBarReader, [CSVBarReader.Row]) {
        var reader = CSVBarReader()
        var splitter = LineSplitter()
        var rows: [CSVBarReader.Row] = []
        // Fed three bytes at a time: lines cross chunk boundaries.
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            for line in splitter.lines(in: bytes[index..<min(bytes.count, index + 3)]) {
                rows.append(try reader.read(line.text, number: line.number))
            }
            index += 3
        }
        if let last = splitter.finish() { rows.append(try reader.read(last.text, number: last.number)) }
        return (reader, rows)
    }

    @Test func readsYahooRowsWithoutATrailingNewline() throws {
        let (reader, rows) = try Self.read(
            "Date,Open,High,Low,Close,Adj Close,Volume\n2018-04-18,7944.430176,8197.799805,7886.009766,8163.419922,8163.419922,6529909760\n2018-04-19,null,null,null,null,null,null"
        )
        #expect(reader.layout == .yahoo)
        #expect(
            rows == [
                .skipped,
                .bar(
                    Bar(
                        time: 1_524_009_600, open: 7944.430176, high: 8197.799805, low: 7886.009766, close: 8163.419922,
                        volume: 6_529_909_760)),
                .missing,
            ])
    }

    @Test func readsCryptoDataDownloadWithItsBannerCRLFAndFloatSeconds() throws {
        let (reader, rows) = try Self.read(
            "\u{FEFF}Timestamps are UTC timezone,https://www.CryptoDataDownload.com\r\nUnix Timestamp,Date,Symbol,Open,High,Low,Close,Volume ETH,Volume USDT\r\n1600498800.0,2020-09-19 07-AM,ETHUSDT,380.64,381.06,380.29,380.37,1282.25,488314.22\r\n1600495200000,2020-09-19 06-AM,ETHUSDT,379.58,380.99,378.64,380.64,23662.78,8982350.6\r\n"
        )
        #expect(reader.layout == .cryptoDataDownload)
        #expect(
            rows.compactMap { row -> Int64? in if case .bar(let bar) = row { bar.time } else { nil } } == [
                1_600_498_800, 1_600_495_200,
            ])
        #expect(
            rows.compactMap { row -> Double? in if case .bar(let bar) = row { bar.volume } else { nil } } == [
                1282.25, 23662.78,
            ])
    }

    @Test func readsDatesWithTimesInTheGenericLayout() throws {
        let (reader, rows) = try Self.read(
            "time,open,high,low,close\n2024-02-29T13:45:00Z,1,2,0.5,1.5\n2024-03-01 00:00,1,1,1,1\n")
        #expect(reader.layout == .generic)
        #expect(
            rows.compactMap { row -> Int64? in if case .bar(let bar) = row { bar.time } else { nil } } == [
                1_709_214_300, 1_709_251_200,
            ])
    }

    @Test func impossibleRowsAreDefectsNamingTheLine() throws {
        let (_, rows) = try Self.read(
            "Date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,0,2,0.5,1.5,10\n2020-01-03,1,1.2,0.5,1.5,10\n2020-01-04,1,2,1.1,1.5,10\n2020-01-05,1,2,0.5,1.5,-1\n"
        )
        #expect(
            rows.dropFirst(2).map { $0 } == [
                .defect("line 3: a price is not positive"), .defect("line 4: high/low inconsistent with open/close"),
                .defect("line 5: high/low inconsistent with open/close"), .defect("line 6: negative volume"),
            ])
    }

    @Test(arguments: [
        ("Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,abc\n", "line 2, column 'Close': 'abc' is not a number"),
        ("Date,Open,High,Low,Close\n2020-01-01,NaN,2,0.5,1\n", "line 2, column 'Open': 'NaN' is not a number"),
        ("Date,Open,High,Low,Close\n2020-01-01,1,2,0.5\n", "line 2 has 4 fields; the header has 5"),
        ("Date,Open,High,Low,Close\n2020-02-30,1,2,0.5,1\n", "line 2, column 'Date': '2020-02-30' is not a date"),
        (
            "unix,open,high,low,close\n1600498800.5,1,2,0.5,1\n",
            "line 2, column 'unix': '1600498800.5' is not a Unix time"
        ),
        ("a,b\n1,2\n3,4\n5,6\n", "no header naming a time column and open, high, low, close in the first 4 lines"),
    ])
    func malformedFilesAreRefusedNamingLineAndColumn(text: String, message: String) {
        let error = #expect(throws: ServiceError.self) { try Self.read(text) }
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error?.message))")
    }

    @Test func calendarArithmeticMatchesFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for (year, month, day) in [(1970, 1, 1), (2000, 2, 29), (2023, 4, 17), (2100, 12, 31), (1999, 3, 1)] {
            let expected = calendar.date(from: DateComponents(year: year, month: month, day: day))!
            #expect(
                CSVBarReader.daysFromCivil(year: year, month: month, day: day).map { Double($0) * 86_400 }
                    == expected.timeIntervalSince1970)
        }
        #expect(CSVBarReader.daysFromCivil(year: 2023, month: 2, day: 29) == nil)
    }
}

@Suite("Market times")
struct MarketTimeTests {
    @Test func formattingMatchesFoundationsFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var generator = SystemRandomNumberGenerator()
        for seconds in [Int64(0), 951_782_400, 4_107_542_399, 1_600_498_800, -86_400, -1]
            + (0..<2_000).map({ _ in Int64.random(in: -2_000_000_000...9_000_000_000, using: &generator) })
        {
            #expect(
                MarketTime.rfc3339(seconds)
                    == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))),
                "\(seconds)")
        }
    }
}
