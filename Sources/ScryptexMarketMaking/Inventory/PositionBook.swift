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

    /// Books a fill. Amounts whose products or sums do not fit exact arithmetic are refused,
    /// naming the fill, and the book is left as it was.
    public mutating func apply(_ fill: Fill) throws {
        var next = self
        try next.book(fill)
        self = next
    }

    private mutating func book(_ fill: Fill) throws {
        func sum(_ a: ExactDecimal, _ b: ExactDecimal) throws -> ExactDecimal {
            let (value, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw Self.outOfRange(fill) }
            return value
        }
        func product(_ a: ExactDecimal, _ b: ExactDecimal) throws -> ExactDecimal {
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw Self.outOfRange(fill) }
            return value
        }
        let signed = fill.side == .buy ? fill.quantity : -fill.quantity
        fills += 1
        volume = try sum(volume, try product(fill.quantity, fill.price))
        fees = try sum(fees, fill.fee)
        realised = try sum(realised, -fill.fee)
        if let mid = fill.mid {
            let edge = fill.side == .buy ? try sum(mid, -fill.price) : try sum(fill.price, -mid)
            spreadCaptured = try sum(spreadCaptured, try product(edge, fill.quantity))
        }
        var remaining = signed
        if !position.isZero && position.isNegative != signed.isNegative {
            let held = position.isNegative ? -position : position
            let closing = fill.quantity < held ? fill.quantity : held
            let closed = signed.isNegative ? -closing : closing
            // basis · closing / held, the only division.
            let basisOut: ExactDecimal
            if closing == held {
                basisOut = costBasis
            } else {
                guard let share = try product(costBasis, closing).divided(by: held, scale: Self.basisScale) else {
                    throw Self.outOfRange(fill)
                }
                basisOut = share
            }
            realised = try sum(realised, try sum(-(try product(closed, fill.price)), -basisOut))
            costBasis = try sum(costBasis, -basisOut)
            position = try sum(position, closed)
            remaining = try sum(signed, -closed)
        }
        if !remaining.isZero {
            position = try sum(position, remaining)
            costBasis = try sum(costBasis, try product(remaining, fill.price))
        }
    }

    static func outOfRange(_ fill: Fill) -> ServiceError {
        ServiceError(
            .invalidInput,
            "fill '\(fill.id.prefix(80))': its price, quantity and fee are out of range for exact arithmetic with this position"
        )
    }

    /// q·mid − basis; nil when it does not fit exact arithmetic.
    public func unrealised(at mid: ExactDecimal) -> ExactDecimal? {
        let (value, overflow) = position.multipliedReportingOverflow(by: mid)
        guard !overflow else { return nil }
        let (total, over) = value.addingReportingOverflow(-costBasis)
        return over ? nil : total
    }

    /// basis / q, for display (nil when flat).
    public var averageCost: ExactDecimal? {
        position.isZero ? nil : costBasis.divided(by: position, scale: 12)
    }
}
