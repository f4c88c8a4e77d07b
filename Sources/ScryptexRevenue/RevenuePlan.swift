import Foundation
public import ScryptexCore

/// The products whose revenue a partner shares.
public enum RevenueProduct: String, Sendable, Codable, CaseIterable {
    case tradingFees = "trading_fees"
    case subscriptions
    case marketMaking = "market_making"
    case data
}

/// One band of a tiered plan: the share applies to the part of the base between `from` and
/// `upTo` (marginal, like tax brackets).
public struct RevenueTier: Sendable, Codable, Equatable {
    public var from: ExactDecimal
    /// Nil for the last, open-ended tier.
    public var upTo: ExactDecimal?
    public var percent: ExactDecimal

    public init(from: ExactDecimal, upTo: ExactDecimal?, percent: ExactDecimal) {
        self.from = from
        self.upTo = upTo
        self.percent = percent
    }
}

/// A partner's revenue-share plan, effective from a date. Plans are versioned: a new version
/// applies from its date and never changes a closed period.
public struct RevenuePlan: Sendable, Codable, Equatable {
    public enum Model: String, Sendable, Codable {
        /// One percentage of all revenue.
        case flat
        /// Marginal tiers over the period's revenue (or trading volume, per `tierBasis`).
        case tiered
        /// A percentage per product.
        case perProduct = "per_product"
    }

    public enum TierBasis: String, Sendable, Codable { case revenue, volume }

    public var model: Model
    public var currency: Currency
    public var percent: ExactDecimal?
    public var tiers: [RevenueTier]?
    public var tierBasis: TierBasis?
    public var productPercents: [RevenueProduct: ExactDecimal]?
    /// The least the partner earns in a period, and the most.
    public var minimumGuarantee: ExactDecimal?
    public var cap: ExactDecimal?

    public init(
        model: Model, currency: Currency, percent: ExactDecimal? = nil, tiers: [RevenueTier]? = nil,
        tierBasis: TierBasis? = nil, productPercents: [RevenueProduct: ExactDecimal]? = nil,
        minimumGuarantee: ExactDecimal? = nil, cap: ExactDecimal? = nil
    ) {
        self.model = model
        self.currency = currency
        self.percent = percent
        self.tiers = tiers
        self.tierBasis = tierBasis
        self.productPercents = productPercents
        self.minimumGuarantee = minimumGuarantee
        self.cap = cap
    }

    /// Checks the plan; throws naming the field and the rule.
    public func validate() throws(ServiceError) {
        func percentage(_ value: ExactDecimal, _ field: String) throws(ServiceError) {
            guard value >= .zero, value <= ExactDecimal(100), value.significantScale <= 4 else {
                throw ServiceError(
                    .invalidInput, "field '\(field)': a percentage from 0 to 100 with at most 4 decimals")
            }
        }
        switch model {
        case .flat:
            guard let percent else { throw ServiceError(.invalidInput, "field 'percent': a flat plan needs it") }
            try percentage(percent, "percent")
        case .tiered:
            guard let tiers, !tiers.isEmpty else {
                throw ServiceError(.invalidInput, "field 'tiers': a tiered plan needs at least one tier")
            }
            guard tiers[0].from == .zero else {
                throw ServiceError(.invalidInput, "field 'tiers[0].from': the first tier starts at 0")
            }
            for (index, tier) in tiers.enumerated() {
                try percentage(tier.percent, "tiers[\(index)].percent")
                if let upTo = tier.upTo, upTo <= tier.from {
                    throw ServiceError(.invalidInput, "field 'tiers[\(index)].upTo': must be above 'from'")
                }
                if index + 1 < tiers.count {
                    guard let upTo = tier.upTo else {
                        throw ServiceError(
                            .invalidInput, "field 'tiers[\(index)].upTo': only the last tier may be open-ended")
                    }
                    let next = tiers[index + 1].from
                    if next > upTo {
                        throw ServiceError(
                            .invalidInput, "field 'tiers[\(index + 1)].from': a gap between \(upTo) and \(next)")
                    }
                    if next < upTo {
                        throw ServiceError(
                            .invalidInput,
                            "field 'tiers[\(index + 1)].from': overlaps the tier before (\(next) < \(upTo))")
                    }
                } else if tier.upTo != nil {
                    throw ServiceError(.invalidInput, "field 'tiers[\(index)].upTo': the last tier must be open-ended")
                }
            }
        case .perProduct:
            guard let productPercents, !productPercents.isEmpty else {
                throw ServiceError(.invalidInput, "field 'productPercents': a per-product plan needs rates")
            }
            for (product, value) in productPercents { try percentage(value, "productPercents.\(product.rawValue)") }
        }
        for (field, value) in [("minimumGuarantee", minimumGuarantee), ("cap", cap)] {
            if let value, value.isNegative {
                throw ServiceError(.invalidInput, "field '\(field)': must not be negative")
            }
        }
        if let minimum = minimumGuarantee, let cap, cap < minimum {
            throw ServiceError(.invalidInput, "field 'cap': below the minimum guarantee")
        }
    }
}

/// What a period's share came to, before and after rounding.
public struct ShareCalculation: Sendable, Equatable {
    public struct TierPart: Sendable, Equatable {
        public var tier: Int
        public var base: ExactDecimal
        public var share: ExactDecimal
    }

