import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Where imported bars go: the platform-wide store (only the platform writes it) or one of a
/// tenant's private datasets (in a transaction opened as the tenant).
public enum BarDestination: Sendable, Equatable {
    case platform
    case dataset(name: String)
}

/// The table a series' bars are in.
struct BarTable: Sendable {
    let bars: StaticString
    let key: StaticString

    static let platform = BarTable(bars: "market_data.bars", key: "series_id")
    static let dataset = BarTable(bars: "market_dataset_bars", key: "dataset_id")

    static func of(_ destination: BarDestination) -> BarTable {
        destination == .platform ? .platform : .dataset
    }
}

/// What an import found and did. Nothing is hidden: duplicate rows are dropped and counted,
/// defective rows skipped and listed, gaps and outlier candles listed (outliers are kept: they
/// may be real), and the counts add up (`rowsRead = barsInFile + duplicatesDropped`).
public struct ImportReport: Sendable, Codable, Equatable {
    public struct Gap: Sendable, Codable, Equatable {
        /// The last bar before the gap and the first after it (RFC 3339, UTC).
        public var after: String
        public var before: String
        public var missingBars: Int
    }

    public struct Outlier: Sendable, Codable, Equatable {
        public var time: String
        /// What is extreme: `body` (|ln(close/open)|), `range` (ln(high/low)) or `gap`
        /// (|ln(open/previous close)|), with its value and the threshold it passed.
        public var kind: String
        public var value: Double
        public var threshold: Double
    }

    public static let listed = 20

    public var symbol: String
    public var timeframe: Timeframe
    public var layout: CSVBarReader.Layout?
    public var source: String
    /// `oldest first` or `newest first`, as the file ran.
    public var order = "oldest first"
    public var rowsRead = 0
    /// Rows with no data (Yahoo's `null`), skipped.
    public var missingRows = 0
    public var defectiveRows = 0
    public var defects: [String] = []
    /// Distinct bar times in the file.
    public var barsInFile = 0
    /// Rows repeating a time already read (the first in file order is kept).
    public var duplicatesDropped = 0
    /// Times whose repeated rows disagreed (the first in file order is kept).
    public var conflictingDuplicates: [String] = []
    public var stored = 0
    public var updated = 0
    public var unchanged = 0
    public var firstBar: String?
    public var lastBar: String?
    public var barsInSeries = 0
    public var gapCount = 0
    public var missingBarsInGaps = 0
    public var gaps: [Gap] = []
    public var outlierCount = 0
    public var outliers: [Outlier] = []
}

/// Progress of a running import.
public struct ImportProgress: Sendable {
    public var bytesRead: Int
    public var totalBytes: Int?
    public var rowsRead: Int
}

/// Imports CSV bars in bounded memory: rows are read in chunks and staged in a temporary table
/// in batches; duplicates, the spacing check, the upsert, gaps and outliers are computed by the
/// database over the staged and stored rows.
public struct MarketDataImporter: Sendable {
    public static let batchSize = 5_000

    public init() {}

