import Foundation
import ScryptexCore

/// Units (docs/MARKET_MAKING.md): prices and spreads in the market's quote currency; inventory
/// q in units of the base asset, measured from the inventory target; σ in price units per
/// √second; τ in seconds; γ per price unit; κ per price unit.
public struct QuotingParameters: Sendable, Equatable, Codable {
    public enum Model: Sendable, Equatable, Codable {
        case avellanedaStoikov(AvellanedaStoikov)
        case ladder(Ladder)

        public var name: String {
            switch self {
            case .avellanedaStoikov: "avellaneda_stoikov"
            case .ladder: "ladder"
            }
        }
    }

    /// Avellaneda and Stoikov (2008): r = s − q·γ·σ²·τ, δ = γ·σ²·τ + (2/γ)·ln(1 + γ/κ).
    public struct AvellanedaStoikov: Sendable, Equatable, Codable {
        public var gamma: Double
        /// Configured, or nil to estimate it from observed trades (`IntensityFit`).
        public var kappa: Double?
        /// `finite`: τ is the time left in the current session of `horizonSeconds` (sessions
        /// start at multiples of it since 1970, UTC: 86,400 ends each day at midnight);
        /// `infinite`: τ is `horizonSeconds` always (a rolling horizon).
        public var horizon: Horizon
        public var horizonSeconds: Double
        /// Sizes shrink against the inventory: with q > 0 the bid's is base·e^(−η·q), with
        /// q < 0 the ask's is base·e^(η·q).
        public var eta: Double

        public enum Horizon: String, Sendable, Codable, CaseIterable {
            case finite
            case infinite
        }

        public init(gamma: Double, kappa: Double?, horizon: Horizon, horizonSeconds: Double, eta: Double = 0) {
            self.gamma = gamma
            self.kappa = kappa
            self.horizon = horizon
            self.horizonSeconds = horizonSeconds
            self.eta = eta
        }
    }

    /// Several levels each side of the mid.
    public struct Ladder: Sendable, Equatable, Codable {
        public var levels: Int
        /// `fixed`: the inner spread is `spread`; `volatility`: it is
        /// `volatilityMultiple`·σ·√`horizonSeconds`.
        public var spreadMode: SpreadMode
        public var spread: Double
        public var volatilityMultiple: Double
        public var horizonSeconds: Double
        /// Between one level and the next, each side.
        public var levelSpacing: Double
        /// Added to each level's size after the first.
        public var sizeIncrement: Double
        /// 0–1: with w = q / inventoryLimit (clamped to ±1), bid sizes × (1 − skew·w), ask sizes
        /// × (1 + skew·w).
        public var inventorySkew: Double

        public enum SpreadMode: String, Sendable, Codable, CaseIterable {
            case fixed
            case volatility
        }

        public init(
            levels: Int, spreadMode: SpreadMode, spread: Double, volatilityMultiple: Double = 0,
            horizonSeconds: Double = 0, levelSpacing: Double, sizeIncrement: Double = 0, inventorySkew: Double = 0
        ) {
            self.levels = levels
            self.spreadMode = spreadMode
            self.spread = spread
            self.volatilityMultiple = volatilityMultiple
            self.horizonSeconds = horizonSeconds
            self.levelSpacing = levelSpacing
            self.sizeIncrement = sizeIncrement
            self.inventorySkew = inventorySkew
        }
    }

    public var model: Model
    /// Base order size (base asset units).
    public var orderSize: Double
    public var minimumSpread: Double
    public var maximumSpread: Double?
    /// No bid above the ceiling, no ask below the floor.
    public var priceCeiling: Double?
    public var priceFloor: Double?
    public var inventoryTarget: Double
    /// |q| at which the side that would grow it stops quoting.
    public var inventoryLimit: Double
    /// A fixed σ (price units per √second) instead of the estimate.
    public var volatility: Double?
    /// Which estimate: `ewma` (default) or `realised`.
    public var volatilityEstimate: VolatilityChoice

    public enum VolatilityChoice: String, Sendable, Codable, CaseIterable {
        case ewma
        case realised
    }

    public init(
        model: Model, orderSize: Double, minimumSpread: Double = 0, maximumSpread: Double? = nil,
        priceCeiling: Double? = nil, priceFloor: Double? = nil, inventoryTarget: Double = 0,
        inventoryLimit: Double, volatility: Double? = nil, volatilityEstimate: VolatilityChoice = .ewma
    ) {
        self.model = model
        self.orderSize = orderSize
        self.minimumSpread = minimumSpread
        self.maximumSpread = maximumSpread
        self.priceCeiling = priceCeiling
        self.priceFloor = priceFloor
        self.inventoryTarget = inventoryTarget
        self.inventoryLimit = inventoryLimit
        self.volatility = volatility
        self.volatilityEstimate = volatilityEstimate
    }

    /// Every value in range, naming the first that is not.
    public func validated(field: String = "parameters") throws -> QuotingParameters {
        func require(_ condition: Bool, _ name: String, _ message: String) throws {
            guard condition else { throw ServiceError(.invalidInput, "field '\(field).\(name)': \(message)") }
        }
        try require(orderSize > 0 && orderSize.isFinite, "orderSize", "above 0")
        try require(minimumSpread >= 0 && minimumSpread.isFinite, "minimumSpread", "0 or more (not negative)")
        if let maximumSpread {
            try require(
                maximumSpread > 0 && maximumSpread >= minimumSpread, "maximumSpread",
                "above 0 and not below minimumSpread (\(minimumSpread))")
        }
        if let priceCeiling { try require(priceCeiling > 0, "priceCeiling", "above 0") }
        if let priceFloor { try require(priceFloor > 0, "priceFloor", "above 0") }
        if let priceCeiling, let priceFloor {
            try require(priceFloor < priceCeiling, "priceFloor", "below priceCeiling (\(priceCeiling))")
        }
        try require(inventoryLimit > 0 && inventoryLimit.isFinite, "inventoryLimit", "above 0")
        try require(
            inventoryTarget.isFinite && abs(inventoryTarget) < inventoryLimit, "inventoryTarget",
            "within ±inventoryLimit")
        if let volatility { try require(volatility >= 0 && volatility.isFinite, "volatility", "0 or more") }
        switch model {
        case .avellanedaStoikov(let model):
            try require(model.gamma > 0 && model.gamma.isFinite, "gamma", "above 0")
            if let kappa = model.kappa { try require(kappa > 0 && kappa.isFinite, "kappa", "above 0") }
            try require(
                model.horizonSeconds > 0 && model.horizonSeconds <= 31_536_000, "horizonSeconds",
                "above 0, at most a year")
            try require(model.eta >= 0 && model.eta.isFinite, "eta", "0 or more")
        case .ladder(let ladder):
            try require((1...20).contains(ladder.levels), "levels", "1 to 20")
            try require(ladder.spread >= 0 && ladder.spread.isFinite, "spread", "0 or more (not negative)")
            try require(ladder.levelSpacing >= 0 && ladder.levelSpacing.isFinite, "levelSpacing", "0 or more")
            try require(ladder.sizeIncrement >= 0 && ladder.sizeIncrement.isFinite, "sizeIncrement", "0 or more")
            try require((0...1).contains(ladder.inventorySkew), "inventorySkew", "0 to 1")
            if ladder.spreadMode == .volatility {
                try require(
                    ladder.volatilityMultiple > 0, "volatilityMultiple", "above 0 for volatility-scaled spreads")
                try require(ladder.horizonSeconds > 0, "horizonSeconds", "above 0 for volatility-scaled spreads")
            }
        }
        return self
    }
}
