import ScryptexCore
import ScryptexInstitutional
import Testing

@Suite("Regulatory identifiers and limits")
struct IdentifierTests {
    /// Real LEIs from the GLEIF register (their check digits are ISO 17442 MOD 97-10).
    @Test(arguments: ["5493001KJTIIGC8Y1R12", "HWUPKR0MPOU8FGXBT394", "529900T8BM49AURSDO55", "7LTWFZYICNSX8D621K86"])
    func realLEIsPass(lei: String) {
        #expect(RegulatoryIdentifier.isValidLEI(lei))
        #expect(RegulatoryIdentifier.problem(kind: "lei", value: lei) == nil)
    }

    @Test(arguments: [
        "5493001KJTIIGC8Y1R13", "5493001KJTIIGC8Y1R1", "5493001kjtiigc8y1r12", "HWUPKR0MPOU8FGXBT3AB", "",
    ])
    func malformedLEIsFail(lei: String) {
        #expect(!RegulatoryIdentifier.isValidLEI(lei))
        #expect(RegulatoryIdentifier.problem(kind: "lei", value: lei)?.contains("ISO 17442") == true)
    }

    @Test func otherIdentifiersNameTheirRule() {
        #expect(RegulatoryIdentifier.problem(kind: "cik", value: "0001234567") == nil)
        #expect(RegulatoryIdentifier.problem(kind: "cik", value: "1234567")?.contains("10 digits") == true)
        #expect(RegulatoryIdentifier.problem(kind: "sec_number", value: "801-12345") == nil)
        #expect(RegulatoryIdentifier.problem(kind: "sec_number", value: "802-12345")?.contains("801-") == true)
        #expect(RegulatoryIdentifier.problem(kind: "sec_number", value: "801-") != nil)
        #expect(RegulatoryIdentifier.problem(kind: "passport", value: "x")?.contains("unknown identifier") == true)
        #expect(CountryCode.isValid("US") && CountryCode.isValid("KY") && !CountryCode.isValid("XX"))
    }

    @Test func childLimitsMayNotExceedTheParents() {
        let parent = TradingLimits(
            maxOrderNotional: ExactDecimal(1_000_000), dailyNotional: ExactDecimal(5_000_000),
            positionLimits: ["ETH/USDC": ExactDecimal(500)], allowedInstruments: ["ETH/USDC", "BTC/USDC"])
        let stricter = TradingLimits(
            maxOrderNotional: ExactDecimal(100_000), dailyNotional: ExactDecimal(5_000_000),
            positionLimits: ["ETH/USDC": ExactDecimal(100)], allowedInstruments: ["ETH/USDC"])
        #expect(stricter.excesses(over: parent).isEmpty)
        let looser = TradingLimits(
            maxOrderNotional: ExactDecimal(2_000_000), dailyNotional: nil, positionLimits: [:],
            allowedInstruments: ["ETH/USDC", "SOL/USDC"])
        let excesses = looser.excesses(over: parent)
        #expect(excesses.count == 4)
        #expect(excesses.contains { $0.contains("'maxOrderNotional': 2000000 exceeds") })
        #expect(excesses.contains { $0.contains("SOL/USDC not allowed") })
        #expect(
            TradingLimits(maxOrderNotional: ExactDecimal(-1)).problems() == [
                "field 'maxOrderNotional': must be greater than 0"
            ])
        #expect(TradingLimits(positionLimits: ["eth-usdc": .zero]).problems().first?.contains("BASE/QUOTE") == true)
    }

    @Test func kycMovesOnlyAlongItsEdges() {
        #expect(KYCStatus.pending.allowedNext == [.inReview])
        #expect(KYCStatus.inReview.allowedNext == [.approved, .rejected])
        #expect(KYCStatus.approved.allowedNext == [.suspended])
        #expect(!KYCStatus.pending.allowedNext.contains(.approved))
    }
}
