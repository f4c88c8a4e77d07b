public import Foundation
import ScryptexCore

/// Who files a Form 13F and signs it: the cover page's filing manager and the signature block
/// (EDGAR Form 13F XML Technical Specification v1.7, section 3.4). Kept per manager (CIK).
public struct Form13FManager: Sendable, Codable, Equatable {
    public struct Address: Sendable, Codable, Equatable {
        public var street1: String
        public var street2: String?
        public var city: String
        /// A US state (`NY`) or EDGAR's country code (`X0` for the United Kingdom).
        public var stateOrCountry: String
        public var zipCode: String

        public init(street1: String, street2: String? = nil, city: String, stateOrCountry: String, zipCode: String) {
            self.street1 = street1
            self.street2 = street2
            self.city = city
            self.stateOrCountry = stateOrCountry
            self.zipCode = zipCode
        }
    }

    public struct Signatory: Sendable, Codable, Equatable {
        public var name: String
        public var title: String
        public var phone: String
        public var city: String
        public var stateOrCountry: String

        public init(name: String, title: String, phone: String, city: String, stateOrCountry: String) {
            self.name = name
            self.title = title
            self.phone = phone
            self.city = city
            self.stateOrCountry = stateOrCountry
        }
    }

    public var name: String
    public var address: Address
    /// `028-` and digits, once the SEC has assigned one.
    public var form13FFileNumber: String?
    public var signatory: Signatory

    public init(name: String, address: Address, form13FFileNumber: String? = nil, signatory: Signatory) {
        self.name = name
        self.address = address
        self.form13FFileNumber = form13FFileNumber
        self.signatory = signatory
    }

    /// - Throws: `ServiceError` naming the first field that breaks the specification's limits.
    public func validate() throws {
        func text(_ value: String?, _ field: String, max: Int, required: Bool = true) throws {
            guard let value else {
                if required { throw ServiceError(.invalidInput, "field '\(field)' is required") }
                return
            }
            guard (1...max).contains(value.count), value.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
                throw ServiceError(.invalidInput, "field '\(field)': 1 to \(max) characters on one line")
            }
        }
        try text(name, "name", max: 150)
        try text(address.street1, "address.street1", max: 40)
        try text(address.street2, "address.street2", max: 40, required: false)
        try text(address.city, "address.city", max: 30)
        try text(address.zipCode, "address.zipCode", max: 10)
        try text(signatory.name, "signatory.name", max: 150)
        try text(signatory.title, "signatory.title", max: 60)
        try text(signatory.phone, "signatory.phone", max: 20)
        try text(signatory.city, "signatory.city", max: 30)
        for (field, code) in [
            ("address.stateOrCountry", address.stateOrCountry), ("signatory.stateOrCountry", signatory.stateOrCountry),
        ] {
            guard Self.isStateOrCountryCode(code) else {
                throw ServiceError(
                    .invalidInput,
                    "field '\(field)': a US state such as NY or EDGAR's country code such as X0, not '\(code)'")
            }
        }
        if let number = form13FFileNumber {
            let digits = number.dropFirst(4)
            guard number.hasPrefix("028-"), (1...13).contains(digits.count), digits.allSatisfy(\.isASCII),
                digits.allSatisfy(\.isNumber)
            else {
                throw ServiceError(.invalidInput, "field 'form13FFileNumber': 028- and digits, not '\(number)'")
            }
        }
    }

    /// EDGAR's state and country codes: two characters, a capital letter then a capital or a
    /// digit (`NY`, `DC`, `X0`, `L2`).
    static func isStateOrCountryCode(_ code: String) -> Bool {
        let characters = Array(code)
        return characters.count == 2 && characters[0].isASCII && characters[0].isUppercase
            && characters[1].isASCII && (characters[1].isUppercase || characters[1].isNumber)
    }
}