    /// Imports the bytes `nextChunk` yields (nil at the end) into `destination` as `symbol` and
    /// `timeframe`, in `transaction` (the caller's: a refused import leaves nothing behind).
    /// - Throws: `.invalidInput` naming the line and column of a malformed row, a file with no
    ///   bars, or bars whose spacing is not the timeframe's; `.conflict` for a dataset name that
    ///   holds another symbol or timeframe.
    public func importCSV(
        symbol: String, timeframe: Timeframe, into destination: BarDestination, source: String,
        totalBytes: Int? = nil, nextChunk: () throws -> [UInt8]?,
        progress: (ImportProgress) -> Void = { _ in }, in transaction: PostgresTransaction
    ) async throws -> ImportReport {
        let symbol = try MarketSymbol.parse(symbol)
        var report = ImportReport(symbol: symbol, timeframe: timeframe, source: source)
        try await transaction.executeScript(
            """
            CREATE TEMPORARY TABLE IF NOT EXISTS bar_import (
                line integer, time bigint, open double precision, high double precision,
                low double precision, close double precision, volume double precision
            ) ON COMMIT DROP;
            TRUNCATE bar_import;
            """)
        var reader = CSVBarReader()
        var splitter = LineSplitter()
        var batch: [(line: Int, bar: Bar)] = []
        batch.reserveCapacity(Self.batchSize)
        var bytesRead = 0
        func take(_ line: (number: Int, text: Substring)) throws {
            switch try reader.read(line.text, number: line.number) {
            case .skipped: break
            case .bar(let bar):
                report.rowsRead += 1
                batch.append((line.number, bar))
            case .missing:
                report.rowsRead += 1
                report.missingRows += 1
            case .defect(let reason):
                report.rowsRead += 1
                report.defectiveRows += 1
                if report.defects.count < ImportReport.listed { report.defects.append(reason) }
            }
        }
        while let chunk = try nextChunk() {
            bytesRead += chunk.count
            for line in splitter.lines(in: chunk) { try take(line) }
            if batch.count >= Self.batchSize {
                try await stage(batch, in: transaction)
                batch.removeAll(keepingCapacity: true)
            }
            progress(ImportProgress(bytesRead: bytesRead, totalBytes: totalBytes, rowsRead: report.rowsRead))
        }
        if let last = splitter.finish() { try take(last) }
        if !batch.isEmpty { try await stage(batch, in: transaction) }
        report.layout = reader.layout
        guard reader.layout != nil else {
            throw ServiceError(.invalidInput, "the file is empty: no header and no bars")
        }

        try await examineStaged(&report, timeframe: timeframe, in: transaction)
        let table = BarTable.of(destination)
        let key = try await series(
            symbol: symbol, timeframe: timeframe, destination: destination, source: source, in: transaction)
        try await upsert(&report, table: table, key: key, in: transaction)
        try await examineStored(&report, table: table, key: key, step: timeframe.seconds, in: transaction)
        let json = try PostgresJSON(encoding: report)
        switch destination {
        case .platform:
            try await transaction.execute(
                "UPDATE market_data.series SET last_import = \(json)::jsonb, updated_at = now() WHERE id = \(key)")
        case .dataset:
            try await transaction.execute(
                "UPDATE market_datasets SET last_import = \(json)::jsonb, updated_at = now() WHERE id = \(key)")
        }
        return report
    }

