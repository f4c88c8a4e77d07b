import Foundation
public import ScryptexCore

/// When to hedge and how much: once the strategy's exposure passes `threshold` (base units,
/// either way), an order on the hedge market brings it back to the threshold times `ratio` of
/// the excess, at most `maximumOrderSize`, rounded down to the hedge market's lot.
public struct HedgePolicy: Sendable, Equatable, Codable {
    public var market: Market
    public var threshold: Double
    /// 0–1: the share of the exposure past the threshold to hedge.
    public var ratio: Double
    public var maximumOrderSize: Double

    public init(market: Market, threshold: Double, ratio: Double = 1, maximumOrderSize: Double) {
        self.market = market
        self.threshold = threshold
        self.ratio = ratio
        self.maximumOrderSize = maximumOrderSize
    }

    public func validated(field: String = "hedging") throws -> HedgePolicy {
        _ = try market.validated(field: field + ".market")
        guard threshold > 0, threshold.isFinite else {
            throw ServiceError(.invalidInput, "field '\(field).threshold': above 0")
        }
        guard ratio > 0, ratio <= 1 else {
            throw ServiceError(.invalidInput, "field '\(field).ratio': above 0, at most 1")
        }
        guard maximumOrderSize > 0, maximumOrderSize.isFinite else {
            throw ServiceError(.invalidInput, "field '\(field).maximumOrderSize': above 0")
        }
        return self
    }

    public struct Order: Sendable, Equatable, Codable {
        public var market: String
        public var side: Fill.Side
        public var quantity: ExactDecimal
        /// The exposure before and after the order fills.
        public var exposureBefore: Double
        public var exposureAfter: Double
    }

    /// The hedge order for `inventory` (the quoted markets' position, netted) and what the hedge
    /// market already holds; nil while the exposure is within the threshold or the order would
    /// be under one lot.
    public func order(inventory: Double, hedgePosition: Double) -> Order? {
        let exposure = inventory + hedgePosition
        guard abs(exposure) > threshold else { return nil }
        let excess = abs(exposure) - threshold
        let wanted = min(excess * ratio, maximumOrderSize)
        let lots = Int64(min(1e15, max(0, wanted / market.lotSize.doubleValue + 1e-9)).rounded(.down))
        guard lots >= 1 else { return nil }
        let quantity = market.quantity(lots: lots)
        let signed = exposure > 0 ? -quantity.doubleValue : quantity.doubleValue
        return Order(
            market: market.key, side: exposure > 0 ? .sell : .buy, quantity: quantity, exposureBefore: exposure,
            exposureAfter: exposure + signed)
    }
}

/// The markets a strategy quotes, with their inventories netted by base asset: ETH/USDC on two
/// venues share one ETH inventory when `netting` is on (the quoting models then see the sum).
public enum InventoryNetting {
    /// The base asset of a symbol such as `ETH/USDC` or `ETH-USD`.
    public static func baseAsset(of symbol: String) -> String {
        String(symbol.split(whereSeparator: { $0 == "/" || $0 == "-" }).first ?? Substring(symbol)).uppercased()
    }

    /// The inventory each market's quote sees: its own, or the sum over markets with the same
    /// base asset.
    public static func quotedInventory(
        positions: [String: Double], markets: [Market], netting: Bool
    ) -> [String: Double] {
        guard netting else { return Dictionary(uniqueKeysWithValues: markets.map { ($0.key, positions[$0.key] ?? 0) }) }
        var byAsset: [String: Double] = [:]
        for market in markets { byAsset[baseAsset(of: market.symbol), default: 0] += positions[market.key] ?? 0 }
        return Dictionary(uniqueKeysWithValues: markets.map { ($0.key, byAsset[baseAsset(of: $0.symbol)] ?? 0) })
    }
}
