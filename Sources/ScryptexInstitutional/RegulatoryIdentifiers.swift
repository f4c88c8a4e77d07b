/// Checks for the identifiers institutions give: each returns nil when valid, else the rule.
public enum RegulatoryIdentifier {
    /// The identifier kinds accepted in `regulatoryIdentifiers`, and what each must look like.
    public static let rules: [String: String] = [
        "lei": "20 characters (18 letters or digits, then 2 check digits) passing the ISO 17442 MOD 97-10 check",
        "cik": "10 digits, such as 0001234567 (SEC Central Index Key)",
        "sec_number": "801-NNNNN: 801- and 1 to 6 digits (SEC investment adviser file number)",
        "crd": "1 to 8 digits (FINRA CRD number)",
        "cftc_nfa_id": "7 digits (NFA ID)",
        "fca_frn": "6 or 7 digits (FCA Firm Reference Number)",
    ]

    /// The problem with `value` as an identifier of `kind`, or nil when it is valid.
    public static func problem(kind: String, value: String) -> String? {
        guard let rule = rules[kind] else {
            return "unknown identifier '\(kind)'; known: \(rules.keys.sorted().joined(separator: ", "))"
        }
        let valid: Bool
        switch kind {
        case "lei": valid = isValidLEI(value)
        case "cik": valid = value.utf8.count == 10 && value.utf8.allSatisfy(isDigit)
        case "sec_number":
            valid =
                value.hasPrefix("801-") && (1...6).contains(value.utf8.count - 4)
                && value.utf8.dropFirst(4).allSatisfy(isDigit)
        case "crd": valid = (1...8).contains(value.utf8.count) && value.utf8.allSatisfy(isDigit)
        case "cftc_nfa_id": valid = value.utf8.count == 7 && value.utf8.allSatisfy(isDigit)
        default: valid = (6...7).contains(value.utf8.count) && value.utf8.allSatisfy(isDigit)
        }
        return valid ? nil : "'\(value)' is not valid: \(rule)"
    }

    /// ISO 17442: 20 upper-case alphanumerics whose ISO 7064 MOD 97-10 value (letters as 10…35)
    /// is 1.
    public static func isValidLEI(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 20,
            bytes.allSatisfy({ isDigit($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }),
            bytes[18...].allSatisfy(isDigit)
        else { return false }
        var remainder = 0
        for byte in bytes {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - UInt8(ascii: "0"))) % 97
            } else {
                let number = Int(byte - UInt8(ascii: "A")) + 10
                remainder = (remainder * 100 + number) % 97
            }
        }
        return remainder == 1
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}

/// ISO 3166-1 alpha-2 country codes (officially assigned).
public enum CountryCode {
    public static let all: Set<String> = Set(
        """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
        CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
        FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
        JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
        MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
        PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
        TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    public static func isValid(_ code: String) -> Bool { all.contains(code) }
}
