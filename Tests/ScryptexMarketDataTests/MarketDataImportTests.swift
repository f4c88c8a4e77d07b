import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@testable import ScryptexMarketData

/// Imports into a real PostgreSQL, the real files of `../shared/data/market` included; the
/// expected figures are the ones SOURCES.md records from checking the files with pandas.
@Suite("Market-data import", .serialized)
struct MarketDataImportTests {
    static func withStore(_ body: (PostgresConnectionPool) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 2), logger: TestDatabase.logger)
            do {
                try await pool.withConnection { connection in
                    try await Migrator(
                        plan: MigrationPlan([MarketDataMigrations.platform]), logger: TestDatabase.logger
                    )
                    .migrate(schema: SQLIdentifier(static: "platform"), on: connection)
                    try await Migrator(plan: MigrationPlan([MarketDataMigrations.tenant]), logger: TestDatabase.logger)
                        .migrate(schema: SQLIdentifier(static: "t_test"), on: connection)
                }
                try await body(pool)
                await pool.close()
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    static func importFile(
        _ name: String, symbol: String, timeframe: Timeframe, into destination: BarDestination = .platform,
        pool: PostgresConnectionPool
    ) async throws -> ImportReport {
        let file = try FileChunks(path: SharedData.path("market/" + name))
        return try await pool.withTransaction { transaction in
            if destination != .platform { try await transaction.executeScript("SET LOCAL search_path TO t_test") }
            return try await MarketDataImporter().importCSV(
                symbol: symbol, timeframe: timeframe, into: destination, source: name, totalBytes: file.size,
                nextChunk: file.next, in: transaction)
        }
    }

    static func importText(
        _ text: String, symbol: String = "TEST-USD", timeframe: Timeframe = .oneDay, pool: PostgresConnectionPool
    ) async throws -> ImportReport {
        var chunks = [Array(text.utf8)]
        return try await pool.withTransaction { transaction in
            try await MarketDataImporter().importCSV(
                symbol: symbol, timeframe: timeframe, into: .platform, source: "test",
                nextChunk: { chunks.isEmpty ? nil : chunks.removeFirst() }, in: transaction)
        }
    }

    @Test func theHourlyBinanceFileReportsItsKnownDefects() async throws {
        try await Self.withStore { pool in
            var progress: [Int] = []
            let file = try FileChunks(path: SharedData.path("market/eth-usdt-hourly-binance.csv"))
            let report = try await pool.withTransaction { transaction in
                try await MarketDataImporter().importCSV(
                    symbol: "eth-usdt", timeframe: .oneHour, into: .platform, source: "binance", totalBytes: file.size,
                    nextChunk: file.next, progress: { progress.append($0.bytesRead) }, in: transaction)
            }
            #expect(progress.count >= 3 && progress.last == 2_293_023, "read in 1 MiB chunks with progress")
            #expect(
                report.symbol == "ETH-USDT" && report.layout == .cryptoDataDownload && report.order == "newest first")
            #expect(report.rowsRead == 27_100 && report.barsInFile == 27_096 && report.duplicatesDropped == 4)
            #expect(report.conflictingDuplicates.isEmpty, "the repeated rows are identical")
            #expect(report.stored == 27_096 && report.barsInSeries == 27_096)
            #expect(report.firstBar == "2017-08-17T04:00:00Z" && report.lastBar == "2020-09-19T07:00:00Z")
            #expect(
                report.gaps == [
                    .init(after: "2017-09-22T19:00:00Z", before: "2017-09-23T00:00:00Z", missingBars: 4)
                ])
            #expect(report.outliers.contains { $0.time == "2017-08-17T04:00:00Z" && $0.kind == "body" })
            // Importing again changes nothing.
            let again = try await Self.importFile(
                "eth-usdt-hourly-binance.csv", symbol: "ETH-USDT", timeframe: .oneHour, pool: pool)
            #expect(again.stored == 0 && again.updated == 0 && again.unchanged == 27_096)
            let bars = try await pool.withTransaction(readOnly: true) {
                try await MarketDataStore().bars(symbol: "ETH-USDT", timeframe: .oneHour, in: $0)
            }
            #expect(bars.count == 27_096 && bars.times == bars.times.sorted())
            #expect(
                bars[bars.count - 1]
                    == Bar(time: 1_600_498_800, open: 380.64, high: 381.06, low: 380.29, close: 380.37, volume: 1282.25)
            )
        }
    }

    @Test func theDailyFilesAreCompleteAndClean() async throws {
        try await Self.withStore { pool in
            for (file, symbol, lowest, highest) in [
                ("btc-usd-daily.csv", "BTC-USD", 3236.76, 67566.83), ("eth-usd-daily.csv", "ETH-USD", 84.31, 4812.09),
            ] {
                let report = try await Self.importFile(file, symbol: symbol, timeframe: .oneDay, pool: pool)
                #expect(report.layout == .yahoo && report.rowsRead == 1_826 && report.barsInFile == 1_826)
                #expect(report.duplicatesDropped == 0 && report.defectiveRows == 0 && report.gapCount == 0)
                #expect(report.firstBar == "2018-04-18T00:00:00Z" && report.lastBar == "2023-04-17T00:00:00Z")
                let bars = try await pool.withTransaction(readOnly: true) {
                    try await MarketDataStore().bars(symbol: symbol, timeframe: .oneDay, in: $0)
                }
                #expect(abs(bars.close.min()! - lowest) < 0.01 && abs(bars.close.max()! - highest) < 0.01)
            }
            // A dataset of the tenant's own, and a slice of the platform's by time.
            let dataset = try await Self.importFile(
                "eth-usd-daily.csv", symbol: "ETH-USD", timeframe: .oneDay, into: .dataset(name: "my-eth"), pool: pool)
            #expect(dataset.barsInSeries == 1_826)
            let slice = try await pool.withTransaction(readOnly: true) {
                try await MarketDataStore().bars(
                    symbol: "ETH-USD", timeframe: .oneDay, start: 1_672_531_200, end: 1_675_209_600, in: $0)
            }
            #expect(slice.count == 31, "January 2023")
        }
    }

    @Test func duplicatesConflictsDefectsAndWrongTimeframesAreReported() async throws {
        try await Self.withStore { pool in
            let report = try await Self.importText(
                """
                Date,Open,High,Low,Close,Volume
                2020-01-03,1,2,0.5,1.5,10
                2020-01-01,1,2,0.5,1.5,10
                2020-01-01,1,2,0.5,1.5,10
                2020-01-02,1,2,0.5,1.5,10
                2020-01-02,1,3,0.5,1.5,10
                2020-01-06,0,2,0.5,1.5,10
                2020-01-07,1,2,0.5,1.5,10
                """, pool: pool)
            #expect(
                report.rowsRead == 7 && report.defectiveRows == 1
                    && report.defects == ["line 7: a price is not positive"])
            #expect(report.barsInFile == 4 && report.duplicatesDropped == 2)
            #expect(report.conflictingDuplicates == ["2020-01-02T00:00:00Z"])
            #expect(report.gapCount == 1 && report.missingBarsInGaps == 3)
            let kept = try await pool.withTransaction(readOnly: true) {
                try await MarketDataStore().bars(symbol: "TEST-USD", timeframe: .oneDay, in: $0)
            }
            #expect(kept[1].high == 2, "the first row of a time in file order is kept")

            let hourly = await #expect(throws: ServiceError.self) {
                try await Self.importText(
                    "Date,Open,High,Low,Close\n2020-01-01,1,1,1,1\n2020-01-02,1,1,1,1\n", timeframe: .oneHour,
                    pool: pool)
            }
            #expect(hourly?.message.contains("86400 s apart (the median), not 1h") == true)
            let offGrid = await #expect(throws: ServiceError.self) {
                try await Self.importText("time,open,high,low,close\n2020-01-01 01:00,1,1,1,1\n", pool: pool)
            }
            #expect(offGrid?.message.contains("do not open on the 1d grid") == true)
            let malformed = await #expect(throws: ServiceError.self) {
                try await Self.importText(
                    "Date,Open,High,Low,Close\n2020-01-08,1,1,1,1\n2020-01-09,1,x,1,1\n", pool: pool)
            }
            #expect(malformed?.message == "line 3, column 'High': 'x' is not a number")
            // A refused import leaves what was stored as it was.
            let stored = try await pool.withTransaction(readOnly: true) {
                try await MarketDataStore().bars(symbol: "TEST-USD", timeframe: .oneDay, in: $0)
            }
            #expect(stored.count == 4)
            let empty = await #expect(throws: ServiceError.self) { try await Self.importText("", pool: pool) }
            #expect(empty?.message.contains("empty") == true)
        }
    }

    @Test func aDatasetNameKeepsItsSymbolAndTimeframe() async throws {
        try await Self.withStore { pool in
            _ = try await Self.importFile(
                "eth-usd-daily.csv", symbol: "ETH-USD", timeframe: .oneDay, into: .dataset(name: "mine"), pool: pool)
            let clash = await #expect(throws: ServiceError.self) {
                try await Self.importFile(
                    "btc-usd-daily.csv", symbol: "BTC-USD", timeframe: .oneDay, into: .dataset(name: "mine"), pool: pool
                )
            }
            #expect(clash?.code == .conflict)
            let missing = await #expect(throws: ServiceError.self) {
                try await pool.withTransaction(readOnly: true) {
                    try await MarketDataStore().bars(symbol: "DOGE-USD", timeframe: .oneDay, in: $0)
                }
            }
            #expect(missing?.code == .notFound && missing?.message.contains("DOGE-USD") == true)
        }
    }
}
