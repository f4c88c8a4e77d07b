import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@testable import ScryptexMarketData

/// `BACKTESTING_DATA_SOURCE=alpha_vantage` against a local stand-in for Alpha Vantage's query API:
/// its CSV read, its errors (sent with status 200) and an unreachable server fail naming the
/// source, never falling back to local data.
@Suite("Alpha Vantage market data", .serialized)
struct AlphaVantageTests {
    static var router: Router {
        var router = Router()
        router.get("/query") { request, _ in
            let query = String(request.query ?? "")
            guard query.contains("apikey=good") else {
                return .json(#"{"Information":"Thank you for using Alpha Vantage! Please claim your free API key."}"#)
            }
            guard query.contains("function=DIGITAL_CURRENCY_DAILY"), query.contains("symbol=ETH"),
                query.contains("market=USD"), query.contains("datatype=csv")
            else { return .json(#"{"Error Message":"Invalid API call."}"#) }
            // Newest first, as Alpha Vantage sends it.
            let csv = """
                timestamp,open,high,low,close,volume\r
                2023-04-17,2100.0,2110.5,2050.0,2075.3,120000.5\r
                2023-04-16,2090.0,2105.0,2080.0,2100.0,90000\r
                2023-04-15,2095.0,2101.0,2085.0,2090.0,80000\r

                """
            return HTTPResponse(status: .ok, contentType: "text/csv", body: Array(csv.utf8))
        }
        return router
    }

    static func bars(_ source: AlphaVantageMarketData, start: Int64? = nil) async throws -> BarSeries {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 1), logger: TestDatabase.logger)
            defer { Task { await pool.close() } }
            return try await pool.withTransaction(readOnly: true) {
                try await source.bars(
                    symbol: "eth-usd", timeframe: .oneDay, dataset: nil, start: start, end: nil, in: $0)
            }
        }
    }

    @Test func readsTheDailySeriesOldestFirst() async throws {
        try await TestHTTPSServer.with(Self.router) { url, caFile in
            let source = AlphaVantageMarketData(apiKey: "good", baseURL: url, trustedCertificatesFile: caFile)
            let series = try await Self.bars(source)
            #expect(series.symbol == "ETH-USD" && series.count == 3)
            #expect(series.times == [1_681_516_800, 1_681_603_200, 1_681_689_600])
            #expect(series.close == [2090, 2100, 2075.3])
            #expect(try await Self.bars(source, start: 1_681_603_200).count == 2)
        }
    }

    @Test func itsErrorsAndAnUnreachableServerNameTheSource() async throws {
        try await TestHTTPSServer.with(Self.router) { url, caFile in
            let limited = AlphaVantageMarketData(apiKey: "bad", baseURL: url, trustedCertificatesFile: caFile)
            let error = await #expect(throws: ServiceError.self) { try await Self.bars(limited) }
            #expect(error?.code == .upstreamFailed)
            #expect(error?.message.hasPrefix("BACKTESTING_DATA_SOURCE=alpha_vantage: Thank you for using") == true)
        }
        let closed = AlphaVantageMarketData(apiKey: "good", baseURL: "https://127.0.0.1:\(try FreePort.tcp())")
        let error = await #expect(throws: ServiceError.self) { try await Self.bars(closed) }
        #expect(error?.message.contains("BACKTESTING_DATA_SOURCE=alpha_vantage") == true)
        #expect(error?.message.contains("could not be reached") == true)
    }
}
