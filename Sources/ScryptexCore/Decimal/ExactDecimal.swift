import Foundation

/// An exact base-10 number: a 128-bit integer significand and a count of digits after the point.
///
/// Money and quantities use this type, never `Double`: `0.1 + 0.2` is exactly `0.3`, and
/// rounding happens only where asked for, with a stated rule. The value keeps its scale as
/// written (`12.50` prints as `12.50`), while equality and hashing compare the number itself
/// (`12.5 == 12.50`).
///
/// Up to 38 significant digits are held. Arithmetic that would exceed that traps, like `Int`
/// arithmetic; use the throwing forms (`adding(_:figure:)`, `multiplied(by:figure:)`) on anything
/// derived from input. Decoding from JSON accepts only what `DecimalLimits.stored` holds.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The digits of the number as an integer: `12.50` has significand `1250` and scale `2`.
    public let significand: Int128
    /// How many of the significand's digits stand after the decimal point.
    public let scale: Int

    /// The largest scale held: 38 digits after the point.
    public static let maximumScale = 38

    public static let zero = ExactDecimal(significand: 0, scale: 0)

    /// Makes a decimal from a significand and a scale: `ExactDecimal(significand: 1250, scale: 2)`
    /// is `12.50`.
    public init(significand: Int128, scale: Int) {
        precondition((0...Self.maximumScale).contains(scale), "scale \(scale) is outside 0...\(Self.maximumScale)")
        self.significand = significand
        self.scale = scale
    }

    public init(_ integer: Int) {
        self.init(significand: Int128(integer), scale: 0)
    }

    /// Parses plain decimal text such as `-12.50`, `0.0001` or `1e6` (exponent form as JSON
    /// allows). Returns nil for anything else; `init(parsing:)` says what was wrong.
    public init?(_ description: String) {
        guard let value = try? ExactDecimal(parsing: description) else { return nil }
        self = value
    }

    /// Parses decimal text, throwing an error that names the problem.
    public init(parsing text: some StringProtocol) throws(ExactDecimalParsingError) {
        var significand: Int128 = 0
        var scale = 0
        var negative = false
        var sawDigit = false
        var sawPoint = false
        var exponent = 0
        var pendingZeros = 0
        var index = text.utf8.startIndex
        let bytes = text.utf8
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                sawDigit = true
                let digit = Int128(byte - UInt8(ascii: "0"))
                if sawPoint, digit == 0 {
                    // Held back: trailing zeros after the point change no value, so they are
                    // applied only when a later digit needs them, or at the end if they fit.
                    pendingZeros += 1
                    break
                }
                if pendingZeros > 0 {
                    guard let factor = Self.powerOfTen(pendingZeros) else { throw .tooManyDigits(String(text)) }
                    let (shifted, overflow) = significand.multipliedReportingOverflow(by: factor)
                    if overflow { throw .tooManyDigits(String(text)) }
                    significand = shifted
                    scale += pendingZeros
                    pendingZeros = 0
                }
                let (shifted, overflow1) = significand.multipliedReportingOverflow(by: 10)
                let (added, overflow2) = shifted.addingReportingOverflow(digit)
                if overflow1 || overflow2 { throw .tooManyDigits(String(text)) }
                significand = added
                if sawPoint { scale += 1 }
            case UInt8(ascii: "."):
                if sawPoint { throw .malformed(String(text)) }
                sawPoint = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard sawDigit else { throw .malformed(String(text)) }
                let rest = String(decoding: bytes[bytes.index(after: index)...], as: UTF8.self)
                guard let parsed = Int(rest), abs(parsed) <= 1000 else { throw .malformed(String(text)) }
                exponent = parsed
                index = bytes.endIndex
                continue
            default:
                throw .malformed(String(text))
            }
            index = bytes.index(after: index)
        }
        guard sawDigit else { throw .malformed(String(text)) }
        // Keep the scale as written when it fits (`12.50` stays `12.50`); drop the zeros otherwise.
        if pendingZeros > 0, let factor = Self.powerOfTen(pendingZeros) {
            let (shifted, overflow) = significand.multipliedReportingOverflow(by: factor)
            if !overflow {
                significand = shifted
                scale += pendingZeros
            }
        }
        scale -= exponent
        while scale < 0 {
            let (shifted, overflow) = significand.multipliedReportingOverflow(by: 10)
            if overflow { throw .tooManyDigits(String(text)) }
            significand = shifted
            scale += 1
        }
        // Digits beyond the maximum scale are only accepted when they are zeros.
        while scale > Self.maximumScale {
            guard significand % 10 == 0 else { throw .tooManyDigits(String(text)) }
            significand /= 10
            scale -= 1
        }
        self.init(significand: negative ? -significand : significand, scale: scale)
    }

    public var description: String {
        let magnitude = significand.magnitude
        // 64-bit formatting is much faster than 128-bit, and most amounts fit.
        var digits = magnitude <= UInt64.max ? String(UInt64(magnitude)) : String(magnitude)
        if scale > 0 {
            if digits.count <= scale {
                digits = String(repeating: "0", count: scale - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return significand < 0 ? "-" + digits : digits
    }

    public var isZero: Bool { significand == 0 }
    public var isNegative: Bool { significand < 0 }

    /// The number of digits after the point, not counting trailing zeros.
    public var significantScale: Int { normalized.scale }

    /// The same number with trailing zeros after the point removed: `12.50` → `12.5`.
    public var normalized: ExactDecimal {
        if scale > 0, let small = Int64(exactly: significand) {
            // The common case in 64 bits: 128-bit division is many times slower.
            var value = small
            var scale = self.scale
            while scale > 0, value % 10 == 0 {
                value /= 10
                scale -= 1
            }
            return ExactDecimal(significand: Int128(value), scale: scale)
        }
        var value = significand
        var scale = self.scale
        while scale > 0, value % 10 == 0 {
            value /= 10
            scale -= 1
        }
        return ExactDecimal(significand: value, scale: scale)
    }

    /// This number written with exactly `scale` digits after the point, or nil when that would
    /// lose digits or overflow.
    public func rescaledExactly(to scale: Int) -> ExactDecimal? {
        guard (0...Self.maximumScale).contains(scale) else { return nil }
        if scale >= self.scale {
            guard let factor = Self.powerOfTen(scale - self.scale) else { return nil }
            let (value, overflow) = significand.multipliedReportingOverflow(by: factor)
            return overflow ? nil : ExactDecimal(significand: value, scale: scale)
        }
        let factor = Self.powerOfTen(self.scale - scale)!
        guard significand % factor == 0 else { return nil }
        return ExactDecimal(significand: significand / factor, scale: scale)
    }

    /// Rounding rules for `rounded(toScale:rule:)`.
    public enum RoundingRule: Sendable {
        /// Ties go to the even neighbour (banker's rounding).
        case halfEven
        /// Ties go away from zero (commercial rounding).
        case halfUp
        /// Drops the extra digits (toward zero).
        case towardZero
        /// Any extra digit moves away from zero (the bound a figure is known to exceed).
        case awayFromZero
    }

    /// This number rounded to `scale` digits after the point.
    public func rounded(toScale scale: Int, rule: RoundingRule = .halfEven) -> ExactDecimal {
        precondition((0...Self.maximumScale).contains(scale))
        if scale >= self.scale { return rescaledExactly(to: scale) ?? self }
        let factor = Self.powerOfTen(self.scale - scale)!
        let quotient = significand / factor
        let remainder = significand % factor
        if remainder == 0 { return ExactDecimal(significand: quotient, scale: scale) }
        let twiceRemainder = remainder.magnitude * 2
        let away: Bool
        switch rule {
        case .towardZero: away = false
        case .awayFromZero: away = true
        case .halfUp: away = twiceRemainder >= factor.magnitude
        case .halfEven:
            away = twiceRemainder > factor.magnitude || (twiceRemainder == factor.magnitude && quotient % 2 != 0)
        }
        let adjusted = away ? quotient + (significand < 0 ? -1 : 1) : quotient
        return ExactDecimal(significand: adjusted, scale: scale)
    }

    // MARK: Arithmetic

    public static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let (result, overflow) = lhs.addingReportingOverflow(rhs)
        precondition(!overflow, "ExactDecimal addition overflowed")
        return result
    }

    public static func - (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        lhs + (-rhs)
    }

    public static prefix func - (value: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: -value.significand, scale: value.scale)
    }

    public static func * (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let (result, overflow) = lhs.multipliedReportingOverflow(by: rhs)
        precondition(!overflow, "ExactDecimal multiplication overflowed")
        return result
    }

    public static func += (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs + rhs }
    public static func -= (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs - rhs }

    public func addingReportingOverflow(_ other: ExactDecimal) -> (partialValue: ExactDecimal, overflow: Bool) {
        let scale = max(self.scale, other.scale)
        guard let left = rescaledExactly(to: scale), let right = other.rescaledExactly(to: scale) else {
            return retryingNormalized(other) { $0.addingReportingOverflow($1) }
        }
        let (sum, overflow) = left.significand.addingReportingOverflow(right.significand)
        if overflow { return retryingNormalized(other) { $0.addingReportingOverflow($1) } }
        return (ExactDecimal(significand: sum, scale: scale), false)
    }

    /// Values read from wide numeric columns carry many trailing zeros (250000.000…000); without
    /// them the same operation usually fits. Runs `operation` again on the normalized operands,
    /// or reports overflow when there is nothing to drop.
    private func retryingNormalized(
        _ other: ExactDecimal,
        _ operation: (ExactDecimal, ExactDecimal) -> (partialValue: ExactDecimal, overflow: Bool)
    ) -> (partialValue: ExactDecimal, overflow: Bool) {
        let left = normalized
        let right = other.normalized
        guard left.scale != scale || right.scale != other.scale else { return (.zero, true) }
        return operation(left, right)
    }

    /// The exact product; the scale is the sum of both scales, reduced by dropping trailing
    /// zeros when it would exceed the maximum scale.
    public func multipliedReportingOverflow(by other: ExactDecimal) -> (partialValue: ExactDecimal, overflow: Bool) {
        let (product, overflow) = significand.multipliedReportingOverflow(by: other.significand)
        if overflow { return retryingNormalized(other) { $0.multipliedReportingOverflow(by: $1) } }
        var value = product
        var scale = self.scale + other.scale
        while scale > Self.maximumScale {
            guard value % 10 == 0 else { return (.zero, true) }
            value /= 10
            scale -= 1
        }
        return (ExactDecimal(significand: value, scale: scale), false)
    }

    /// The quotient rounded to `scale` digits after the point; nil when dividing by zero or on
    /// overflow.
    public func divided(by divisor: ExactDecimal, scale: Int, rule: RoundingRule = .halfEven) -> ExactDecimal? {
        guard !divisor.isZero, (0...Self.maximumScale).contains(scale) else { return nil }
        // self / divisor = (a / 10^sa) / (b / 10^sb) = a * 10^(sb - sa) / b.
        // Compute with one extra digit of scale, then round.
        let exponent = scale + 1 + divisor.scale - self.scale
        var numerator = significand
        var denominator = divisor.significand
        if exponent >= 0 {
            guard let factor = Self.powerOfTen(exponent) else { return nil }
            let (scaled, overflow) = numerator.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            numerator = scaled
        } else {
            guard let factor = Self.powerOfTen(-exponent) else { return nil }
            let (scaled, overflow) = denominator.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            denominator = scaled
        }
        let quotient = numerator / denominator
        let remainder = numerator % denominator
        // A non-zero remainder beyond the extra digit breaks what would otherwise be a tie.
        var withExtraDigit = quotient
        if remainder != 0, quotient % 10 == 0 || quotient % 10 == 5 || quotient % 10 == -5 {
            withExtraDigit += (numerator < 0) != (denominator < 0) ? -1 : 1
        }
        guard scale + 1 <= Self.maximumScale else {
            return ExactDecimal(significand: withExtraDigit / 10, scale: scale)
        }
        return ExactDecimal(significand: withExtraDigit, scale: scale + 1).rounded(toScale: scale, rule: rule)
    }

    // MARK: Comparison and hashing

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) == 0
    }

    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) < 0
    }

    public func hash(into hasher: inout Hasher) {
        let normal = normalized
        hasher.combine(normal.significand)
        hasher.combine(normal.scale)
    }

    private static func compare(_ lhs: ExactDecimal, _ rhs: ExactDecimal) -> Int {
        if lhs.scale == rhs.scale {
            return lhs.significand < rhs.significand ? -1 : (lhs.significand == rhs.significand ? 0 : 1)
        }
        let scale = max(lhs.scale, rhs.scale)
        // If rescaling one side overflows, its magnitude exceeds anything the other side holds.
        guard let left = lhs.rescaledExactly(to: scale) else { return lhs.significand < 0 ? -1 : 1 }
        guard let right = rhs.rescaledExactly(to: scale) else { return rhs.significand < 0 ? 1 : -1 }
        return left.significand < right.significand ? -1 : (left.significand == right.significand ? 0 : 1)
    }

    static func powerOfTen(_ exponent: Int) -> Int128? {
        guard (0...38).contains(exponent) else { return nil }
        var value: Int128 = 1
        for _ in 0..<exponent { value *= 10 }
        return value
    }
}

/// Why text is not an exact decimal.
public enum ExactDecimalParsingError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case tooManyDigits(String)

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not a decimal number"
        case .tooManyDigits(let text): "'\(text)' has more digits than the 38 an exact decimal holds"
        }
    }
}

extension ExactDecimal: Codable {
    /// Decodes from a JSON string (`"12.50"`) or a JSON number. Numbers are read through
    /// Foundation's `Decimal`, which `JSONDecoder` fills from the number's digits, never through
    /// a binary float: `0.1` decodes as exactly 0.1. Encodes as a string, so no client reads it
    /// through a float either.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else if let number = try? container.decode(Decimal.self) {
            text = number.description
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a decimal number, such as 12.50 or \"12.50\""
            )
        }
        let value: ExactDecimal
        do {
            value = try ExactDecimal(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
        // Every decimal a document brings must fit where amounts are stored, so arithmetic on
        // a few of them cannot overflow and nothing is silently rounded by the database.
        guard DecimalLimits.stored.contains(value) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(text) is out of range (\(DecimalLimits.stored))")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
