import Foundation
import ScryptexCore
import ScryptexInstitutional

/// The response encoder against Foundation's `JSONEncoder` configured as responses were before
/// (sorted keys, plain slashes, ISO 8601 dates, identifiers lower-cased afterwards), on the
/// account the read route returns: alternating rounds in one process, median time per encode.
enum JSONBench {
    static func run(iterations: Int, rounds: Int) throws {
        let account = InstitutionalAccount(
            id: UUID(), parentId: UUID(), accountName: "Bench Fund", accountType: .hedgeFund,
            legalName: "Bench Fund LLC", jurisdiction: "US", totalAUM: ExactDecimal("1000000.00")!,
            regulatoryIdentifiers: ["lei": "5493001KJTIIGC8Y1R12"], kycStatus: .approved, kycReviewDue: "2027-01-31",
            killSwitchEngaged: false, limits: TradingLimits(), createdAt: Date(), updatedAt: Date())
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        foundation.dateEncodingStrategy = .iso8601
        let sorted = SortedJSONEncoder()
        var ours: [Double] = []
        var theirs: [Double] = []
        var bytes = 0
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<iterations { bytes &+= try sorted.encode(account).count }
            let middle = clock.now
            for _ in 0..<iterations { bytes &+= Array(try foundation.encode(account)).count }
            let end = clock.now
            ours.append((middle - start).secondsValue * 1e9 / Double(iterations))
            theirs.append((end - middle).secondsValue * 1e9 / Double(iterations))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(
            String(
                format:
                    "encode one account (%d B): SortedJSONEncoder %.0f ns, Foundation JSONEncoder %.0f ns, ratio %.2f× (median of %d rounds of %d; checksum %d)",
                try sorted.encode(account).count, median(ours), median(theirs), median(theirs) / median(ours), rounds,
                iterations, bytes % 10))
    }
}
