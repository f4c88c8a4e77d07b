import ScryptexCompliance
import Testing

@Suite("Security identifiers")
struct SecurityIdentifierTests {
    /// Real CUSIPs (Apple, Microsoft, Tesla, Coinbase, MicroStrategy) verify; each with its check
    /// digit changed, or its characters transposed, does not.
    @Test func cusipCheckDigits() {
        let real = ["037833100", "594918104", "88160R101", "19260Q107", "594972408"]
        for cusip in real {
            #expect(CUSIP.isValid(cusip), "\(cusip)")
            let last = cusip.last!.wholeNumberValue!
            #expect(!CUSIP.isValid(String(cusip.dropLast()) + String((last + 1) % 10)), "\(cusip)")
        }
        #expect(!CUSIP.isValid("594981104"), "two digits swapped")
        #expect(!CUSIP.isValid("19260q107"), "lower case")
        #expect(!CUSIP.isValid("03783310"), "eight characters")
        #expect(!CUSIP.isValid("0378331000"), "ten characters")
        #expect(!CUSIP.isValid("03783-100"))
    }

    @Test func isinCheckDigits() {
        #expect(ISIN.isValid("US0378331005"))  // Apple
        #expect(ISIN.isValid("DE000BASF111"))
        #expect(!ISIN.isValid("US0378331006"))
        #expect(!ISIN.isValid("us0378331005"))
    }
}
