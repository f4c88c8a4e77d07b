import ScryptexCore
import Testing

@Suite("ExactDecimal")
struct ExactDecimalTests {
    @Test(arguments: [
        ("0", "0"), ("12.50", "12.50"), ("-0.001", "-0.001"), ("+7", "7"), ("1e3", "1000"), ("1.5E-2", "0.015"),
        (".5", "0.5"), ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
    ])
    func parsesAndPrints(text: String, printed: String) throws {
        #expect(try ExactDecimal(parsing: text).description == printed)
    }

    @Test(arguments: ["", "-", "abc", "1.2.3", "1e", "12,5", "1 000", "NaN", "0x10", "1e99999"])
    func rejectsMalformedText(text: String) {
        #expect(throws: ExactDecimalParsingError.self) { try ExactDecimal(parsing: text) }
    }

    @Test func rejectsMoreDigitsThanItHolds() {
        #expect(throws: ExactDecimalParsingError.tooManyDigits("1234567890123456789012345678901234567890")) {
            try ExactDecimal(parsing: "1234567890123456789012345678901234567890")
        }
    }

    @Test func additionIsExact() {
        let sum = ExactDecimal("0.1")! + ExactDecimal("0.2")!
        #expect(sum == ExactDecimal("0.3")!)
        #expect(sum.description == "0.3")
        #expect((ExactDecimal("10")! - ExactDecimal("0.01")!).description == "9.99")
    }

    @Test func multiplicationKeepsAllDigits() {
        #expect((ExactDecimal("1.25")! * ExactDecimal("0.2")!).description == "0.250")
        #expect((ExactDecimal("-3")! * ExactDecimal("2.5")!).description == "-7.5")
    }

    @Test func equalityAndHashingIgnoreTrailingZeros() {
        #expect(ExactDecimal("12.5")! == ExactDecimal("12.500")!)
        #expect(Set([ExactDecimal("1.0")!, ExactDecimal("1")!, ExactDecimal("1.00")!]).count == 1)
        #expect(ExactDecimal("12.50")!.normalized.description == "12.5")
    }

    @Test func ordering() {
        let values = ["3", "-1.5", "0.25", "-1.49", "100", "0.250001"].map { ExactDecimal($0)! }
        #expect(values.sorted().map(\.description) == ["-1.5", "-1.49", "0.25", "0.250001", "3", "100"])
    }

    @Test(arguments: [
        ("2.345", 2, ExactDecimal.RoundingRule.halfEven, "2.34"),
        ("2.355", 2, .halfEven, "2.36"),
        ("2.345", 2, .halfUp, "2.35"),
        ("-2.345", 2, .halfUp, "-2.35"),
        ("-2.345", 2, .halfEven, "-2.34"),
        ("2.3451", 2, .halfEven, "2.35"),
        ("2.349", 2, .towardZero, "2.34"),
        ("-2.349", 2, .towardZero, "-2.34"),
        ("2.341", 2, .awayFromZero, "2.35"),
        ("-2.341", 2, .awayFromZero, "-2.35"),
        ("2.340", 2, .awayFromZero, "2.34"),
        ("0.5", 0, .halfEven, "0"),
        ("1.5", 0, .halfEven, "2"),
        ("7", 2, .halfEven, "7.00"),
    ])
    func rounding(value: String, scale: Int, rule: ExactDecimal.RoundingRule, expected: String) {
        #expect(ExactDecimal(value)!.rounded(toScale: scale, rule: rule).description == expected)
    }

    @Test func division() {
        #expect(ExactDecimal("10")!.divided(by: ExactDecimal("3")!, scale: 4)?.description == "3.3333")
        #expect(ExactDecimal("2")!.divided(by: ExactDecimal("3")!, scale: 2)?.description == "0.67")
        #expect(ExactDecimal("1")!.divided(by: ExactDecimal("8")!, scale: 2, rule: .halfEven)?.description == "0.12")
        #expect(ExactDecimal("1")!.divided(by: ExactDecimal("8")!, scale: 2, rule: .halfUp)?.description == "0.13")
        // 0.125000001 / 1 is just above the tie: it rounds up under every half rule.
        #expect(ExactDecimal("0.125000001")!.divided(by: ExactDecimal("1")!, scale: 2)?.description == "0.13")
        #expect(ExactDecimal("-7")!.divided(by: ExactDecimal("2")!, scale: 0)?.description == "-4")
        #expect(ExactDecimal("1")!.divided(by: .zero, scale: 2) == nil)
        // Away from zero: any remainder, however far beyond the extra digit, moves the last digit.
        #expect(
            ExactDecimal("1.000000001")!.divided(by: ExactDecimal("1")!, scale: 2, rule: .awayFromZero)?.description
                == "1.01")
        #expect(
            ExactDecimal("-1")!.divided(by: ExactDecimal("3")!, scale: 2, rule: .awayFromZero)?.description == "-0.34")
        #expect(
            ExactDecimal("1")!.divided(by: ExactDecimal("4")!, scale: 2, rule: .awayFromZero)?.description == "0.25")
    }

    @Test func overflowIsReported() {
        let large = ExactDecimal(significand: Int128.max / 2 + 1, scale: 0)
        #expect(large.addingReportingOverflow(large).overflow)
        #expect(large.multipliedReportingOverflow(by: ExactDecimal(3)).overflow)
        #expect(!ExactDecimal(1).addingReportingOverflow(ExactDecimal(2)).overflow)
    }

    @Test func codableAsString() throws {
        struct Wrapper: Codable, Equatable { var amount: ExactDecimal }
        let encoded = try JSONEncoderFacade.encode(Wrapper(amount: ExactDecimal("1234.50")!))
        #expect(encoded == #"{"amount":"1234.50"}"#)
        #expect(try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":"0.10"}"#).amount == ExactDecimal("0.1")!)
        #expect(try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":42}"#).amount == ExactDecimal(42))
        #expect(throws: (any Error).self) { try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":"ten"}"#) }
        // JSON numbers are read exactly, never through a binary float.
        #expect(try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":0.1}"#).amount == ExactDecimal("0.1")!)
        #expect(
            try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":12345678901234567890.123456789012345678}"#)
                .amount.description
                == "12345678901234567890.123456789012345678"
        )
        // Beyond what a numeric(38, 18) column stores, a document's decimal is refused, whether
        // it comes as a number or a string.
        for amount in ["1e20", "\"123456789012345678901\"", "0.0000000000000000001", "\"1e30\"", "-1e21"] {
            #expect(throws: DecodingError.self, "\(amount)") {
                try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":\#(amount)}"#)
            }
        }
        #expect(try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":"-99999999999999999999"}"#).amount < .zero)
        #expect(throws: (any Error).self) { try JSONEncoderFacade.decode(Wrapper.self, from: #"{"amount":true}"#) }
    }

    @Test func wideColumnValuesMultiplyWithoutOverflow() throws {
        // numeric(38, 18) columns come back with 18 decimals: 250000.000… × 201.25000…
        let quantity = try ExactDecimal(parsing: "250000.000000000000000000")
        let price = try ExactDecimal(parsing: "201.250000000000000000")
        #expect((quantity * price).normalized == ExactDecimal(50_312_500))
        let (_, overflow) = ExactDecimal(significand: Int128.max / 3, scale: 0).multipliedReportingOverflow(
            by: ExactDecimal(7))
        #expect(overflow)
    }

    @Test func checkedArithmeticNamesTheFigureInsteadOfTrapping() throws {
        let huge = ExactDecimal(significand: Int128.max - 1, scale: 0)
        #expect(throws: ServiceError.self) { try huge.adding(huge, figure: "the total") }
        #expect(throws: ServiceError.self) { try huge.multiplied(by: ExactDecimal(3), figure: "the notional") }
        do {
            _ = try (-huge).subtracting(huge, figure: "the position")
            Issue.record("no error")
        } catch {
            #expect(error.message.contains("the position"))
            #expect(error.code == .invalidInput)
        }
        #expect(try ExactDecimal(2).multiplied(by: ExactDecimal("2.5")!, figure: "x") == ExactDecimal(5))
    }

    @Test func valuesThatNeedTheirTrailingZerosDroppedStillAdd() throws {
        // 9e19 read back from numeric(38, 18) is 38 digits; twice it is 39 unless the zeros go.
        let stored = try ExactDecimal(parsing: "90000000000000000000.000000000000000000")
        #expect((stored + ExactDecimal(90_000_000_000_000_000)).description.hasPrefix("90090000000000000000"))
        let sum = try stored.adding(try ExactDecimal(parsing: "90000000000000000000"), figure: "sum")
        #expect(sum == (try ExactDecimal(parsing: "180000000000000000000")))
    }

    @Test func trailingZerosBeyondTheDigitsHeldParse() throws {
        // 22 integer digits and 18 zeros: the zeros change nothing and are dropped.
        let text = "1234567890123456789012.000000000000000000"
        #expect(try ExactDecimal(parsing: text).description == "1234567890123456789012")
        #expect(try ExactDecimal(parsing: "12.50").description == "12.50")
        #expect(try ExactDecimal(parsing: "0.000").description == "0.000")
        #expect(try ExactDecimal(parsing: "1.000e2").description == "100.0")
    }

    @Test func limitsDescribeTheStoredRange() {
        let stored = DecimalLimits.stored
        #expect(stored.contains(ExactDecimal("99999999999999999999.999999999999999999")!))
        #expect(!stored.contains(ExactDecimal("100000000000000000000")!))
        #expect(!stored.contains(ExactDecimal("0.0000000000000000001")!))
        #expect(stored.contains(ExactDecimal("1.50000000000000000000000")!))
        #expect(throws: ServiceError.self) { try stored.check(ExactDecimal("1e25")!, field: "quantity") }
    }
}
