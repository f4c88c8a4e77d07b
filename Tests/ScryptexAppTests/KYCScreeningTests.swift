import Foundation
import ScryptexCompliance
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 18: an account's legal name and its beneficial owners are screened against the lists
/// when it is submitted for KYC and again when a list version changes; a new match is an alert.
@Suite("KYC names against the sanctions lists", .serialized)
struct KYCScreeningTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    @Test func submissionAndListChangesRaiseAlertsForNewMatchesOnly() async throws {
        try await RouteHarness.with { harness in
            try await SharedSanctions.loadSDN(into: harness)
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            func account(_ legalName: String) async throws -> String {
                try #require(
                    Self.json(
                        await harness.send(
                            .post, "/api/enterprise/accounts", headers: owner,
                            json: #"{"accountName":"A","accountType":"hedge_fund","legalName":"\#(legalName)"}"#)
                    )["id"] as? String)
            }
            func alerts() async -> [[String: Any]] {
                let all =
                    Self.json(await harness.send(.get, "/api/enterprise/compliance/alerts", headers: owner))["alerts"]
                    as? [[String: Any]] ?? []
                return all.filter { $0["kind"] as? String == KYCSanctionsScreening.alertKind }
            }
            // A bank on the SDN list as the legal name; a listed person as a beneficial owner.
            let bank = try await account("Banco Nacional de Cuba")
            let ownerAdded = await harness.send(
                .post, "/api/enterprise/accounts/\(bank)/kyc/beneficial-owners", headers: owner,
                json: #"{"name":"Anton Nikolaeyvich Andreyev","nationality":"RU","ownershipPercent":40}"#)
            #expect(ownerAdded.status.code == 201)
            let clean = try await account("Quiet Meadow Partners LLC")
            #expect(await alerts().isEmpty)

            let submitted = await harness.send(.post, "/api/enterprise/accounts/\(bank)/kyc/submit", headers: owner)
            #expect(submitted.status.code == 200, "\(String(decoding: submitted.body, as: UTF8.self))")
            _ = await harness.send(.post, "/api/enterprise/accounts/\(clean)/kyc/submit", headers: owner)
            let raised = await alerts()
            let summaries = raised.compactMap { $0["summary"] as? String }
            #expect(summaries.contains { $0.contains("legal name") && $0.contains("entry 306") }, "\(summaries)")
            #expect(
                summaries.contains { $0.contains("beneficial owner") && $0.contains("entry 29703") }, "\(summaries)")
            #expect(!summaries.contains { $0.contains("Andreyev") }, "an owner's sealed name stays out of alerts")
            #expect(raised.allSatisfy { $0["accountId"] as? String == bank })

            // A list change screens every account again: the same matches raise nothing new.
            await HostService.screenEveryAccount(
                pool: harness.pool, keyring: harness.keyring, registry: harness.sanctions, logger: TestDatabase.logger)
            #expect(await alerts().count == raised.count)
            // A new owner matching a listed name is found on the next screening.
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(clean)/kyc/beneficial-owners", headers: owner,
                json: #"{"name":"Anton Nikolaeyvich Andreyev","nationality":"RU","ownershipPercent":30}"#)
            await HostService.screenEveryAccount(
                pool: harness.pool, keyring: harness.keyring, registry: harness.sanctions, logger: TestDatabase.logger)
            let after = await alerts()
            #expect(after.count > raised.count)
            #expect(after.contains { $0["accountId"] as? String == clean })
        }
    }
}