    /// Each product's part of the share, for the statement (a volume-tiered or revenue-tiered
    /// share is allocated in proportion to revenue, to 18 decimals); the share itself is never
    /// summed from these.
    public var byProduct: [RevenueProduct: ExactDecimal]
    public var tierParts: [TierPart]
    /// The share after the minimum guarantee and cap, exact — or, where its decimals do not end
    /// (a volume-tiered share is a fraction), to the ledger's 18 decimals.
    public var exactShare: ExactDecimal
    /// The exact share rounded once, half-even, to the currency's precision; `exactShare −
    /// share` is the rounding remainder, booked so statements tie to the ledger.
    public var share: Money
    public var roundingRemainder: ExactDecimal
    public var adjustedBy: String?
}

extension RevenuePlan {
    /// The ledger keeps amounts to 18 decimals.
    static let ledgerScale = 18

    /// The partner's share of a period's revenue by product (and, for volume tiers, its volume),
    /// computed exactly and rounded once: percentages scale amounts exactly, tier earnings add
    /// exactly, and a volume-tiered share (earnings × revenue ÷ volume, a fraction) is rounded
    /// from the fraction itself, never from a rounded rate.
    /// - Throws: `ServiceError` naming the figure when one does not fit 38 digits.
    public func share(
        of revenue: [RevenueProduct: ExactDecimal], volume: ExactDecimal = .zero
    ) throws(ServiceError) -> ShareCalculation {
        let onePercent = ExactDecimal(significand: 1, scale: 2)
        func part(
            _ amount: ExactDecimal, _ percent: ExactDecimal, _ figure: String
        ) throws(ServiceError)
            -> ExactDecimal
        {
            try amount.multiplied(by: percent, figure: figure).multiplied(by: onePercent, figure: figure).normalized
        }
        var total = ExactDecimal.zero
        for amount in revenue.values { total = try total.adding(amount, figure: "the period's revenue") }
        var byProduct: [RevenueProduct: ExactDecimal] = [:]
        var tierParts: [ShareCalculation.TierPart] = []
        // The share as numerator ÷ denominator (the denominator is 1 except for volume tiers).
        var numerator = ExactDecimal.zero
        var denominator = ExactDecimal(1)
        switch model {
        case .flat, .perProduct:
            for (product, amount) in revenue {
                let rate = model == .flat ? percent ?? .zero : productPercents?[product] ?? .zero
                let share = try part(amount, rate, "the share of \(product.rawValue)")
                byProduct[product] = share
                numerator = try numerator.adding(share, figure: "the share")
            }
        case .tiered:
            // The base is cut into the tiers' bands; each band earns its own percentage. With a
            // volume basis, the bands are of volume and the earnings per unit of volume apply to
            // revenue: earnings × revenue ÷ volume, kept as that fraction.
            let base = tierBasis == .volume ? volume : total
            var earned = ExactDecimal.zero
            for (index, tier) in (tiers ?? []).enumerated() where base > tier.from {
                let top = tier.upTo.map { min($0, base) } ?? base
                let band = try top.subtracting(tier.from, figure: "tier \(index)'s band")
                let share = try part(band, tier.percent, "tier \(index)'s share")
                tierParts.append(.init(tier: index, base: band, share: share))
                earned = try earned.adding(share, figure: "the tiers' earnings")
            }
            if tierBasis == .volume {
                numerator = try earned.multiplied(by: total, figure: "the tiers' earnings × revenue")
                denominator = volume
                if volume.isZero { numerator = .zero; denominator = ExactDecimal(1) }
            } else {
                numerator = earned
            }
            for (product, amount) in revenue {
                byProduct[product] =
                    total.isZero
                    ? .zero
                    : try Self.fraction(
                        numerator, times: amount, over: try denominator.multiplied(by: total, figure: "the share"),
                        scale: Self.ledgerScale, rule: .halfEven, figure: "the share of \(product.rawValue)")
            }
        }
        // The minimum guarantee and the cap compare with the exact fraction.
        var adjustedBy: String?
        if let minimum = minimumGuarantee,
            numerator < (try minimum.multiplied(by: denominator, figure: "the minimum guarantee"))
        {
            (numerator, denominator, adjustedBy) = (minimum, ExactDecimal(1), "minimum_guarantee")
        }
        if let cap, numerator > (try cap.multiplied(by: denominator, figure: "the cap")) {
            (numerator, denominator, adjustedBy) = (cap, ExactDecimal(1), "cap")
        }
        let rounded = try Self.fraction(
            numerator, times: ExactDecimal(1), over: denominator, scale: currency.precision, rule: .halfEven,
            figure: "the share")
        let exact = try Self.fraction(
            numerator, times: ExactDecimal(1), over: denominator, scale: Self.ledgerScale, rule: .halfEven,
            figure: "the share"
        ).normalized
        return ShareCalculation(
            byProduct: byProduct, tierParts: tierParts, exactShare: exact, share: Money(rounded, currency),
            roundingRemainder: try exact.subtracting(rounded, figure: "the rounding remainder"), adjustedBy: adjustedBy)
    }

    static func fraction(
        _ value: ExactDecimal, times multiplier: ExactDecimal, over divisor: ExactDecimal, scale: Int,
        rule: ExactDecimal.RoundingRule, figure: String
    ) throws(ServiceError) -> ExactDecimal {
        guard let result = value.multiplied(by: multiplier, dividedBy: divisor, scale: scale, rule: rule) else {
            throw ServiceError(.invalidInput, "\(figure) is beyond what an exact decimal holds (38 digits)")
        }
        return result
    }
}