extension Form13F {
    /// EDGAR's dates: `06-30-2026`.
    static func edgarDate(_ instant: Date) -> String {
        let day = ReportPeriod.dayFormatter.string(from: instant)
        let parts = day.split(separator: "-")
        return "\(parts[1])-\(parts[2])-\(parts[0])"
    }

    /// The primary document (`edgarSubmission`, 13F-HR): header, cover page, signature block and
    /// summary page. The filer's CCC, a credential, is not in it: `withCredentials` adds it when
    /// the document is fetched for submission.
    public static func primaryDocument(
        manager: Form13FManager, cik: String, period: ReportPeriod, holdings: [Form13FHolding], totalValue: Int64,
        signedOn: Date
    ) -> String {
        let quarterEnd = edgarDate(period.end.addingTimeInterval(-86_400))
        let address = manager.address
        let signatory = manager.signatory
        let street2 = address.street2.map { "<com:street2>\(escape($0))</com:street2>" } ?? ""
        let fileNumber = manager.form13FFileNumber.map { "<form13FFileNumber>\($0)</form13FFileNumber>" } ?? ""
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <edgarSubmission xmlns="http://www.sec.gov/edgar/thirteenffiler" xmlns:com="http://www.sec.gov/edgar/common">
              <headerData>
                <submissionType>13F-HR</submissionType>
                <filerInfo>
                  <liveTestFlag>LIVE</liveTestFlag>
                  <filer>
                    <credentials>
                      <cik>\(cik)</cik>
                    </credentials>
                  </filer>
                  <periodOfReport>\(quarterEnd)</periodOfReport>
                </filerInfo>
              </headerData>
              <formData>
                <coverPage>
                  <reportCalendarOrQuarter>\(quarterEnd)</reportCalendarOrQuarter>
                  <filingManager>
                    <name>\(escape(manager.name))</name>
                    <address>
                      <com:street1>\(escape(address.street1))</com:street1>\(street2)
                      <com:city>\(escape(address.city))</com:city>
                      <com:stateOrCountry>\(address.stateOrCountry)</com:stateOrCountry>
                      <com:zipCode>\(escape(address.zipCode))</com:zipCode>
                    </address>
                  </filingManager>
                  <reportType>13F HOLDINGS REPORT</reportType>
                  \(fileNumber)
                  <provideInfoForInstruction5>N</provideInfoForInstruction5>
                </coverPage>
                <signatureBlock>
                  <name>\(escape(signatory.name))</name>
                  <title>\(escape(signatory.title))</title>
                  <phone>\(escape(signatory.phone))</phone>
                  <signature>/s/ \(escape(signatory.name))</signature>
                  <city>\(escape(signatory.city))</city>
                  <stateOrCountry>\(signatory.stateOrCountry)</stateOrCountry>
                  <signatureDate>\(edgarDate(signedOn))</signatureDate>
                </signatureBlock>
                <summaryPage>
                  <otherIncludedManagersCount>0</otherIncludedManagersCount>
                  <tableEntryTotal>\(holdings.count)</tableEntryTotal>
                  <tableValueTotal>\(totalValue)</tableValueTotal>
                  <isConfidentialOmitted>false</isConfidentialOmitted>
                </summaryPage>
              </formData>
            </edgarSubmission>

            """
    }

    /// The primary document with the filer's CCC (EDGAR's access code: 8 characters, letters,
    /// digits, `@`, `#`, `*`, `$`), which the host never stores.
    /// - Throws: `ServiceError` when the code is malformed.
    public static func withCredentials(_ document: String, ccc: String) throws -> String {
        guard ccc.count == 8, ccc.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "@#*$".contains($0)) })
        else {
            throw ServiceError(
                .invalidInput, "header 'EDGAR-CCC': the filer's CCC is 8 letters, digits, @, #, * or $")
        }
        guard let cik = document.range(of: "</cik>") else { return document }
        return document.replacingCharacters(in: cik, with: "</cik>\n          <ccc>\(ccc)</ccc>")
    }
}
