import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Reads the market-data store: the platform's series (any transaction: every role may read
/// them) and the tenant's own datasets (in a transaction opened as the tenant). A tenant on
/// another cluster than the control plane reads the platform's series from the control plane
/// (`ReferenceDatabase`), in a read-only transaction of their own.
public struct MarketDataStore: Sendable {
    public init() {}

    public struct SeriesSummary: Sendable, Codable, Equatable {
        /// `platform`, or the tenant's dataset name.
        public var dataset: String
        public var symbol: String
        public var timeframe: Timeframe
        public var bars: Int
        public var firstBar: String?
        public var lastBar: String?
        public var source: String
    }

    /// A dataset name: letters, digits, `-`, `_`, `.`, 1 to 64 characters.
    public static func datasetName(_ text: String, field: String = "dataset") throws -> String {
        guard (1...64).contains(text.count),
            text.unicodeScalars.allSatisfy({
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
            }), text != "platform"
        else {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': '\(text.prefix(64))' is not a dataset name (letters, digits, - _ ., up to 64; not 'platform')"
            )
        }
        return text
    }

    /// Every platform series, and the tenant's datasets when `tenantDatasets`.
    public func list(tenantDatasets: Bool, in transaction: PostgresTransaction) async throws -> [SeriesSummary] {
        var rows = try await Self.readingPlatformData(in: transaction) {
            Array(
                try await $0.query(
                    """
                    SELECT 'platform' AS dataset, s.symbol, s.timeframe, s.source, count(b.time) AS bars,
                           min(b.time) AS first, max(b.time) AS last
                    FROM market_data.series s LEFT JOIN market_data.bars b ON b.series_id = s.id
                    GROUP BY s.id ORDER BY s.symbol, s.timeframe
                    """))
        }
        if tenantDatasets {
            rows += try await transaction.query(
                """
                SELECT d.name AS dataset, d.symbol, d.timeframe, d.source, count(b.time) AS bars,
                       min(b.time) AS first, max(b.time) AS last
                FROM market_datasets d LEFT JOIN market_dataset_bars b ON b.dataset_id = d.id
                GROUP BY d.id ORDER BY d.name
                """)
        }
        return try rows.map { row in
            SeriesSummary(
                dataset: try row.decode("dataset", as: String.self), symbol: try row.decode("symbol", as: String.self),
                timeframe: try Timeframe.parse(try row.decode("timeframe", as: String.self)),
                bars: try row.decode("bars", as: Int.self),
                firstBar: try row.decode("first", as: Int64?.self).map(MarketDataImporter.rfc3339),
                lastBar: try row.decode("last", as: Int64?.self).map(MarketDataImporter.rfc3339),
                source: try row.decode("source", as: String.self))
        }
    }

    /// Runs `body` in `transaction`, or, inside a tenant transaction on another cluster, in a
    /// read-only transaction on the control plane.
    static func readingPlatformData<Result>(
        in transaction: PostgresTransaction,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        guard let reference = ReferenceDatabase.pool else { return try await body(transaction) }
        return try await reference.withTransaction(readOnly: true) { try await body($0) }
    }

    /// The bars of `symbol` at `timeframe` opening in `[start, end)`, from the platform store or
    /// the tenant's dataset `dataset`.
    /// - Throws: `.notFound` naming the symbol, timeframe and dataset when there is no such series.
    public func bars(
        symbol: String, timeframe: Timeframe, dataset: String? = nil, start: Int64? = nil, end: Int64? = nil,
        in transaction: PostgresTransaction
    ) async throws -> BarSeries {
        let symbol = try MarketSymbol.parse(symbol)
        let row: PostgresRow
        if let dataset {
            let name = try Self.datasetName(dataset)
            let key = try await transaction.query(
                "SELECT id FROM market_datasets WHERE name = \(name) AND symbol = \(symbol) AND timeframe = \(timeframe.rawValue)"
            ).first?.decode("id", as: UUID.self)
            guard let key else { throw Self.noBars(symbol, timeframe, dataset) }
            row = try await Self.columns(of: .dataset, key: key, start: start, end: end, in: transaction)
        } else {
            row = try await Self.readingPlatformData(in: transaction) { platform in
                let key = try await platform.query(
                    "SELECT id FROM market_data.series WHERE symbol = \(symbol) AND timeframe = \(timeframe.rawValue)"
                ).first?.decode("id", as: UUID.self)
                guard let key else { throw Self.noBars(symbol, timeframe, nil) }
                return try await Self.columns(of: .platform, key: key, start: start, end: end, in: platform)
            }
        }
        var series = BarSeries(symbol: symbol, timeframe: timeframe)
        series.times = try row.decode("times", as: [Int64].self)
        series.open = try row.decode("open", as: [Double].self)
        series.high = try row.decode("high", as: [Double].self)
        series.low = try row.decode("low", as: [Double].self)
        series.close = try row.decode("close", as: [Double].self)
        series.volume = try row.decode("volume", as: [Double].self)
        return series
    }

    private static func noBars(_ symbol: String, _ timeframe: Timeframe, _ dataset: String?) -> ServiceError {
        ServiceError(
            .notFound,
            "no \(timeframe.rawValue) bars of \(symbol) in \(dataset.map { "the dataset '\($0)'" } ?? "the platform's market data")"
        )
    }

    /// A series' bars in `[start, end)` as whole columns: one row to decode, whatever the length.
    private static func columns(
        of table: BarTable, key: UUID, start: Int64?, end: Int64?, in transaction: PostgresTransaction
    ) async throws -> PostgresRow {
        try await transaction.query(
            """
            SELECT coalesce(array_agg(time ORDER BY time), '{}') AS times,
                   coalesce(array_agg(open ORDER BY time), '{}') AS open,
                   coalesce(array_agg(high ORDER BY time), '{}') AS high,
                   coalesce(array_agg(low ORDER BY time), '{}') AS low,
                   coalesce(array_agg(close ORDER BY time), '{}') AS close,
                   coalesce(array_agg(volume ORDER BY time), '{}') AS volume
            FROM \(sql: table.bars)
            WHERE \(sql: table.key) = \(key) AND time >= \(start ?? Int64.min) AND time < \(end ?? Int64.max)
            """
        ).firstRow
    }

    /// Stores generated bars as a platform series or a tenant dataset (replacing what it held).
    public func store(
        _ series: BarSeries, into destination: BarDestination, source: String, in transaction: PostgresTransaction
    ) async throws {
        let key = try await MarketDataImporter().series(
            symbol: series.symbol, timeframe: series.timeframe, destination: destination, source: source,
            in: transaction)
        let table = BarTable.of(destination)
        try await transaction.execute("DELETE FROM \(sql: table.bars) WHERE \(sql: table.key) = \(key)")
        var start = 0
        while start < series.count {
            let end = min(series.count, start + MarketDataImporter.batchSize)
            try await transaction.execute(
                """
                INSERT INTO \(sql: table.bars) (\(sql: table.key), time, open, high, low, close, volume)
                SELECT \(key), * FROM unnest(\(Array(series.times[start..<end]))::int8[],
                    \(Array(series.open[start..<end]))::float8[], \(Array(series.high[start..<end]))::float8[],
                    \(Array(series.low[start..<end]))::float8[], \(Array(series.close[start..<end]))::float8[],
                    \(Array(series.volume[start..<end]))::float8[])
                """)
            start = end
        }
    }
}
