public import ScryptexCore

/// A fill of one of the strategy's orders.
public struct Fill: Sendable, Equatable, Codable {
    public enum Side: String, Sendable, Codable, CaseIterable {
        case buy
        case sell
    }

    public var id: String
    public var market: String
    public var side: Side
    public var price: ExactDecimal
    public var quantity: ExactDecimal
    /// In the quote currency; negative for a rebate.
    public var fee: ExactDecimal
    /// The mid when it filled (for the spread captured), if known.
    public var mid: ExactDecimal?
    /// Seconds since 1970.
    public var time: Double

    public init(
        id: String, market: String, side: Side, price: ExactDecimal, quantity: ExactDecimal, fee: ExactDecimal,
        mid: ExactDecimal?, time: Double
    ) {
        self.id = id
        self.market = market
        self.side = side
        self.price = price
        self.quantity = quantity
        self.fee = fee
        self.mid = mid
        self.time = time
    }
}

/// One market's inventory and P&L, exact: average cost, fees included.
///
/// The open position's cost basis is kept as a signed sum (positive for a long, negative for a
/// short). Reducing a position by x of |q| takes basis·x/|q| out of it (rounded half-even to 18
/// decimal places — the only rounding; its residue stays in the basis, so realised P&L plus the
/// basis still left always equals the cash paid and received). Realised P&L is what closed
/// quantity earned against that basis, less every fee; unrealised P&L is q·mid − basis.
public struct PositionBook: Sendable, Equatable, Codable {
    public private(set) var position = ExactDecimal.zero
    public private(set) var costBasis = ExactDecimal.zero
    public private(set) var realised = ExactDecimal.zero
    public private(set) var fees = ExactDecimal.zero
    public private(set) var volume = ExactDecimal.zero
    /// Σ (mid − price)·quantity for buys and (price − mid)·quantity for sells, over fills with a mid.
    public private(set) var spreadCaptured = ExactDecimal.zero
    public private(set) var fills = 0

    public static let basisScale = 18

    public init() {}

    public mutating func apply(_ fill: Fill) {
        let signed = fill.side == .buy ? fill.quantity : ExactDecimal.zero - fill.quantity
        fills += 1
        volume += fill.quantity * fill.price
        fees += fill.fee
        realised -= fill.fee
        if let mid = fill.mid {
            spreadCaptured += (fill.side == .buy ? mid - fill.price : fill.price - mid) * fill.quantity
        }
        var remaining = signed
        if !position.isZero && position.isNegative != signed.isNegative {
            let held = position.isNegative ? ExactDecimal.zero - position : position
            let closing = fill.quantity < held ? fill.quantity : held
            let closed = signed.isNegative ? ExactDecimal.zero - closing : closing
            // basis · closing / held, the only division.
            let basisOut =
                closing == held
                ? costBasis
                : (costBasis * closing).divided(by: held, scale: Self.basisScale) ?? costBasis
            realised += (ExactDecimal.zero - closed * fill.price) - basisOut
            costBasis -= basisOut
            position += closed
            remaining = signed - closed
        }
        if !remaining.isZero {
            position += remaining
            costBasis += remaining * fill.price
        }
    }

    /// q·mid − basis.
    public func unrealised(at mid: ExactDecimal) -> ExactDecimal { position * mid - costBasis }

    /// basis / q, for display (nil when flat).
    public var averageCost: ExactDecimal? {
        position.isZero ? nil : costBasis.divided(by: position, scale: 12)
    }
}
