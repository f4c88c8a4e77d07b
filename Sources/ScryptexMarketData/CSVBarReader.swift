import Foundation
import ScryptexCore

/// Reads OHLCV bars from CSV, one line at a time, whatever the exporter: it finds the header
/// (after up to three banner lines, as CryptoDataDownload writes one), maps the columns by name,
/// and reads each row. Recognised layouts: Yahoo (`Date,Open,High,Low,Close,Adj Close,Volume`),
/// CryptoDataDownload (banner, `Unix Timestamp,Date,Symbol,Open,High,Low,Close,Volume X,Volume
/// Y`, newest first, CRLF, float Unix seconds) and any file whose header names a time column
/// (`unix`, `timestamp`, `time`, `date`, `datetime`) and `open`, `high`, `low`, `close`
/// (`volume` optional).
///
/// A malformed file (no header, a row with the wrong number of fields, text or NaN where a
/// number belongs, a time that cannot be read) is refused with the line and column; a row that
/// is well-formed but impossible (a price ≤ 0, a high below the open or close, a low above them)
/// is a defect the import reports and skips; Yahoo's `null` rows are missing bars.
public struct CSVBarReader: Sendable {
    public enum Layout: String, Sendable, Codable {
        case yahoo
        case cryptoDataDownload = "cryptodatadownload"
        case generic
    }

    /// What one line was.
    public enum Row: Sendable, Equatable {
        case skipped
        case bar(Bar)
        /// A row the exporter marked as having no data (`null`).
        case missing
        /// A well-formed row that cannot be a bar; the reason names the problem.
        case defect(String)
    }

    struct Columns: Sendable {
        var count: Int
        var time: Int
        var timeIsEpoch: Bool
        var open: Int
        var high: Int
        var low: Int
        var close: Int
        var volume: Int?
        var names: [String]
    }

    public private(set) var layout: Layout?
    var columns: Columns?
    var bannerLines = 0

    public init() {}

