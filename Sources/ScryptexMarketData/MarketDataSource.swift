import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Where backtests read bars (`BACKTESTING_DATA_SOURCE`): the local store, or a provider. A
/// tenant's own dataset is always read from the store.
public protocol MarketDataSource: Sendable {
    /// The name a result records.
    var name: String { get }
    func bars(
        symbol: String, timeframe: Timeframe, dataset: String?, start: Int64?, end: Int64?,
        in transaction: PostgresTransaction
    ) async throws -> BarSeries
}

/// The platform's store and the tenant's datasets.
public struct LocalMarketData: MarketDataSource {
    public init() {}
    public var name: String { "local" }

    public func bars(
        symbol: String, timeframe: Timeframe, dataset: String?, start: Int64?, end: Int64?,
        in transaction: PostgresTransaction
    ) async throws -> BarSeries {
        try await MarketDataStore().bars(
            symbol: symbol, timeframe: timeframe, dataset: dataset, start: start, end: end, in: transaction)
    }
}
