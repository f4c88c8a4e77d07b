import Foundation

extension ExactDecimal {
    /// A close `Double`, for analytics that may be approximate (models, returns, volatility);
    /// never for money that is stored or reported.
    public var doubleValue: Double { Double(significand) / pow(10, Double(scale)) }
}
