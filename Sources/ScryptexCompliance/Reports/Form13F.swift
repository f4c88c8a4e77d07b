public import Foundation
public import ScryptexCore

/// A calendar quarter such as `2026-Q3`.
public struct ReportPeriod: Sendable, Equatable, CustomStringConvertible {
    public var year: Int
    public var quarter: Int

    /// - Throws: `ServiceError` naming the field when malformed or not yet ended at `now`.
    public init(parsing text: String, now: Date = Date()) throws {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), (2000...2100).contains(year), parts[1].count == 2,
            parts[1].first == "Q", let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter)
        else {
            throw ServiceError(.invalidInput, "field 'period': a calendar quarter such as 2026-Q3, not '\(text)'")
        }
        self.year = year
        self.quarter = quarter
        guard end <= now else {
            throw ServiceError(
                .invalidInput, "field 'period': \(text) has not ended yet; report a quarter that is over")
        }
    }

    public var description: String { "\(year)-Q\(quarter)" }

    static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    /// The quarter's first instant.
    public var start: Date { Self.utc.date(byAdding: .month, value: -3, to: end)! }

    /// The first instant after the quarter (its end, exclusive).
    public var end: Date {
        var components = DateComponents()
        components.year = quarter == 4 ? year + 1 : year
        components.month = quarter == 4 ? 1 : quarter * 3 + 1
        components.day = 1
        return Self.utc.date(from: components)!
    }

    /// The quarter's last calendar day, `2026-09-30`.
    public var lastDay: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: end.addingTimeInterval(-86_400))
    }

    /// The first day after the quarter, `2026-10-01` (MiFIR transaction reports are due by the
    /// next working day after the last transaction).
    public var nextDay: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: end)
    }

    /// Form 13F is due 45 days after the end of the quarter.
    public var form13FDueDate: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(
            from: Self.utc.date(byAdding: .day, value: 44, to: end.addingTimeInterval(-86_400))!
                .addingTimeInterval(86_400))
    }
}

/// One line of a Form 13F information table.
public struct Form13FHolding: Sendable, Codable, Equatable {
    public var nameOfIssuer: String
    public var titleOfClass: String
    public var cusip: String
    /// Market value in whole US dollars (the 2023+ rule), rounded half-even.
    public var value: Int64
    public var shares: Int64

    public init(nameOfIssuer: String, titleOfClass: String, cusip: String, value: Int64, shares: Int64) {
        self.nameOfIssuer = nameOfIssuer
        self.titleOfClass = titleOfClass
        self.cusip = cusip
        self.value = value
        self.shares = shares
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
                    <investmentDiscretion>SOLE</investmentDiscretion>
                    <votingAuthority><Sole>\(holding.shares)</Sole><Shared>0</Shared><None>0</None></votingAuthority>
                  </infoTable>

                """
        }
        return xml + "</informationTable>\n"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
