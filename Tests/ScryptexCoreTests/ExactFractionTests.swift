import Testing

@testable import ScryptexCore

/// `multiplied(by:dividedBy:scale:)`: a fraction of decimals rounded once, checked against plain
/// integer arithmetic where that cannot overflow, and against answers worked out by hand past it.
@Suite("Exact fractions rounded once")
struct ExactFractionTests {
    /// The oracle: a·b·10^e / c in Int128 (small operands only), rounded by the remainder.
    static func oracle(
        _ a: Int128, _ sa: Int, _ b: Int128, _ sb: Int, _ c: Int128, _ sc: Int, scale: Int,
        rule: ExactDecimal.RoundingRule
    ) -> ExactDecimal {
        var numerator = a * b
        var denominator = c
        let exponent = scale + sc - sa - sb
        for _ in 0..<abs(exponent) {
            if exponent > 0 { numerator *= 10 } else { denominator *= 10 }
        }
        if denominator < 0 {
            numerator = -numerator
            denominator = -denominator
        }
        var quotient = numerator / denominator
        let remainder = (numerator % denominator).magnitude
        if remainder != 0 {
            let twice = remainder * 2
            let away: Bool
            switch rule {
            case .towardZero: away = false
            case .awayFromZero: away = true
            case .halfUp: away = twice >= denominator.magnitude
            case .halfEven:
                away = twice > denominator.magnitude || (twice == denominator.magnitude && quotient % 2 != 0)
            }
            if away { quotient += numerator < 0 ? -1 : 1 }
        }
        return ExactDecimal(significand: quotient, scale: scale)
    }

    @Test func matchesIntegerArithmeticOnRandomSmallFractions() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let a = Int128(Int64.random(in: -999_999_999...999_999_999, using: &generator))
            let b = Int128(Int64.random(in: -999_999_999...999_999_999, using: &generator))
            var c = Int128(Int64.random(in: -999_999...999_999, using: &generator))
            if c == 0 { c = 7 }
            let (sa, sb, sc) = (Int.random(in: 0...6), Int.random(in: 0...6), Int.random(in: 0...6))
            let scale = Int.random(in: 0...6)
            for rule in [ExactDecimal.RoundingRule.halfEven, .halfUp, .towardZero, .awayFromZero] {
                let value = ExactDecimal(significand: a, scale: sa).multiplied(
                    by: ExactDecimal(significand: b, scale: sb), dividedBy: ExactDecimal(significand: c, scale: sc),
                    scale: scale, rule: rule)
                let expected = Self.oracle(a, sa, b, sb, c, sc, scale: scale, rule: rule)
                #expect(value == expected, "\(a)e-\(sa) × \(b)e-\(sb) / \(c)e-\(sc) at \(scale) by \(rule)")
            }
        }
    }

    /// Ties land on the even cent, however many digits the exact value has before its last one.
    @Test func tiesGoToTheEvenCentOnce() throws {
        // 1,931,453.905 exactly (3,862,907.81 × 1 / 2): half-even keeps .90.
        let tie = try #require(
            ExactDecimal(parsing: "3862907.81").multiplied(by: ExactDecimal(1), dividedBy: ExactDecimal(2), scale: 2))
        #expect(tie == (try ExactDecimal(parsing: "1931453.90")))
        // A third is never a tie: 0.01 / 3 → 0.00; 0.02 / 3 → 0.01.
        #expect(
            ExactDecimal(significand: 1, scale: 2).multiplied(by: ExactDecimal(1), dividedBy: ExactDecimal(3), scale: 2)
                == ExactDecimal(significand: 0, scale: 2))
        #expect(
            ExactDecimal(significand: 2, scale: 2).multiplied(by: ExactDecimal(1), dividedBy: ExactDecimal(3), scale: 2)
                == ExactDecimal(significand: 1, scale: 2))
        // Just below a tie by one unit in the 30th place stays below it.
        let below = try ExactDecimal(parsing: "0.004999999999999999999999999999")
        #expect(below.multiplied(by: ExactDecimal(1), dividedBy: ExactDecimal(1), scale: 2) == .zero)
    }

    /// Products past 128 bits: formed in 256 and still exact.
    @Test func productsPastOneHundredTwentyEightBits() throws {
        let big = try ExactDecimal(parsing: "99999999999999999999.999999999999999999")
        // (10^20 − 10^-18)² / (10^20 − 10^-18) = the number itself.
        #expect(big.multiplied(by: big, dividedBy: big, scale: 18) == big)
        // 10^37 × 10^37 / 10^37.
        let huge = ExactDecimal(significand: Int128(10).power(37), scale: 0)
        #expect(huge.multiplied(by: huge, dividedBy: huge, scale: 0) == huge)
        // A result past 38 digits is nil, not a wrapped number.
        #expect(huge.multiplied(by: huge, dividedBy: ExactDecimal(1), scale: 0) == nil)
        // A denominator past 256 bits: the quotient is under half a unit.
        let tiny = ExactDecimal(significand: 1, scale: 38)
        #expect(
            ExactDecimal(1).multiplied(by: tiny, dividedBy: huge, scale: 38, rule: .halfEven)
                == ExactDecimal(significand: 0, scale: 38))
        #expect(
            ExactDecimal(1).multiplied(by: tiny, dividedBy: huge, scale: 38, rule: .awayFromZero)
                == ExactDecimal(significand: 1, scale: 38))
        #expect(ExactDecimal(1).multiplied(by: ExactDecimal(1), dividedBy: .zero, scale: 2) == nil)
    }
}

extension Int128 {
    fileprivate func power(_ exponent: Int) -> Int128 { (0..<exponent).reduce(1) { result, _ in result * self } }
}
