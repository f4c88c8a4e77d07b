import Foundation
import ScryptexCore
import ScryptexMarketData
import ScryptexPostgres

struct MarketDataImportCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "import",
        summary:
            "Import OHLCV bars from a CSV file (Yahoo, CryptoDataDownload or any file with a time, open, high, low and close column) into the platform's store.",
        options: [
            .value("symbol", "SYMBOL", "The market, e.g. ETH-USD.", required: true),
            .value("timeframe", "TF", "The bars' length: \(Timeframe.accepted).", required: true),
            .flag("json", "Print the whole import report as JSON."),
        ],
        arguments: [.required("file", "The CSV file.")],
        discussion:
            "Reads the file in chunks (progress on standard error) and stages it in the database, so memory stays bounded whatever its size. Duplicate rows are dropped and counted, defective rows skipped and listed, gaps and outlier candles reported; a malformed file (text where a number belongs, a wrong number of fields) stores nothing and names the line."
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let path = invocation.arguments[0]
        let timeframe = try Timeframe.parse(invocation.value("timeframe") ?? "")
        let file = try FileChunks(path: path)
        var lastShown = -1
        let report = try await pool.withTransaction(statementTimeout: .seconds(600)) { transaction in
            try await MarketDataImporter().importCSV(
                symbol: invocation.value("symbol") ?? "", timeframe: timeframe, into: .platform,
                source: URL(fileURLWithPath: path).lastPathComponent, totalBytes: file.size, nextChunk: file.next,
                progress: { progress in
                    guard let total = progress.totalBytes, total > 0 else { return }
                    let percent = progress.bytesRead * 100 / total
                    if percent / 10 != lastShown / 10 {
                        lastShown = percent
                        context.errorOutput("read \(percent) % (\(progress.rowsRead) rows)")
                    }
                }, in: transaction)
        }
        if invocation.hasFlag("json") {
            context.output(try String(decoding: SortedJSONEncoder().encode(report), as: UTF8.self))
        } else {
            context.output(Self.summary(report))
        }
        return ScryptexProgram.ExitCode.success
    }

    static func summary(_ report: ImportReport) -> String {
        var lines = [
            "\(report.symbol) \(report.timeframe.rawValue) from \(report.source) (\(report.layout?.rawValue ?? "?") layout, \(report.order)):",
            "  rows read \(report.rowsRead): \(report.barsInFile) bars, \(report.duplicatesDropped) duplicates dropped, \(report.missingRows) empty, \(report.defectiveRows) defective",
            "  stored \(report.stored) new, \(report.updated) changed, \(report.unchanged) unchanged; the series holds \(report.barsInSeries) bars, \(report.firstBar ?? "-") to \(report.lastBar ?? "-")",
            "  gaps \(report.gapCount) (\(report.missingBarsInGaps) bars missing); outlier candles \(report.outlierCount)",
        ]
        lines += report.conflictingDuplicates.map {
            "  conflicting duplicate at \($0) (the first row in the file kept)"
        }
        lines += report.defects.map { "  defect: \($0)" }
        lines += report.gaps.map { "  gap: \($0.missingBars) bars missing between \($0.after) and \($0.before)" }
        lines += report.outliers.map {
            "  outlier: \($0.time) \($0.kind) \($0.value) (threshold \($0.threshold))"
        }
        return lines.joined(separator: "\n")
    }
}

struct MarketDataGenerateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "generate",
        summary: "Store a synthetic market (GBM with jumps and volatility regimes) in the platform's store.",
        options: [
            .value("symbol", "SYMBOL", "The series' symbol (default SYN-USD)."),
            .value("timeframe", "TF", "The bars' length (default 1d)."),
            .value("bars", "N", "How many bars (default 1000)."),
            .value("seed", "N", "The random seed (default 42): the same seed gives the same bars."),
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        var market = SyntheticMarket()
        if let symbol = invocation.value("symbol") { market.symbol = symbol }
        if let timeframe = invocation.value("timeframe") { market.timeframe = try Timeframe.parse(timeframe) }
        if let bars = invocation.value("bars") {
            guard let count = Int(bars) else { throw ServiceError(.invalidInput, "--bars: '\(bars)' is not a number") }
            market.bars = count
        }
        if let seed = invocation.value("seed") {
            guard let value = UInt64(seed) else {
                throw ServiceError(.invalidInput, "--seed: '\(seed)' is not a number")
            }
            market.seed = value
        }
        let series = try market.generate()
        try await pool.withTransaction(statementTimeout: .seconds(600)) {
            try await MarketDataStore().store(
                series, into: .platform, source: "synthetic (seed \(market.seed))", in: $0)
        }
        context.output(
            "stored \(series.count) synthetic \(series.timeframe.rawValue) bars of \(series.symbol) (seed \(market.seed))"
        )
        return ScryptexProgram.ExitCode.success
    }
}

struct MarketDataListCommand: DatabaseCommand {
    static let definition = CommandDefinition(name: "list", summary: "List the platform's market-data series.")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let series = try await pool.withTransaction(readOnly: true) {
            try await MarketDataStore().list(tenantDatasets: false, in: $0)
        }
        if series.isEmpty { context.output("no market data stored") }
        for item in series {
            context.output(
                "\(item.symbol)  \(item.timeframe.rawValue)  \(item.bars) bars  \(item.firstBar ?? "-") to \(item.lastBar ?? "-")  from \(item.source)"
            )
        }
        return ScryptexProgram.ExitCode.success
    }
}
