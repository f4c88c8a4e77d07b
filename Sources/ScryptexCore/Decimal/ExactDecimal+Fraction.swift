/// Exact fractions of decimals, rounded once.
///
/// A revenue share such as "the volume tiers' earnings × revenue / volume" is a fraction whose
/// decimal expansion need not end. Rounding a part of it first (the average rate, a product's
/// slice) and then the whole rounds twice, and a tie can land on the wrong cent. Here the product
/// of the numerator's two factors is formed in 256 bits, divided with its remainder, and the
/// quotient rounded once by the remainder — exact for every value an `ExactDecimal` holds.
extension ExactDecimal {
    /// `self × multiplier ÷ divisor`, rounded once to `scale` digits after the point by `rule`.
    /// Nil when dividing by zero, when `scale` is outside `0...maximumScale`, or when the result
    /// does not fit 38 digits.
    public func multiplied(
        by multiplier: ExactDecimal, dividedBy divisor: ExactDecimal, scale: Int, rule: RoundingRule = .halfEven
    ) -> ExactDecimal? {
        guard !divisor.isZero, (0...Self.maximumScale).contains(scale) else { return nil }
        let negative = ((significand < 0) != (multiplier.significand < 0)) != (divisor.significand < 0)
        if significand == 0 || multiplier.significand == 0 { return ExactDecimal(significand: 0, scale: scale) }
        // value × 10^scale = a·b·10^(scale + sc − sa − sb) / c, with magnitudes.
        var numerator = UInt256.product(significand.magnitude, multiplier.significand.magnitude)
        var denominator = UInt256(divisor.significand.magnitude)
        let exponent = scale + divisor.scale - self.scale - multiplier.scale
        var denominatorOverflowed = false
        for _ in 0..<abs(exponent) {
            if exponent > 0 {
                // A numerator past 256 bits over a divisor below 2^128 leaves a quotient past 2^128.
                guard let scaled = numerator.multipliedByTen() else { return nil }
                numerator = scaled
            } else if let scaled = denominator.multipliedByTen() {
                denominator = scaled
            } else {
                denominatorOverflowed = true
                break
            }
        }
        var quotient = UInt256.zero
        var remainder = numerator
        if !denominatorOverflowed {
            (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        }
        guard var magnitude = quotient.asUInt128 else { return nil }
        if !remainder.isZero {
            // Past 256 bits the denominator exceeds twice any numerator: below half a unit.
            let comparison = denominatorOverflowed ? -1 : remainder.compareTwice(with: denominator)
            let away: Bool
            switch rule {
            case .towardZero: away = false
            case .awayFromZero: away = true
            case .halfUp: away = comparison >= 0
            case .halfEven: away = comparison > 0 || (comparison == 0 && magnitude % 2 != 0)
            }
            if away {
                guard magnitude < UInt128.max else { return nil }
                magnitude += 1
            }
        }
        guard magnitude <= UInt128(Int128.max) else { return nil }
        let signed = Int128(magnitude)
        return ExactDecimal(significand: negative ? -signed : signed, scale: scale)
    }
}

/// An unsigned 256-bit integer: just what an exact multiply-then-divide needs.
struct UInt256: Equatable {
    var high: UInt128
    var low: UInt128

    static let zero = UInt256(high: 0, low: 0)

    init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    init(_ value: UInt128) {
        self.init(high: 0, low: value)
    }

    var isZero: Bool { high == 0 && low == 0 }

    var asUInt128: UInt128? { high == 0 ? low : nil }

    /// The full product of two 128-bit numbers.
    static func product(_ lhs: UInt128, _ rhs: UInt128) -> UInt256 {
        let (high, low) = lhs.multipliedFullWidth(by: rhs)
        return UInt256(high: high, low: low)
    }

    func multipliedByTen() -> UInt256? {
        let (lowProduct, lowCarry) = (low.multipliedFullWidth(by: 10))
        let (highProduct, highOverflow) = high.multipliedReportingOverflow(by: 10)
        guard !highOverflow else { return nil }
        let (sum, carry) = highProduct.addingReportingOverflow(lowProduct)
        guard !carry else { return nil }
        return UInt256(high: sum, low: lowCarry)
    }

    static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    func subtracting(_ other: UInt256) -> UInt256 {
        let (low, borrow) = self.low.subtractingReportingOverflow(other.low)
        return UInt256(high: high &- other.high &- (borrow ? 1 : 0), low: low)
    }

    func shiftedLeftByOne() -> (value: UInt256, carry: Bool) {
        (UInt256(high: (high << 1) | (low >> 127), low: low << 1), high >> 127 == 1)
    }

    func bit(_ index: Int) -> Bool {
        index >= 128 ? (high >> (index - 128)) & 1 == 1 : (low >> index) & 1 == 1
    }

    mutating func setBit(_ index: Int) {
        if index >= 128 { high |= 1 << (index - 128) } else { low |= 1 << index }
    }

    /// Schoolbook binary long division.
    func quotientAndRemainder(dividingBy divisor: UInt256) -> (quotient: UInt256, remainder: UInt256) {
        precondition(!divisor.isZero)
        var quotient = UInt256.zero
        var remainder = UInt256.zero
        for index in stride(from: 255, through: 0, by: -1) {
            let (shifted, carry) = remainder.shiftedLeftByOne()
            remainder = shifted
            if bit(index) { remainder.low |= 1 }
            // A carry out of bit 255 means the remainder is past any 256-bit divisor.
            if carry || !(remainder < divisor) {
                remainder = remainder.subtracting(divisor)
                quotient.setBit(index)
            }
        }
        return (quotient, remainder)
    }

    /// The sign of `2 × self − other`: how a remainder compares with half the divisor.
    func compareTwice(with other: UInt256) -> Int {
        let (twice, carry) = shiftedLeftByOne()
        if carry { return 1 }
        if twice == other { return 0 }
        return twice < other ? -1 : 1
    }
}