    func stage(_ batch: [(line: Int, bar: Bar)], in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            INSERT INTO bar_import
            SELECT * FROM unnest(\(batch.map { Int32($0.line) })::int4[], \(batch.map(\.bar.time))::int8[],
                \(batch.map(\.bar.open))::float8[], \(batch.map(\.bar.high))::float8[], \(batch.map(\.bar.low))::float8[],
                \(batch.map(\.bar.close))::float8[], \(batch.map(\.bar.volume))::float8[])
            """)
    }

    /// Duplicates, order and spacing of the staged rows.
    func examineStaged(
        _ report: inout ImportReport, timeframe: Timeframe, in transaction: PostgresTransaction
    )
        async throws
    {
        let counts = try await transaction.query(
            """
            SELECT count(*) AS rows, count(DISTINCT time) AS times,
                   (SELECT time FROM bar_import ORDER BY line LIMIT 1) AS first_in_file,
                   (SELECT time FROM bar_import ORDER BY line DESC LIMIT 1) AS last_in_file,
                   count(*) FILTER (WHERE time % \(timeframe.seconds) <> 0) AS off_grid
            FROM bar_import
            """
        ).firstRow
        let rows = try counts.decode("rows", as: Int.self)
        guard rows > 0 else {
            throw ServiceError(
                .invalidInput,
                "the file has no usable bars (\(report.missingRows) empty and \(report.defectiveRows) defective rows)")
        }
        report.barsInFile = try counts.decode("times", as: Int.self)
        report.duplicatesDropped = rows - report.barsInFile
        if let first = try counts.decode("first_in_file", as: Int64?.self),
            let last = try counts.decode("last_in_file", as: Int64?.self), first > last
        {
            report.order = "newest first"
        }
        // Weekly bars open on whatever weekday the source starts its weeks: no grid for them.
        let offGrid = try counts.decode("off_grid", as: Int.self)
        if timeframe != .oneWeek && offGrid > 0 {
            throw ServiceError(
                .invalidInput,
                "\(offGrid) of the file's bars do not open on the \(timeframe.rawValue) grid (UTC): is the timeframe right?"
            )
        }
        let conflicts = try await transaction.query(
            """
            SELECT time FROM bar_import GROUP BY time
            HAVING count(DISTINCT (open, high, low, close, volume)) > 1 ORDER BY time LIMIT \(ImportReport.listed)
            """)
        report.conflictingDuplicates = try conflicts.map { Self.rfc3339(try $0.decode("time", as: Int64.self)) }
        if report.barsInFile > 1 {
            let spacing = try await transaction.query(
                """
                SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY step) AS median FROM (
                    SELECT time - lag(time) OVER (ORDER BY time) AS step FROM (SELECT DISTINCT time FROM bar_import) AS t
                ) AS steps WHERE step IS NOT NULL
                """
            ).firstRow.decode("median", as: Int64.self)
            guard spacing == timeframe.seconds else {
                throw ServiceError(
                    .invalidInput,
                    "the file's bars are \(spacing) s apart (the median), not \(timeframe.rawValue) (\(timeframe.seconds) s): is the timeframe right?"
                )
            }
        }
    }

    /// The series' id, created on first import.
    func series(
        symbol: String, timeframe: Timeframe, destination: BarDestination, source: String,
        in transaction: PostgresTransaction
    ) async throws -> UUID {
        switch destination {
        case .platform:
            return try await transaction.query(
                """
                INSERT INTO market_data.series (symbol, timeframe, source) VALUES (\(symbol), \(timeframe.rawValue), \(source))
                ON CONFLICT (symbol, timeframe) DO UPDATE SET source = EXCLUDED.source
                RETURNING id
                """
            ).firstRow.decode("id", as: UUID.self)
        case .dataset(let name):
            let name = try MarketDataStore.datasetName(name)
            let rows = try await transaction.query(
                """
                INSERT INTO market_datasets (name, symbol, timeframe, source)
                VALUES (\(name), \(symbol), \(timeframe.rawValue), \(source))
                ON CONFLICT (name) DO UPDATE SET source = EXCLUDED.source
                    WHERE market_datasets.symbol = EXCLUDED.symbol AND market_datasets.timeframe = EXCLUDED.timeframe
                RETURNING id
                """)
            guard let id = try rows.first?.decode("id", as: UUID.self) else {
                throw ServiceError(
                    .conflict,
                    "field 'name': the dataset '\(name)' holds another symbol or timeframe; choose another name")
            }
            return id
        }
    }

    /// Stores the first row of each time in file order: new bars, changed bars updated, the same
    /// bars left alone.
    func upsert(
        _ report: inout ImportReport, table: BarTable, key: UUID, in transaction: PostgresTransaction
    )
        async throws
    {
        let counts = try await transaction.query(
            """
            WITH chosen AS (
                SELECT DISTINCT ON (time) time, open, high, low, close, volume FROM bar_import ORDER BY time, line
            ), written AS (
                INSERT INTO \(sql: table.bars) AS stored (\(sql: table.key), time, open, high, low, close, volume)
                SELECT \(key), time, open, high, low, close, volume FROM chosen
                ON CONFLICT (\(sql: table.key), time) DO UPDATE
                    SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
                        volume = EXCLUDED.volume
                    WHERE (stored.open, stored.high, stored.low, stored.close, stored.volume)
                        IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted) AS stored, count(*) FILTER (WHERE NOT inserted) AS updated
            FROM written
            """
        ).firstRow
        report.stored = try counts.decode("stored", as: Int.self)
        report.updated = try counts.decode("updated", as: Int.self)
        report.unchanged = report.barsInFile - report.stored - report.updated
    }

    /// Gaps and outlier candles over the whole stored series.
    func examineStored(
        _ report: inout ImportReport, table: BarTable, key: UUID, step: Int64, in transaction: PostgresTransaction
    ) async throws {
        let extent = try await transaction.query(
            "SELECT count(*) AS bars, min(time) AS first, max(time) AS last FROM \(sql: table.bars) WHERE \(sql: table.key) = \(key)"
        ).firstRow
        report.barsInSeries = try extent.decode("bars", as: Int.self)
        report.firstBar = try extent.decode("first", as: Int64?.self).map(Self.rfc3339)
        report.lastBar = try extent.decode("last", as: Int64?.self).map(Self.rfc3339)
        let gaps = try await transaction.query(
            """
            SELECT count(*) OVER () AS total, sum((time - previous) / \(step) - 1) OVER () AS missing,
                   previous, time, (time - previous) / \(step) - 1 AS missing_here
            FROM (
                SELECT time, lag(time) OVER (ORDER BY time) AS previous FROM \(sql: table.bars) WHERE \(sql: table.key) = \(key)
            ) AS steps
            WHERE time - previous > \(step)
            ORDER BY time LIMIT \(ImportReport.listed)
            """)
        report.gapCount = try gaps.first?.decode("total", as: Int.self) ?? 0
        report.missingBarsInGaps = try gaps.first?.decode("missing", as: Int.self) ?? 0
        report.gaps = try gaps.map {
            ImportReport.Gap(
                after: Self.rfc3339(try $0.decode("previous", as: Int64.self)),
                before: Self.rfc3339(try $0.decode("time", as: Int64.self)),
                missingBars: try $0.decode("missing_here", as: Int.self))
        }
        // An outlier is 15 times the series' median of its measure, and at least a 25 % candle
        // body or range, or a 10 % jump from the previous close.
        let outliers = try await transaction.query(
            """
            WITH measures AS (
                SELECT time, abs(ln(close / open)) AS body, ln(high / low) AS range,
                       abs(ln(open / lag(close) OVER (ORDER BY time))) AS gap
                FROM \(sql: table.bars) WHERE \(sql: table.key) = \(key)
            ), limits AS (
                SELECT greatest(0.25, 15 * percentile_cont(0.5) WITHIN GROUP (ORDER BY body)) AS body,
                       greatest(0.25, 15 * percentile_cont(0.5) WITHIN GROUP (ORDER BY range)) AS range,
                       greatest(0.10, 15 * coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap), 0)) AS gap
                FROM measures
            ), found AS (
                SELECT time, 'body' AS kind, measures.body AS value, limits.body AS threshold
                FROM measures, limits WHERE measures.body > limits.body
                UNION ALL
                SELECT time, 'range', measures.range, limits.range FROM measures, limits WHERE measures.range > limits.range
                UNION ALL
                SELECT time, 'gap', measures.gap, limits.gap FROM measures, limits WHERE measures.gap > limits.gap
            )
            SELECT count(*) OVER () AS total, time, kind, value, threshold FROM found
            ORDER BY time, kind LIMIT \(ImportReport.listed)
            """)
        report.outlierCount = try outliers.first?.decode("total", as: Int.self) ?? 0
        report.outliers = try outliers.map {
            ImportReport.Outlier(
                time: Self.rfc3339(try $0.decode("time", as: Int64.self)), kind: try $0.decode("kind", as: String.self),
                value: Self.rounded(try $0.decode("value", as: Double.self)),
                threshold: Self.rounded(try $0.decode("threshold", as: Double.self)))
        }
    }

    static func rounded(_ value: Double) -> Double { (value * 1e6).rounded() / 1e6 }

    /// `2020-09-19T07:00:00Z`.
    public static func rfc3339(_ seconds: Int64) -> String {
        MarketTime.rfc3339(seconds)
    }
}

/// Reads a file in 1 MiB chunks, for `MarketDataImporter`.
public final class FileChunks {
    let handle: FileHandle
    public let size: Int

    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ServiceError(.invalidInput, "cannot read '\(path)'")
        }
        self.handle = handle
        size = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
    }

    deinit { try? handle.close() }

    public func next() throws -> [UInt8]? {
        let data = try handle.read(upToCount: 1 << 20) ?? Data()
        return data.isEmpty ? nil : Array(data)
    }
}
