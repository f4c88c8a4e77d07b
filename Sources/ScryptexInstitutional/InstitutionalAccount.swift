public import Foundation
public import ScryptexCore

/// The kinds of institution an account can be.
public enum AccountType: String, Sendable, CaseIterable, Codable {
    case hedgeFund = "hedge_fund"
    case familyOffice = "family_office"
    case assetManager = "asset_manager"
    case pensionFund = "pension_fund"
    case reseller
    case endowment
    case insurer
    case bank
    case brokerDealer = "broker_dealer"
    case proprietaryTrading = "proprietary_trading"
    case corporate

    public static var accepted: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Know-your-customer review state: `pending → in_review → approved | rejected`,
/// `approved → suspended`, and back to `in_review` from `rejected` (resubmission) or
/// `suspended` (re-review).
public enum KYCStatus: String, Sendable, CaseIterable, Codable {
    case pending
    case inReview = "in_review"
    case approved
    case rejected
    case suspended

    public var allowedNext: [KYCStatus] {
        switch self {
        case .pending: [.inReview]
        case .inReview: [.approved, .rejected]
        case .approved: [.suspended]
        case .rejected: [.inReview]
        case .suspended: [.inReview]
        }
    }
}

/// Trading limits and risk controls of an account. A nil value means "no limit of its own"
/// (the parent's still applies).
public struct TradingLimits: Sendable, Codable, Equatable {
    public var maxOrderNotional: ExactDecimal?
    public var dailyNotional: ExactDecimal?
    /// Largest absolute position per symbol, in units of the base asset.
    public var positionLimits: [String: ExactDecimal]?
    public var allowedInstruments: [String]?
    public var allowedVenues: [String]?

    public init(
        maxOrderNotional: ExactDecimal? = nil, dailyNotional: ExactDecimal? = nil,
        positionLimits: [String: ExactDecimal]? = nil, allowedInstruments: [String]? = nil,
        allowedVenues: [String]? = nil
    ) {
        self.maxOrderNotional = maxOrderNotional
        self.dailyNotional = dailyNotional
        self.positionLimits = positionLimits
        self.allowedInstruments = allowedInstruments
        self.allowedVenues = allowedVenues
    }

    /// Problems with the limits on their own: negative amounts, bad symbols.
    public func problems() -> [String] {
        var problems: [String] = []
        for (field, value) in [("maxOrderNotional", maxOrderNotional), ("dailyNotional", dailyNotional)] {
            if let value, value.isNegative || value.isZero {
                problems.append("field '\(field)': must be greater than 0")
            }
        }
        for (symbol, limit) in positionLimits ?? [:] {
            if !Instrument.isValidSymbol(symbol) {
                problems.append("field 'positionLimits.\(symbol)': \(Instrument.symbolRule)")
            } else if limit.isNegative {
                problems.append("field 'positionLimits.\(symbol)': must not be negative")
            }
        }
        for symbol in allowedInstruments ?? [] where !Instrument.isValidSymbol(symbol) {
            problems.append("field 'allowedInstruments': '\(symbol)': \(Instrument.symbolRule)")
        }
        return problems
    }

    /// Where these limits exceed `parent`'s; a child can only be as strict or stricter.
    public func excesses(over parent: TradingLimits) -> [String] {
        var excesses: [String] = []
        func compare(_ field: String, _ mine: ExactDecimal?, _ theirs: ExactDecimal?) {
            guard let theirs else { return }
            guard let mine else {
                excesses.append("field '\(field)': the parent account limits it to \(theirs); set at most that")
                return
            }
            if mine > theirs { excesses.append("field '\(field)': \(mine) exceeds the parent account's \(theirs)") }
        }
        compare("maxOrderNotional", maxOrderNotional, parent.maxOrderNotional)
        compare("dailyNotional", dailyNotional, parent.dailyNotional)
        for (symbol, limit) in parent.positionLimits ?? [:] {
            compare("positionLimits.\(symbol)", positionLimits?[symbol], limit)
        }
        for (field, mine, theirs) in [
            ("allowedInstruments", allowedInstruments, parent.allowedInstruments),
            ("allowedVenues", allowedVenues, parent.allowedVenues),
        ] {
            guard let theirs else { continue }
            let extra = Set(mine ?? []).subtracting(theirs)
            if mine == nil {
                excesses.append(
                    "field '\(field)': the parent account allows only \(theirs.sorted().joined(separator: ", "))")
            } else if !extra.isEmpty {
                excesses.append(
                    "field '\(field)': \(extra.sorted().joined(separator: ", ")) not allowed by the parent account")
            }
        }
        return excesses
    }
}

/// Trading symbols as `BASE/QUOTE`, such as `ETH/USDC`.
public enum Instrument {
    public static let symbolRule = "a symbol is BASE/QUOTE in capitals, such as ETH/USDC"

    public static func isValidSymbol(_ symbol: String) -> Bool {
        let parts = symbol.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2
            && parts.allSatisfy { part in
                (2...12).contains(part.utf8.count)
                    && part.utf8.allSatisfy {
                        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    }
            }
    }
}

/// An institutional account as the API shows it.
public struct InstitutionalAccount: Sendable, Codable, Equatable {
    public var id: UUID
    public var parentId: UUID?
    public var accountName: String
    public var accountType: AccountType
    public var legalName: String
    public var jurisdiction: String
    public var totalAUM: ExactDecimal
    public var regulatoryIdentifiers: [String: String]
    public var kycStatus: KYCStatus
    /// The next periodic KYC review, as a calendar date (`2027-11-25`).
    public var kycReviewDue: String?
    public var killSwitchEngaged: Bool
    public var limits: TradingLimits
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, parentId: UUID?, accountName: String, accountType: AccountType, legalName: String,
        jurisdiction: String, totalAUM: ExactDecimal, regulatoryIdentifiers: [String: String], kycStatus: KYCStatus,
        kycReviewDue: String?, killSwitchEngaged: Bool, limits: TradingLimits, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.parentId = parentId
        self.accountName = accountName
        self.accountType = accountType
        self.legalName = legalName
        self.jurisdiction = jurisdiction
        self.totalAUM = totalAUM
        self.regulatoryIdentifiers = regulatoryIdentifiers
        self.kycStatus = kycStatus
        self.kycReviewDue = kycReviewDue
        self.killSwitchEngaged = killSwitchEngaged
        self.limits = limits
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a client sends to create an account.
public struct AccountDraft: Sendable, Decodable {
    public var accountName: String
    public var accountType: String
    public var legalName: String
    public var jurisdiction: String?
    public var totalAUM: ExactDecimal?
    public var regulatoryIdentifiers: [String: String]?
    public var parentId: UUID?

    public init(
        accountName: String, accountType: String, legalName: String, jurisdiction: String?, totalAUM: ExactDecimal?,
        regulatoryIdentifiers: [String: String]? = nil, parentId: UUID? = nil
    ) {
        self.accountName = accountName
        self.accountType = accountType
        self.legalName = legalName
        self.jurisdiction = jurisdiction
        self.totalAUM = totalAUM
        self.regulatoryIdentifiers = regulatoryIdentifiers
        self.parentId = parentId
    }
}

/// Changes to an account; absent fields stay as they are.
public struct AccountChanges: Sendable, Decodable {
    public var accountName: String?
    public var legalName: String?
    public var jurisdiction: String?
    public var totalAUM: ExactDecimal?
    public var regulatoryIdentifiers: [String: String]?
}
