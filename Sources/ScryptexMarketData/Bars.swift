import Foundation
import ScryptexCore

/// The length of one bar.
public enum Timeframe: String, Sendable, CaseIterable, Codable {
    case oneMinute = "1m"
    case fiveMinutes = "5m"
    case fifteenMinutes = "15m"
    case oneHour = "1h"
    case fourHours = "4h"
    case oneDay = "1d"
    case oneWeek = "1w"

    public var seconds: Int64 {
        switch self {
        case .oneMinute: 60
        case .fiveMinutes: 300
        case .fifteenMinutes: 900
        case .oneHour: 3_600
        case .fourHours: 14_400
        case .oneDay: 86_400
        case .oneWeek: 604_800
        }
    }

    /// Bars in a year of round-the-clock crypto trading (365 days): the annualisation factor N.
    public var barsPerYear: Double { 365 * 86_400 / Double(seconds) }

    public static var accepted: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The timeframe named `text`; `.invalidInput` naming `field` otherwise.
    public static func parse(_ text: String, field: String = "timeframe") throws -> Timeframe {
        guard let timeframe = Timeframe(rawValue: text.lowercased()) else {
            throw ServiceError(.invalidInput, "field '\(field)': '\(text.prefix(40))' is not one of \(accepted)")
        }
        return timeframe
    }
}

/// One OHLCV bar; `time` is when it opened, in seconds since 1970 (UTC). Prices are analytics
/// inputs (`Double`), never money.
public struct Bar: Sendable, Equatable, Codable {
    public var time: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(time: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}

/// Bars of one symbol and timeframe in time order, column by column (what the analytics read).
public struct BarSeries: Sendable, Equatable {
    public var symbol: String
    public var timeframe: Timeframe
    public var times: [Int64] = []
    public var open: [Double] = []
    public var high: [Double] = []
    public var low: [Double] = []
    public var close: [Double] = []
    public var volume: [Double] = []

    public init(symbol: String, timeframe: Timeframe) {
        self.symbol = symbol
        self.timeframe = timeframe
    }

    public init(symbol: String, timeframe: Timeframe, bars: [Bar]) {
        self.init(symbol: symbol, timeframe: timeframe)
        reserveCapacity(bars.count)
        for bar in bars { append(bar) }
    }

    public var count: Int { times.count }
    public var isEmpty: Bool { times.isEmpty }

    public mutating func reserveCapacity(_ count: Int) {
        times.reserveCapacity(count)
        open.reserveCapacity(count)
        high.reserveCapacity(count)
        low.reserveCapacity(count)
        close.reserveCapacity(count)
        volume.reserveCapacity(count)
    }

    public mutating func append(_ bar: Bar) {
        times.append(bar.time)
        open.append(bar.open)
        high.append(bar.high)
        low.append(bar.low)
        close.append(bar.close)
        volume.append(bar.volume)
    }

    public subscript(index: Int) -> Bar {
        Bar(
            time: times[index], open: open[index], high: high[index], low: low[index], close: close[index],
            volume: volume[index])
    }

    /// The bars opening in `[start, end)`.
    public func between(_ start: Int64?, _ end: Int64?) -> BarSeries {
        let from = start.map { bound in times.partitioningIndex { $0 >= bound } } ?? 0
        let to = end.map { bound in times.partitioningIndex { $0 >= bound } } ?? count
        var slice = BarSeries(symbol: symbol, timeframe: timeframe)
        guard from < to else { return slice }
        slice.times = Array(times[from..<to])
        slice.open = Array(open[from..<to])
        slice.high = Array(high[from..<to])
        slice.low = Array(low[from..<to])
        slice.close = Array(close[from..<to])
        slice.volume = Array(volume[from..<to])
        return slice
    }
}

extension Array where Element == Int64 {
    /// The first index whose element satisfies `predicate`, for a predicate false then true
    /// along the (sorted) array.
    func partitioningIndex(where predicate: (Int64) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// A market symbol: letters, digits and `-`, `/`, `.`, `_`, up to 32 characters, kept in capitals
/// (`ETH-USD`, `ETH/USDT`).
public enum MarketSymbol {
    public static func parse(_ text: String, field: String = "symbol") throws -> String {
        let symbol = text.uppercased()
        guard (1...32).contains(symbol.count),
            symbol.unicodeScalars.allSatisfy({
                ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-/._".unicodeScalars.contains($0)
            })
        else {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': '\(text.prefix(40))' is not a market symbol (letters, digits, - / . _, up to 32)")
        }
        return symbol
    }
}

extension MarketTime {
    /// `2020-09-19T07:00:00Z`, by calendar arithmetic (`CivilCalendar`): a backtest writes tens
    /// of thousands of these, and a date formatter costs microseconds each.
    public static func rfc3339(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let clock = Int(seconds - days * 86_400)
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: Int(days))
        return CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2) + "T"
            + CivilCalendar.pad(clock / 3_600, 2) + ":" + CivilCalendar.pad(clock / 60 % 60, 2) + ":"
            + CivilCalendar.pad(clock % 60, 2) + "Z"
    }
}

/// Times in requests: a date (`2018-04-18`, the whole day, UTC) or a date and time
/// (`2018-04-18T12:00:00Z`).
public enum MarketTime {
    /// Seconds since 1970 and whether only a date was given.
    public static func parse(_ text: String, field: String) throws -> (seconds: Int64, isDate: Bool) {
        do {
            return (try CSVBarReader.time(text, epoch: false, line: 0, column: field), text.count == 10)
        } catch {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': '\(text.prefix(40))' is not a date (2018-04-18) or a time (2018-04-18T12:00:00Z)")
        }
    }

    /// The first second a period starting at `text` includes.
    public static func start(_ text: String, field: String = "start") throws -> Int64 {
        try parse(text, field: field).seconds
    }

    /// The first second after a period ending at `text`: a date includes its whole day, a time
    /// includes that second.
    public static func end(_ text: String, field: String = "end") throws -> Int64 {
        let (seconds, isDate) = try parse(text, field: field)
        return isDate ? seconds + 86_400 : seconds + 1
    }
}
