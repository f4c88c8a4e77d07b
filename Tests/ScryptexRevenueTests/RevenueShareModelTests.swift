import Foundation
import ScryptexCore
import ScryptexRevenue
import ScryptexTestSupport
import Testing

/// Issue 18: statements overpaid by a cent — intermediate values were rounded to 12 decimals (a
/// product's slice of tiered earnings, the average rate of volume tiers) before the share was.
/// Every share is compared here with an independent exact model: Python's `Fraction`
/// (Fixtures/share_model.py), on random plans and months and on constructed ties.
@Suite("Revenue shares against an exact model")
struct RevenueShareModelTests {
    static let usd = try! Currency("USD")

    struct Case {
        var plan: RevenuePlan
        var revenue: [RevenueProduct: ExactDecimal]
        var volume: ExactDecimal
    }

    /// The plan and the month as the model reads them (the API's JSON shapes).
    static func json(_ testCase: Case) -> [String: Any] {
        let plan = testCase.plan
        var object: [String: Any] = ["model": plan.model.rawValue]
        object["percent"] = plan.percent?.description
        object["tierBasis"] = plan.tierBasis?.rawValue
        object["minimumGuarantee"] = plan.minimumGuarantee?.description
        object["cap"] = plan.cap?.description
        if let tiers = plan.tiers {
            object["tiers"] = tiers.map { tier -> [String: Any] in
                var json: [String: Any] = ["from": tier.from.description, "percent": tier.percent.description]
                json["upTo"] = tier.upTo?.description
                return json
            }
        }
        if let percents = plan.productPercents {
            object["productPercents"] = Dictionary(
                uniqueKeysWithValues: percents.map { ($0.key.rawValue, $0.value.description) })
        }
        return [
            "plan": object,
            "revenue": Dictionary(
                uniqueKeysWithValues: testCase.revenue.map { ($0.key.rawValue, $0.value.description) }),
            "volume": testCase.volume.description, "precision": 2,
        ]
    }

