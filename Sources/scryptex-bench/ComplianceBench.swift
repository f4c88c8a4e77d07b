import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexInstitutional

/// Pre-trade check latency: the rules evaluated in process against an account with 10,000
/// positions and the real OFAC SDN, OFAC consolidated and UN lists loaded (run by
/// bench/compliance.sh).
enum ComplianceBench {
    static func run(sharedFolder: String, iterations: Int) throws {
        func text(_ path: String) throws -> String {
            try String(contentsOfFile: sharedFolder + "/" + path, encoding: .utf8)
        }
        let started = ContinuousClock.now
        let sdn = try OFACListParser.parse(
            primary: try text("ofac_sdn_2021-07-bench/sdn.csv"), aliases: try text("ofac_sdn_2021-07-bench/alt.csv"),
            addresses: try text("ofac_sdn_2021-07-bench/add.csv"), names: ("sdn.csv", "alt.csv", "add.csv"))
        let consolidated = try OFACListParser.parse(
            primary: try text("ofac_consolidated_nonsdn/cons_prim.csv"),
            aliases: try text("ofac_consolidated_nonsdn/cons_alt.csv"),
            addresses: try text("ofac_consolidated_nonsdn/cons_add.csv"), names: ("cons_prim", "cons_alt", "cons_add"))
        let un = try UNListParser.parse(
            try Data(
                contentsOf: URL(fileURLWithPath: sharedFolder + "/un_consolidated/UN_consolidated_2026-02-27.xml")),
            file: "UN")
        let screener = SanctionsScreener(lists: [
            .init(source: .ofacSDN, version: UUID(), entries: sdn),
            .init(source: .ofacConsolidated, version: UUID(), entries: consolidated),
            .init(source: .unConsolidated, version: UUID(), entries: un),
        ])
        let loaded = ContinuousClock.now - started
        print(
            "- lists: \(screener.entryCount) entries, \(screener.nameCount) names and aliases, parsed and indexed in \(String(format: "%.0f", loaded.secondsValue * 1000)) ms"
        )

        var positions: [String: ExactDecimal] = [:]
        for index in 0..<10_000 { positions["T\(index)/USDC"] = ExactDecimal(index % 500) }
        positions["ETH/USDC"] = ExactDecimal(400)
        let limits = TradingLimits(
            maxOrderNotional: ExactDecimal(3_000_000), dailyNotional: ExactDecimal(50_000_000),
            positionLimits: ["ETH/USDC": ExactDecimal(1000)], allowedInstruments: ["ETH/USDC", "BTC/USDC"])
        let now = Date()
        func account(_ name: String, parent: UUID?) -> InstitutionalAccount {
            InstitutionalAccount(
                id: UUID(), parentId: parent, accountName: name, accountType: .hedgeFund, legalName: name,
                jurisdiction: "US",
                totalAUM: ExactDecimal(1_000_000_000), regulatoryIdentifiers: [:], kycStatus: .approved,
                kycReviewDue: nil,
                killSwitchEngaged: false, limits: limits, createdAt: now, updatedAt: now)
        }
        let parent = account("Parent", parent: nil)
        let child = account("Child", parent: parent.id)
        let context = TradeCheckContext(
            accountChain: [child, parent], positions: positions, bookedToday: ExactDecimal(1_000_000),
            restricted: ["BTC/USDC": "watch list"], referencePrice: ExactDecimal(2500),
            restingOrders: (0..<20).map {
                RestingOrder(accountId: parent.id, side: .sell, price: ExactDecimal(2600 + $0))
            },
            recentTrades: (0..<20).map {
                RecentTrade(accountId: child.id, side: .buy, price: ExactDecimal(2400), secondsAgo: $0)
            })
        let counterparties = [
            "Goldman Sachs International", "Jane Street Capital", "National Bank of Cuba", "Xiaobing Yan",
            "Cumberland DRW LLC", "Wintermute Trading Ltd", "Banco Nacional de Cuba", "Galaxy Digital Trading",
            "Ali Khorashadizadeh", "Flow Traders B.V.",
        ]
        let rules = TradeCheckRules()
        var latencies: [Double] = []
        latencies.reserveCapacity(iterations)
        var decisions: [TradeDecision.Decision: Int] = [:]
        for index in 0..<(iterations + 1000) {
            let request = TradeCheckRequest(
                accountId: child.id, symbol: "ETH/USDC", side: index % 2 == 0 ? "buy" : "sell",
                quantity: ExactDecimal(significand: Int128(100 + index % 400), scale: 1), price: ExactDecimal(2500),
                venue: nil, counterparty: counterparties[index % counterparties.count],
                walletAddress: index % 7 == 0
                    ? "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h" : "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh")
            let begin = ContinuousClock.now
            let side = try TradeCheckRules.validate(
                request, instrument: InstrumentSpec(symbol: "ETH/USDC", priceDecimals: 2, quantityDecimals: 8))
            let decision = try rules.evaluate(request, side: side, context: context, screener: screener)
            let elapsed = ContinuousClock.now - begin
            if index >= 1000 {  // the first thousand warm caches up
                latencies.append(elapsed.secondsValue * 1_000_000)
                decisions[decision.decision, default: 0] += 1
            }
        }
        latencies.sort()
        func at(_ fraction: Double) -> String {
            String(format: "%.0f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))])
        }
        print(
            "- check-trade evaluation, \(iterations) checks, 12 rules, 10,000 positions, counterparty and wallet screened:"
        )
        print("")
        print("| p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | goal p99 |")
        print("|---|---|---|---|---|---|")
        print("| \(at(0.5)) | \(at(0.9)) | \(at(0.99)) | \(at(0.999)) | \(at(1)) | ≤ 1000 µs |")
        print("")
        print(
            "- decisions: "
                + decisions.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
                .joined(
                    separator: ", "))
    }
}
