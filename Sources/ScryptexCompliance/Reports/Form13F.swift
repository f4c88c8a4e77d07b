public import Foundation
public import ScryptexCore

/// What a report covers: a calendar quarter such as `2026-Q3` (Form 13F, Form PF) or a UTC day
/// such as `2026-05-04` (transaction and trade reports, large-trader positions: due T+1).
public struct ReportPeriod: Sendable, Equatable, CustomStringConvertible {
    public enum Length: Sendable, Equatable {
        case quarter, day
    }

    public let length: Length
    /// The period's first instant.
    public let start: Date
    /// The first instant after the period (its end, exclusive).
    public let end: Date
    public let description: String

    /// - Throws: `ServiceError` naming the field when malformed or not yet ended at `now`.
    public init(parsing text: String, now: Date = Date()) throws {
        if let day = Self.dayFormatter.date(from: text), text.count == 10 {
            length = .day
            start = day
            end = Self.utc.date(byAdding: .day, value: 1, to: day)!
        } else {
            let parts = text.split(separator: "-")
            guard parts.count == 2, let year = Int(parts[0]), (2000...2100).contains(year), parts[1].count == 2,
                parts[1].first == "Q", let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter)
            else {
                throw ServiceError(
                    .invalidInput,
                    "field 'period': a calendar quarter such as 2026-Q3 or a day such as 2026-05-04, not '\(text)'")
            }
            var components = DateComponents()
            components.year = quarter == 4 ? year + 1 : year
            components.month = quarter == 4 ? 1 : quarter * 3 + 1
            components.day = 1
            length = .quarter
            end = Self.utc.date(from: components)!
            start = Self.utc.date(byAdding: .month, value: -3, to: end)!
        }
        description = text
        guard end <= now else {
            throw ServiceError(
                .invalidInput, "field 'period': \(text) has not ended yet; report a period that is over")
        }
    }

    static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    static var dayFormatter: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter
    }

    /// The period's last calendar day, `2026-09-30`.
    public var lastDay: String { Self.dayFormatter.string(from: end.addingTimeInterval(-86_400)) }

    /// The first day after the period, `2026-10-01`.
    public var nextDay: String { Self.dayFormatter.string(from: end) }

    /// The first working day (Monday to Friday) after the period: when a T+1 report is due.
    public var nextWorkingDay: String {
        var day = end
        while Self.utc.isDateInWeekend(day) { day = Self.utc.date(byAdding: .day, value: 1, to: day)! }
        return Self.dayFormatter.string(from: day)
    }

    /// `days` calendar days after the period's last day (Form 13F: 45, Form PF: 60).
    public func due(daysAfterEnd days: Int) -> String {
        Self.dayFormatter.string(from: Self.utc.date(byAdding: .day, value: days - 1, to: end)!)
    }

    /// Form 13F is due 45 days after the end of the quarter.
    public var form13FDueDate: String { due(daysAfterEnd: 45) }
}

/// How a manager holds an account's 13(f) securities (information table columns 6 and 8).
public struct Form13FProfile: Sendable, Codable, Equatable, Hashable {
    public enum Discretion: String, Sendable, Codable, CaseIterable {
        /// Sole investment discretion.
        case sole = "SOLE"
        /// Shared-defined (with a controlling or controlled manager).
        case sharedDefined = "DFND"
        /// Shared-other.
        case sharedOther = "OTR"
    }

    public enum VotingAuthority: String, Sendable, Codable, CaseIterable { case sole, shared, none }

    public var investmentDiscretion: Discretion
    public var votingAuthority: VotingAuthority

    public init(investmentDiscretion: Discretion, votingAuthority: VotingAuthority) {
        self.investmentDiscretion = investmentDiscretion
        self.votingAuthority = votingAuthority
    }
}

/// One line of a Form 13F information table.
public struct Form13FHolding: Sendable, Codable, Equatable {
    public enum PutCall: String, Sendable, Codable { case put = "Put", call = "Call" }

    public var nameOfIssuer: String
    public var titleOfClass: String
    public var cusip: String
    /// Market value in whole US dollars (the 2023+ rule), rounded half-even; for options, the
    /// value of the underlying shares.
    public var value: Int64
    /// Shares (for options: of the underlying).
    public var shares: Int64
    public var putCall: PutCall?
    public var investmentDiscretion: Form13FProfile.Discretion
    /// Shares over which the manager has sole, shared and no voting authority.
    public var votingSole: Int64
    public var votingShared: Int64
    public var votingNone: Int64

    public init(
        nameOfIssuer: String, titleOfClass: String, cusip: String, value: Int64, shares: Int64,
        putCall: PutCall? = nil, investmentDiscretion: Form13FProfile.Discretion = .sole, votingSole: Int64? = nil,
        votingShared: Int64 = 0, votingNone: Int64 = 0
    ) {
        self.nameOfIssuer = nameOfIssuer
        self.titleOfClass = titleOfClass
        self.cusip = cusip
        self.value = value
        self.shares = shares
        self.putCall = putCall
        self.investmentDiscretion = investmentDiscretion
        self.votingSole = votingSole ?? shares
        self.votingShared = votingShared
        self.votingNone = votingNone
    }
}

/// The Form 13F information table as EDGAR XML (`eis_13FDocument.xsd`, 2023 and later).
public enum Form13F {
    /// The filing threshold: $100 million in 13(f) securities.
    public static let filingThreshold = ExactDecimal(100_000_000)

    public static func informationTable(_ holdings: [Form13FHolding]) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <informationTable xmlns="http://www.sec.gov/edgar/document/thirteenf/informationtable">

            """
        for holding in holdings {
            xml += """
                  <infoTable>
                    <nameOfIssuer>\(escape(holding.nameOfIssuer))</nameOfIssuer>
                    <titleOfClass>\(escape(holding.titleOfClass))</titleOfClass>
                    <cusip>\(escape(holding.cusip))</cusip>
                    <value>\(holding.value)</value>
                    <shrsOrPrnAmt><sshPrnamt>\(holding.shares)</sshPrnamt><sshPrnamtType>SH</sshPrnamtType></shrsOrPrnAmt>
                    \(holding.putCall.map { "<putCall>\($0.rawValue)</putCall>" } ?? "")<investmentDiscretion>\(holding.investmentDiscretion.rawValue)</investmentDiscretion>
                    <votingAuthority><Sole>\(holding.votingSole)</Sole><Shared>\(holding.votingShared)</Shared><None>\(holding.votingNone)</None></votingAuthority>
                  </infoTable>

                """
        }
        return xml + "</informationTable>\n"
    }

    static func escape(_ text: String) -> String { Markup.escape(text) }
}
