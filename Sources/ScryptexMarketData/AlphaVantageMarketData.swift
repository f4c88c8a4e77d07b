import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexPostgres

/// Alpha Vantage's crypto series (`BACKTESTING_DATA_SOURCE=alpha_vantage`): `DIGITAL_CURRENCY_DAILY`
/// and `_WEEKLY`, `CRYPTO_INTRADAY` (1, 5, 15 and 60 minutes), as CSV. `ETH-USD` (or `ETH/USD`) is
/// asked as symbol ETH in market USD. A failure — no network, an HTTP error, Alpha Vantage's own
/// error or rate-limit message (which it sends with status 200) — fails the backtest naming the
/// source; it never falls back to the local store while the result would claim this source.
public struct AlphaVantageMarketData: MarketDataSource {
    public let baseURL: String
    let apiKey: String
    let client: HTTPSClient

    public init(apiKey: String, baseURL: String = "https://www.alphavantage.co", trustedCertificatesFile: String? = nil)
    {
        self.apiKey = apiKey
        self.baseURL = baseURL
        client = HTTPSClient(
            trustedCertificatesFile: trustedCertificatesFile, timeout: .seconds(30), maximumBodyBytes: 64 << 20)
    }

    public var name: String { "alpha_vantage" }

    public func bars(
        symbol: String, timeframe: Timeframe, dataset: String?, start: Int64?, end: Int64?,
        in transaction: PostgresTransaction
    ) async throws -> BarSeries {
        if dataset != nil {
            return try await LocalMarketData().bars(
                symbol: symbol, timeframe: timeframe, dataset: dataset, start: start, end: end, in: transaction)
        }
        let symbol = try MarketSymbol.parse(symbol)
        let parts = symbol.split(whereSeparator: { $0 == "-" || $0 == "/" }).map(String.init)
        guard parts.count == 2 else {
            throw ServiceError(
                .invalidInput, "BACKTESTING_DATA_SOURCE=alpha_vantage: '\(symbol)' is not BASE-QUOTE (e.g. ETH-USD)")
        }
        var query = "symbol=\(parts[0])&market=\(parts[1])&datatype=csv"
        switch timeframe {
        case .oneDay: query = "function=DIGITAL_CURRENCY_DAILY&" + query
        case .oneWeek: query = "function=DIGITAL_CURRENCY_WEEKLY&" + query
        case .oneMinute, .fiveMinutes, .fifteenMinutes, .oneHour:
            let interval = ["1m": "1min", "5m": "5min", "15m": "15min", "1h": "60min"][timeframe.rawValue]!
            query = "function=CRYPTO_INTRADAY&interval=\(interval)&outputsize=full&" + query
        case .fourHours:
            throw ServiceError(
                .invalidInput,
                "BACKTESTING_DATA_SOURCE=alpha_vantage has no 4h bars (it has 1m, 5m, 15m, 1h, 1d and 1w)")
        }
        let response: HTTPClientResponse
        do {
            response = try await client.send(.get, baseURL + "/query?" + query + "&apikey=" + apiKey)
        } catch {
            throw ServiceError(
                .upstreamFailed, "BACKTESTING_DATA_SOURCE=alpha_vantage: \(baseURL) could not be reached (\(error))")
        }
        guard response.status == 200 else {
            throw ServiceError(
                .upstreamFailed, "BACKTESTING_DATA_SOURCE=alpha_vantage: \(baseURL) answered \(response.status)")
        }
        if response.body.first == UInt8(ascii: "{") {
            // Alpha Vantage reports errors and rate limits as JSON with status 200.
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
            let message =
                ["Error Message", "Note", "Information"].lazy.compactMap { object[$0] as? String }.first
                ?? "an answer that is not CSV"
            throw ServiceError(.upstreamFailed, "BACKTESTING_DATA_SOURCE=alpha_vantage: \(message.prefix(300))")
        }
        var reader = CSVBarReader()
        var splitter = LineSplitter()
        var lines = splitter.lines(in: response.body)
        if let last = splitter.finish() { lines.append(last) }
        var bars: [Bar] = []
        for line in lines {
            if case .bar(let bar) = try reader.read(line.text, number: line.number) {
                if let start, bar.time < start { continue }
                if let end, bar.time >= end { continue }
                bars.append(bar)
            }
        }
        bars.sort { $0.time < $1.time }
        return BarSeries(symbol: symbol, timeframe: timeframe, bars: bars)
    }
}
