import ScryptexCore
import ScryptexRevenue
import ScryptexTestSupport
import Testing

@Suite("Revenue-share plans and ledger postings")
struct RevenuePlanTests {
    static let usd = try! Currency("USD")

    static func decimal(_ text: String) -> ExactDecimal { ExactDecimal(text)! }

    /// 0–100k at 10 %, 100k–500k at 20 %, above at 30 % (marginal).
    static let tiered = RevenuePlan(
        model: .tiered, currency: usd,
        tiers: [
            RevenueTier(from: .zero, upTo: ExactDecimal(100_000), percent: ExactDecimal(10)),
            RevenueTier(from: ExactDecimal(100_000), upTo: ExactDecimal(500_000), percent: ExactDecimal(20)),
            RevenueTier(from: ExactDecimal(500_000), upTo: nil, percent: ExactDecimal(30)),
        ], tierBasis: .revenue)

    /// Hand-checked: 50k → 5,000; 100k → 10,000; 250k → 10,000 + 30,000; 700k → 10,000 + 80,000 + 60,000.
    @Test(arguments: [("50000", "5000"), ("100000", "10000"), ("250000", "40000"), ("700000", "150000")])
    func tiersAreMarginal(revenue: String, expected: String) throws {
        try Self.tiered.validate()
        let result = try Self.tiered.share(of: [.tradingFees: Self.decimal(revenue)])
        #expect(result.share.amount == Self.decimal(expected))
        #expect(result.roundingRemainder.isZero)
    }

    @Test func volumeTiersApplyTheirAverageRateToRevenue() throws {
        var plan = Self.tiered
        plan.tierBasis = .volume
        // Volume 250k → 40k on 250k = 16 % average; applied to 10,000 of fees = 1,600.
        let result = try plan.share(of: [.tradingFees: ExactDecimal(10_000)], volume: ExactDecimal(250_000))
        #expect(result.share.amount == ExactDecimal(1_600))
    }

    @Test func perProductRatesMinimumAndCap() throws {
        var plan = RevenuePlan(
            model: .perProduct, currency: Self.usd,
            productPercents: [.tradingFees: ExactDecimal(20), .subscriptions: ExactDecimal(50), .data: ExactDecimal(5)])
        try plan.validate()
        let result = try plan.share(of: [
            .tradingFees: ExactDecimal(1_000), .subscriptions: ExactDecimal(200), .data: ExactDecimal(100),
        ])
        #expect(result.byProduct[.tradingFees] == ExactDecimal(200))
        #expect(result.share.amount == ExactDecimal(305))
        plan.minimumGuarantee = ExactDecimal(500)
        #expect(try plan.share(of: [.tradingFees: ExactDecimal(1_000)]).share.amount == ExactDecimal(500))
        #expect(try plan.share(of: [.tradingFees: ExactDecimal(1_000)]).adjustedBy == "minimum_guarantee")
        plan.minimumGuarantee = nil
        plan.cap = ExactDecimal(100)
        #expect(try plan.share(of: [.tradingFees: ExactDecimal(1_000)]).share.amount == ExactDecimal(100))
    }

    @Test func roundingIsHalfEvenAndTheRemainderIsBooked() throws {
        let plan = RevenuePlan(model: .flat, currency: Self.usd, percent: Self.decimal("12.5"))
        // 12.5 % of 0.20 = 0.025 → 0.02 (half-even), remainder 0.005.
        let result = try plan.share(of: [.tradingFees: Self.decimal("0.20")])
        #expect(result.share.amount == Self.decimal("0.02"))
        #expect(result.roundingRemainder == Self.decimal("0.005"))
        let posting = try Posting.periodShare(result, memo: "close")
        #expect(posting.lines.count == 3)
        // 12.5 % of 0.60 = 0.075 → 0.08 (half-even rounds to the even cent).
        #expect(try plan.share(of: [.tradingFees: Self.decimal("0.60")]).share.amount == Self.decimal("0.08"))
    }

    @Test(arguments: [
        (
            [
                RevenueTier(from: .zero, upTo: ExactDecimal(100), percent: ExactDecimal(10)),
                RevenueTier(from: ExactDecimal(90), upTo: nil, percent: ExactDecimal(20)),
            ], "overlaps"
        ),
        (
            [
                RevenueTier(from: .zero, upTo: ExactDecimal(100), percent: ExactDecimal(10)),
                RevenueTier(from: ExactDecimal(120), upTo: nil, percent: ExactDecimal(20)),
            ], "a gap between 100 and 120"
        ),
        ([RevenueTier(from: ExactDecimal(5), upTo: nil, percent: ExactDecimal(10))], "starts at 0"),
        ([RevenueTier(from: .zero, upTo: nil, percent: ExactDecimal(101))], "from 0 to 100"),
        ([RevenueTier(from: .zero, upTo: ExactDecimal(10), percent: ExactDecimal(1))], "open-ended"),
    ])
    func badPlansAreRefusedNamingTheField(tiers: [RevenueTier], message: String) {
        let plan = RevenuePlan(model: .tiered, currency: Self.usd, tiers: tiers)
        #expect(throws: ServiceError.self) { try plan.validate() }
        do {
            try plan.validate()
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.message.contains("field 'tiers"))
        }
    }

    @Test func unknownCurrenciesAndUnbalancedPostingsAreRefused() throws {
        #expect(throws: ServiceError.self) { try Currency("XYZ") }
        #expect(throws: ServiceError.self) {
            try Posting(memo: "bad", lines: [.init(.feesReceivable, Money(ExactDecimal(10), Self.usd))])
        }
        #expect(throws: ServiceError.self) {
            try Posting(
                memo: "sub-cent",
                lines: [
                    .init(.feesReceivable, Money(Self.decimal("0.001"), Self.usd)),
                    .init(.platformRevenue, Money(Self.decimal("-0.001"), Self.usd)),
                ])
        }
    }

    /// Property: for random event streams, every posting balances, and the rounded shares plus
    /// the booked remainders add up exactly to the exact shares.
    @Test func randomStreamsKeepTheLedgerBalanced() throws {
        var generator = SeededGenerator(seed: 42)
        let plans = [
            Self.tiered,
            RevenuePlan(model: .flat, currency: Self.usd, percent: Self.decimal("17.3333")),
            RevenuePlan(
                model: .perProduct, currency: Self.usd,
                productPercents: [.tradingFees: Self.decimal("22.5"), .marketMaking: Self.decimal("7.125")]),
        ]
        for round in 0..<300 {
            let plan = plans[round % plans.count]
            var balances: [LedgerAccount: ExactDecimal] = [:]
            var revenue: [RevenueProduct: ExactDecimal] = [:]
            for _ in 0..<Int.random(in: 1...40, using: &generator) {
                let cents = Int.random(in: 1...5_000_000, using: &generator)
                let fee = Money(ExactDecimal(significand: Int128(cents), scale: 2), Self.usd)
                let product = RevenueProduct.allCases.randomElement(using: &generator)!
                revenue[product, default: .zero] += fee.amount
                for line in try Posting.feesEarned(fee, memo: "fee").lines {
                    balances[line.account, default: .zero] += line.amount.amount
                }
            }
            let calculation = try plan.share(of: revenue)
            for line in try Posting.periodShare(calculation, memo: "close").lines {
                balances[line.account, default: .zero] += line.amount.amount
            }
            #expect(balances.values.reduce(ExactDecimal.zero, +).isZero)
            #expect(calculation.share.amount + calculation.roundingRemainder == calculation.exactShare)
            #expect(-(balances[.partnerPayable] ?? .zero) == calculation.share.amount)
        }
    }
}
