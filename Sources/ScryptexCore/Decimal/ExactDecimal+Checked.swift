/// Arithmetic for numbers that came from outside: the operators trap on overflow like `Int`'s,
/// which in a server takes every tenant down, so anything derived from a request, a file or a
/// stored value uses these forms and answers the caller with an error that names the figure.
extension ExactDecimal {
    /// The exact sum, or an error naming `figure` when it does not fit 38 digits.
    public func adding(
        _ other: ExactDecimal, figure: @autoclosure () -> String
    ) throws(ServiceError)
        -> ExactDecimal
    {
        let (sum, overflow) = addingReportingOverflow(other)
        if overflow { throw ServiceError.overflow(of: figure()) }
        return sum
    }

    /// The exact difference, or an error naming `figure` when it does not fit 38 digits.
    public func subtracting(
        _ other: ExactDecimal, figure: @autoclosure () -> String
    ) throws(ServiceError)
        -> ExactDecimal
    {
        try adding(-other, figure: figure())
    }

    /// The exact product, or an error naming `figure` when it does not fit 38 digits.
    public func multiplied(
        by other: ExactDecimal, figure: @autoclosure () -> String
    ) throws(ServiceError)
        -> ExactDecimal
    {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        if overflow { throw ServiceError.overflow(of: figure()) }
        return product
    }
}

/// The numbers a field accepts: at most so many digits before the point and after it.
///
/// `stored` is what every amount, quantity and price column holds (PostgreSQL `numeric(38, 18)`),
/// and what a decimal read from a JSON document may be, so a value the host accepts can always be
/// stored and two of them can always be added.
public struct DecimalLimits: Sendable, Equatable, CustomStringConvertible {
    public var integerDigits: Int
    public var fractionDigits: Int

    public init(integerDigits: Int, fractionDigits: Int) {
        precondition(integerDigits >= 0 && fractionDigits >= 0 && integerDigits + fractionDigits <= 38)
        self.integerDigits = integerDigits
        self.fractionDigits = fractionDigits
    }

    /// `numeric(38, 18)`: 20 digits before the point, 18 after.
    public static let stored = DecimalLimits(integerDigits: 20, fractionDigits: 18)

    /// Whether `value` fits: its digits after the point (trailing zeros aside) and its magnitude.
    public func contains(_ value: ExactDecimal) -> Bool {
        let normal = value.normalized
        guard normal.scale <= fractionDigits, let bound = ExactDecimal.powerOfTen(integerDigits + normal.scale)
        else { return false }
        return normal.significand.magnitude < bound.magnitude
    }

    /// Returns `value` when it fits, or throws naming `field` and the limits.
    @discardableResult
    public func check(_ value: ExactDecimal, field: String) throws(ServiceError) -> ExactDecimal {
        guard contains(value) else {
            throw ServiceError(.invalidInput, "field '\(field)': \(value) is out of range (\(self))")
        }
        return value
    }

    /// The limits in words: "at most 20 digits before the point and 18 after".
    public var description: String { "at most \(integerDigits) digits before the point and \(fractionDigits) after" }
}

extension ServiceError {
    /// A figure too large to compute exactly: bad input, answered with a 400.
    static func overflow(of figure: String) -> ServiceError {
        ServiceError(.invalidInput, "\(figure) is too large to compute exactly (more than 38 digits)")
    }
}

extension Sequence where Element == ExactDecimal {
    /// The exact sum of the values, or an error naming `figure` when it does not fit.
    public func sum(figure: @autoclosure () -> String) throws(ServiceError) -> ExactDecimal {
        var total = ExactDecimal.zero
        for value in self { total = try total.adding(value, figure: figure()) }
        return total
    }
}