    /// Runs the model on every case.
    static func modelShares(_ cases: [Case]) async throws -> [String] {
        let input = try JSONSerialization.data(withJSONObject: cases.map(json))
        let path = "/tmp/scryptex-share-cases-\(UInt64.random(in: 0...UInt64.max)).json"
        try input.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/share_model.py").path
        let process = try ChildProcess("/bin/sh", ["-c", "/usr/bin/python3 '\(model)' < '\(path)'"])
        let status = await process.waitForExit(timeout: .seconds(120))
        try #require(status == 0, "the model failed: \(process.output)")
        let output = process.output.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String])
    }

    static func cents(_ value: Int, scale: Int = 2) -> ExactDecimal {
        ExactDecimal(significand: Int128(value), scale: scale)
    }

    static func randomPercent(_ generator: inout SeededGenerator) -> ExactDecimal {
        // Up to 4 decimals, as plans allow.
        ExactDecimal(significand: Int128(Int.random(in: 0...1_000_000, using: &generator)), scale: 4)
    }

    static func randomPlan(_ generator: inout SeededGenerator) -> RevenuePlan {
        var plan: RevenuePlan
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            plan = RevenuePlan(model: .flat, currency: usd, percent: randomPercent(&generator))
        case 1:
            var percents: [RevenueProduct: ExactDecimal] = [:]
            for product in RevenueProduct.allCases where Bool.random(using: &generator) {
                percents[product] = randomPercent(&generator)
            }
            if percents.isEmpty { percents[.tradingFees] = randomPercent(&generator) }
            plan = RevenuePlan(model: .perProduct, currency: usd, productPercents: percents)
        default:
            var tiers: [RevenueTier] = []
            var from = ExactDecimal.zero
            for index in 0..<Int.random(in: 1...4, using: &generator) {
                let last = index == 3 || Bool.random(using: &generator)
                let upTo = last ? nil : from + cents(Int.random(in: 1...500_000_000, using: &generator), scale: 2)
                tiers.append(RevenueTier(from: from, upTo: upTo, percent: randomPercent(&generator)))
                guard let upTo else { break }
                from = upTo
            }
            if tiers.last?.upTo != nil {
                tiers.append(RevenueTier(from: from, upTo: nil, percent: randomPercent(&generator)))
            }
            plan = RevenuePlan(
                model: .tiered, currency: usd, tiers: tiers,
                tierBasis: Bool.random(using: &generator) ? .volume : .revenue)
        }
        if Int.random(in: 0..<5, using: &generator) == 0 {
            plan.minimumGuarantee = cents(Int.random(in: 0...10_000_000, using: &generator))
        }
        if Int.random(in: 0..<5, using: &generator) == 0 {
            plan.cap = (plan.minimumGuarantee ?? .zero) + cents(Int.random(in: 0...500_000_000, using: &generator))
        }
        return plan
    }

    @Test func randomPlansAndMonthsMatchTheExactModelToTheCent() async throws {
        var generator = SeededGenerator(seed: 18)
        var cases: [Case] = []
        for _ in 0..<2_000 {
            let plan = Self.randomPlan(&generator)
            try plan.validate()
            var revenue: [RevenueProduct: ExactDecimal] = [:]
            for product in RevenueProduct.allCases where Bool.random(using: &generator) {
                // Up to 10 billion dollars a month in cents.
                revenue[product] = Self.cents(Int.random(in: 0...1_000_000_000_000, using: &generator))
            }
            // Volume with up to 4 decimals, never zero (a zero volume earns nothing either way).
            let volume = ExactDecimal(
                significand: Int128(Int.random(in: 1...100_000_000_000_000, using: &generator)), scale: 4)
            cases.append(Case(plan: plan, revenue: revenue, volume: volume))
        }
        let expected = try await Self.modelShares(cases)
        #expect(expected.count == cases.count)
        var mismatches: [String] = []
        for (index, testCase) in cases.enumerated() {
            let share = try testCase.plan.share(of: testCase.revenue, volume: testCase.volume).share.amount
            if share != ExactDecimal(expected[index])! {
                mismatches.append("case \(index) (\(testCase.plan.model.rawValue)): \(share) ≠ \(expected[index])")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// Ties built on purpose: each lands on the even cent, as the model's half-even does.
    @Test func constructedTiesGoToTheEvenCent() async throws {
        func tiered(_ basis: RevenuePlan.TierBasis, _ tiers: [(String, String?, String)]) -> RevenuePlan {
            RevenuePlan(
                model: .tiered, currency: Self.usd,
                tiers: tiers.map {
                    RevenueTier(
                        from: ExactDecimal($0.0)!, upTo: $0.1.flatMap(ExactDecimal.init), percent: ExactDecimal($0.2)!)
                }, tierBasis: basis)
        }
        let cases = [
            // 50 % of an odd number of cents: .005 ties.
            Case(
                plan: RevenuePlan(model: .flat, currency: Self.usd, percent: ExactDecimal(50)),
                revenue: [.tradingFees: Self.cents(1)], volume: .zero),
            Case(
                plan: RevenuePlan(model: .flat, currency: Self.usd, percent: ExactDecimal(50)),
                revenue: [.tradingFees: Self.cents(3), .data: Self.cents(2)], volume: .zero),
            // Revenue tiers earning exactly 1,931,453.905 over three products
            // (100,000 + 12,209,692.70 × 15 %): .90, not .91.
            Case(
                plan: tiered(.revenue, [("0", "1000000", "10"), ("1000000", nil, "15")]),
                // (Sliced per product at 12 decimals, this split summed to 1,931,453.905000000001.)
                revenue: [
                    .tradingFees: ExactDecimal("2885450.19")!, .subscriptions: ExactDecimal("6111780.03")!,
                    .marketMaking: ExactDecimal("4212462.48")!,
                ], volume: .zero),
            // Volume tiers whose exact share ends in 5 in the third decimal: earnings 1,000 on a
            // volume of 8,000 applied to revenue of 10.04 = 1.255 → 1.26 (6 is even).
            Case(
                plan: tiered(.volume, [("0", nil, "12.5")]), revenue: [.tradingFees: ExactDecimal("10.04")!],
                volume: ExactDecimal(8_000)),
            // And a volume share that is a repeating fraction a hair under a tie.
            Case(
                plan: tiered(.volume, [("0", "1000", "10"), ("1000", nil, "20")]),
                revenue: [.tradingFees: ExactDecimal("3670000.00")!, .data: ExactDecimal("0.01")!],
                volume: ExactDecimal("3785.0003")!),
        ]
        let expected = try await Self.modelShares(cases)
        for (index, testCase) in cases.enumerated() {
            let calculation = try testCase.plan.share(of: testCase.revenue, volume: testCase.volume)
            #expect(calculation.share.amount == ExactDecimal(expected[index])!, "case \(index)")
            #expect(calculation.share.amount + calculation.roundingRemainder == calculation.exactShare)
        }
        #expect(expected[0] == "0.00" && expected[1] == "0.02" && expected[2] == "1931453.90" && expected[3] == "1.26")
    }
}
