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

    /// The exact share by product, before the minimum and cap.
    public var byProduct: [RevenueProduct: ExactDecimal]
    public var tierParts: [TierPart]
    /// The exact share after the minimum guarantee and cap.
    public var exactShare: ExactDecimal
    /// Rounded to the currency's precision (half-even); `exactShare - share` is the rounding
    /// remainder, booked so statements tie to the ledger.
    public var share: Money
    public var roundingRemainder: ExactDecimal
    public var adjustedBy: String?
}

extension RevenuePlan {
    /// The partner's share of a period's revenue by product (and, for volume tiers, its volume).
    public func share(of revenue: [RevenueProduct: ExactDecimal], volume: ExactDecimal = .zero) -> ShareCalculation {
        let hundred = ExactDecimal(100)
        func part(_ amount: ExactDecimal, _ percent: ExactDecimal) -> ExactDecimal {
            // Percentages have at most 4 decimals, so dividing by 100 at 12 decimals is exact.
            (amount * percent).divided(by: hundred, scale: 12) ?? .zero
        }
        var byProduct: [RevenueProduct: ExactDecimal] = [:]
        var tierParts: [ShareCalculation.TierPart] = []
        let total = revenue.values.reduce(ExactDecimal.zero, +)
        switch model {
        case .flat:
            for (product, amount) in revenue { byProduct[product] = part(amount, percent ?? .zero) }
        case .perProduct:
            for (product, amount) in revenue { byProduct[product] = part(amount, productPercents?[product] ?? .zero) }
        case .tiered:
            // The base is cut into the tiers' bands; each band earns its own percentage. With a
            // volume basis, the bands are of volume and the resulting average rate applies to
            // revenue.
            let base = tierBasis == .volume ? volume : total
            var earned = ExactDecimal.zero
            for (index, tier) in (tiers ?? []).enumerated() where base > tier.from {
                let top = tier.upTo.map { min($0, base) } ?? base
                let band = top - tier.from
                let share = part(band, tier.percent)
                tierParts.append(.init(tier: index, base: band, share: share))
                earned += share
            }
            if tierBasis == .volume {
                // Average rate over the volume, applied to each product's revenue.
                let rate = base.isZero ? .zero : (earned.divided(by: base, scale: 12) ?? .zero)
                for (product, amount) in revenue { byProduct[product] = amount * rate }
            } else {
                for (product, amount) in revenue {
                    byProduct[product] = total.isZero ? .zero : (earned * amount).divided(by: total, scale: 12) ?? .zero
                }
            }
        }
        var exact = byProduct.values.reduce(ExactDecimal.zero, +)
        var adjustedBy: String?
        if let minimum = minimumGuarantee, exact < minimum {
            exact = minimum
            adjustedBy = "minimum_guarantee"
        }
        if let cap, exact > cap {
            exact = cap
            adjustedBy = "cap"
        }
        let rounded = exact.rounded(toScale: currency.precision, rule: .halfEven)
        return ShareCalculation(
            byProduct: byProduct, tierParts: tierParts, exactShare: exact, share: Money(rounded, currency),
            roundingRemainder: exact - rounded, adjustedBy: adjustedBy)
    }
}