    /// Reads line `number` (1-based; without its line end).
    public mutating func read(_ line: Substring, number lineNumber: Int) throws -> Row {
        var line = line
        if line.hasSuffix("\r") { line = line.dropLast() }
        if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return .skipped }
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let columns else {
            if let found = Self.header(fields) {
                columns = found
                layout =
                    bannerLines > 0
                    ? .cryptoDataDownload : found.names.contains { $0.lowercased() == "adj close" } ? .yahoo : .generic
                return .skipped
            }
            bannerLines += 1
            guard bannerLines <= 3 else {
                throw ServiceError(
                    .invalidInput,
                    "no header naming a time column and open, high, low, close in the first \(lineNumber) lines")
            }
            return .skipped
        }
        guard fields.count == columns.count else {
            throw ServiceError(
                .invalidInput, "line \(lineNumber) has \(fields.count) fields; the header has \(columns.count)")
        }
        let priceIndices = [columns.open, columns.high, columns.low, columns.close]
        if priceIndices.contains(where: { fields[$0].lowercased() == "null" }) { return .missing }
        func value(_ index: Int) throws -> Double {
            let text = fields[index]
            guard let value = Double(text), value.isFinite else {
                throw ServiceError(
                    .invalidInput,
                    "line \(lineNumber), column '\(columns.names[index])': '\(text.prefix(40))' is not a number")
            }
            return value
        }
        let time = try Self.time(
            fields[columns.time], epoch: columns.timeIsEpoch, line: lineNumber, column: columns.names[columns.time])
        let bar = Bar(
            time: time, open: try value(columns.open), high: try value(columns.high), low: try value(columns.low),
            close: try value(columns.close), volume: try columns.volume.map { try value($0) } ?? 0)
        if bar.open <= 0 || bar.high <= 0 || bar.low <= 0 || bar.close <= 0 {
            return .defect("line \(lineNumber): a price is not positive")
        }
        if bar.high < max(bar.open, bar.close) || bar.low > min(bar.open, bar.close) {
            return .defect("line \(lineNumber): high/low inconsistent with open/close")
        }
        if bar.volume < 0 { return .defect("line \(lineNumber): negative volume") }
        return .bar(bar)
    }

    static func header(_ fields: [String]) -> Columns? {
        let names = fields.map { $0.lowercased() }
        func index(_ candidates: [String]) -> Int? {
            for candidate in candidates { if let found = names.firstIndex(of: candidate) { return found } }
            return nil
        }
        guard let open = index(["open"]), let high = index(["high"]), let low = index(["low"]),
            let close = index(["close"])
        else { return nil }
        let epoch = index(["unix timestamp", "unix", "timestamp", "time"])
        guard let time = epoch ?? index(["date", "datetime", "date (utc)"]) else { return nil }
        let volume = index(["volume"]) ?? names.firstIndex { $0.hasPrefix("volume") }
        return Columns(
            count: fields.count, time: time, timeIsEpoch: epoch != nil, open: open, high: high, low: low,
            close: close, volume: volume, names: fields)
    }

    /// Seconds since 1970: a Unix time in seconds or milliseconds (a float is accepted when it is
    /// a whole second), or a date `YYYY-MM-DD`, optionally with `HH:MM[:SS]` (UTC).
    static func time(_ text: String, epoch: Bool, line: Int, column: String) throws -> Int64 {
        func refuse() -> ServiceError {
            ServiceError(
                .invalidInput,
                "line \(line), column '\(column)': '\(text.prefix(40))' is not \(epoch ? "a Unix time" : "a date (YYYY-MM-DD[ HH:MM:SS])")"
            )
        }
        if epoch, let value = Double(text), value.isFinite, value >= 0 {
            let seconds = value >= 1e11 ? value / 1000 : value
            guard seconds == seconds.rounded(), seconds < 1e11 else { throw refuse() }
            return Int64(seconds)
        }
        // A time column named like a Unix one but holding dates (Alpha Vantage's `timestamp`) is read as dates.
        // Dates: YYYY-MM-DD, then optionally 'T' or ' ' and HH:MM[:SS], an optional 'Z'.
        let characters = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= characters.count else { return nil }
            var value = 0
            for byte in characters[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard characters.count >= 10, characters[4] == UInt8(ascii: "-"), characters[7] == UInt8(ascii: "-"),
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            (1...12).contains(month), (1...31).contains(day), year >= 1970
        else { throw refuse() }
        var hour = 0
        var minute = 0
        var second = 0
        var rest = characters.count > 10 ? Array(characters[10...]) : []
        if rest.last == UInt8(ascii: "Z") { rest.removeLast() }
        if !rest.isEmpty {
            guard rest[0] == UInt8(ascii: "T") || rest[0] == UInt8(ascii: " "), rest.count == 6 || rest.count == 9
            else { throw refuse() }
            let clock = Array(rest.dropFirst())
            func part(_ range: Range<Int>) -> Int? {
                var value = 0
                for byte in clock[range] {
                    guard (48...57).contains(byte) else { return nil }
                    value = value * 10 + Int(byte - 48)
                }
                return value
            }
            guard clock[2] == UInt8(ascii: ":"), let h = part(0..<2), let m = part(3..<5), h < 24, m < 60
            else { throw refuse() }
            hour = h
            minute = m
            if clock.count == 8 {
                guard clock[5] == UInt8(ascii: ":"), let s = part(6..<8), s < 60 else { throw refuse() }
                second = s
            }
        }
        guard let days = Self.daysFromCivil(year: year, month: month, day: day) else { throw refuse() }
        return Int64(days) * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date; nil for a day the month does not have.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int? {
        guard day <= CivilCalendar.daysInMonth(year: year, month: month) else { return nil }
        return CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
    }
}

/// Splits bytes into lines as they arrive (LF or CRLF; the last line may have no line end),
/// keeping only the unfinished line in memory.
public struct LineSplitter: Sendable {
    var pending: [UInt8] = []
    public private(set) var lineNumber = 0

    public init() {}

    /// The complete lines in `chunk` (with what was pending before it), each with its number.
    public mutating func lines(in chunk: some Collection<UInt8>) -> [(number: Int, text: Substring)] {
        pending.append(contentsOf: chunk)
        var lines: [(Int, Substring)] = []
        var start = 0
        while let end = pending[start...].firstIndex(of: 10) {
            lineNumber += 1
            lines.append((lineNumber, Substring(String(decoding: pending[start..<end], as: UTF8.self))))
            start = end + 1
        }
        pending.removeFirst(start)
        return lines
    }

    /// The last line, if the input did not end with a line end.
    public mutating func finish() -> (number: Int, text: Substring)? {
        guard !pending.isEmpty else { return nil }
        lineNumber += 1
        defer { pending = [] }
        return (lineNumber, Substring(String(decoding: pending, as: UTF8.self)))
    }
}

extension CSVBarReader {
    /// A whole file's bars in memory, oldest first, for tools and tests: rows the import would
    /// report as defects or missing are left out, and of duplicate times the first is kept.
    public static func series(_ bytes: [UInt8], symbol: String, timeframe: Timeframe) throws -> BarSeries {
        var reader = CSVBarReader()
        var splitter = LineSplitter()
        var bars: [Bar] = []
        var lines = splitter.lines(in: bytes)
        if let last = splitter.finish() { lines.append(last) }
        for (number, text) in lines {
            if case .bar(let bar) = try reader.read(text, number: number) { bars.append(bar) }
        }
        bars.sort { $0.time < $1.time }
        var series = BarSeries(symbol: symbol, timeframe: timeframe)
        for bar in bars where series.count == 0 || series.times[series.count - 1] != bar.time { series.append(bar) }
        return series
    }
}
