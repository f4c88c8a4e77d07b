import Foundation
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 18: with `INSTITUTIONAL_KYC_PROVIDER` set, submitting an account opens a verification
/// at the provider, and the provider's notification on the tenant's own domain moves the KYC
/// state: only a notification the provider signed, only for an account of that tenant.
@Suite("KYC provider notifications", .serialized)
struct KYCProviderRouteTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func environment(
        _ provider: String, _ fake: KYCProviderFake, _ url: String, _ caFile: String
    )
        -> [String: String]
    {
        var environment = [
            "RATE_LIMIT_LOGIN": "1000/s", "INSTITUTIONAL_KYC_PROVIDER": provider, "KYC_PROVIDER_URL": url,
            "KYC_PROVIDER_CA_FILE": caFile, "KYC_PROVIDER_WEBHOOK_SECRET": fake.webhookSecret,
        ]
        switch provider {
        case "sumsub":
            environment["KYC_PROVIDER_API_TOKEN"] = fake.sumsubAppToken
            environment["KYC_PROVIDER_API_SECRET"] = fake.sumsubSecretKey
            environment["KYC_PROVIDER_WORKFLOW"] = "basic-kyb-level"
        default:
            environment["KYC_PROVIDER_API_TOKEN"] = fake.jumioClientID
            environment["KYC_PROVIDER_API_SECRET"] = fake.jumioClientSecret
            environment["KYC_PROVIDER_WORKFLOW"] = "10013"
            environment["KYC_PROVIDER_AUTH_URL"] = url
            environment["KYC_PROVIDER_RETRIEVAL_URL"] = url
        }
        return environment
    }

    @Test func aSignedSumsubReviewApprovesOnlyThisTenantsAccount() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            try await RouteHarness.with(environment: Self.environment("sumsub", fake, url, caFile)) { harness in
                let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
                let created = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json: #"{"accountName":"A","accountType":"hedge_fund","legalName":"Quiet Meadow Partners LLC"}"#)
                let id = try #require(Self.json(created)["id"] as? String)
                let submitted = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                #expect(Self.json(submitted)["kycStatus"] as? String == "in_review")
                let applicant = try #require(fake.recorded.withLock { $0.sumsubApplicants.first })
                #expect(applicant.value.contains(id), "the applicant's externalUserId is the account")
                // Submitting again while in review is refused before the provider is asked.
                let again = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                #expect(again.status.code == 409)
                #expect(fake.recorded.withLock { $0.sumsubApplicants.count } == 1)

                let body =
                    #"{"applicantId":"\#(applicant.key)","type":"applicantReviewed","reviewResult":{"reviewAnswer":"GREEN"}}"#
                func notify(_ body: String, digest: String?, host: String = "acme.localhost") async -> HTTPResponse {
                    var request = [("X-Payload-Digest-Alg", "HMAC_SHA256_HEX")]
                    if let digest { request.append(("X-Payload-Digest", digest)) }
                    var response = await harness.send(
                        .post, "/api/webhooks/kyc", host: host, headers: request, json: body)
                    response.headers.remove(name: "Date")
                    return response
                }
                // Unsigned or forged: 401 and nothing changes.
                #expect(await notify(body, digest: nil).status == .unauthorized)
                #expect(await notify(body, digest: String(repeating: "0", count: 64)).status == .unauthorized)
                // Another tenant's domain does not hold this applicant.
                let elsewhere = await notify(body, digest: fake.sumsubDigest(body), host: "zenith.localhost")
                #expect(elsewhere.status == .notFound)
                let account = await harness.send(.get, "/api/enterprise/accounts/\(id)", headers: owner)
                #expect(Self.json(account)["kycStatus"] as? String == "in_review")

                let approved = await notify(body, digest: fake.sumsubDigest(body))
                #expect(approved.status == .ok, "\(String(decoding: approved.body, as: UTF8.self))")
                #expect(Self.json(approved)["kycStatus"] as? String == "approved")
                // A repeated delivery changes nothing and still answers 200 (no retries).
                let repeated = await notify(body, digest: fake.sumsubDigest(body))
                #expect(repeated.status == .ok && Self.json(repeated)["kycStatus"] as? String == "approved")
                // The approval is in the audit trail under the provider's name, once.
                let trail = await harness.send(.get, "/api/enterprise/audit-trail?limit=500", headers: owner)
                let records = Self.json(trail)["records"] as? [[String: Any]] ?? []
                let approvals = records.filter { $0["action"] as? String == "kyc.approved" }
                #expect(approvals.count == 1)
                #expect(approvals.first?["actor"] as? String == "kyc-provider:sumsub")
            }
        }
    }

    @Test func aJumioCallbackIsCheckedWithJumioAndUsesTheTenantsDomain() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            try await RouteHarness.with(environment: Self.environment("jumio", fake, url, caFile)) { harness in
                let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
                let created = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json: #"{"accountName":"A","accountType":"bank","legalName":"Harbour Bank AG"}"#)
                let id = try #require(Self.json(created)["id"] as? String)
                _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                let execution = try #require(fake.recorded.withLock { $0.jumioExecutions.values.first })
                #expect(execution.callbackURL == "https://acme.localhost/api/webhooks/kyc")
                let callback =
                    #"{"workflowExecution":{"id":"\#(execution.execution)","status":"PROCESSED"},"account":{"id":"\#(execution.account)"}}"#
                // Jumio has not decided: the callback is acknowledged and ignored.
                let early = await harness.send(.post, "/api/webhooks/kyc", json: callback)
                #expect(early.status == .ok && Self.json(early)["ignored"] != nil)
                fake.setJumio(execution: execution.execution, status: "PROCESSED", decision: "REJECTED")
                let rejected = await harness.send(.post, "/api/webhooks/kyc", json: callback)
                #expect(Self.json(rejected)["kycStatus"] as? String == "rejected")
                // A rejected account can be submitted again: a new verification at Jumio.
                let resubmitted = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                #expect(Self.json(resubmitted)["kycStatus"] as? String == "in_review")
                #expect(fake.recorded.withLock { $0.jumioExecutions.count } == 2)
                // Jumio unreachable: the submission fails with 502 naming it, the account unchanged.
                fake.recorded.withLock { $0.failures = 1 }
                let other = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json: #"{"accountName":"B","accountType":"bank","legalName":"Second Bank"}"#)
                let otherID = try #require(Self.json(other)["id"] as? String)
                let failed = await harness.send(
                    .post, "/api/enterprise/accounts/\(otherID)/kyc/submit", headers: owner)
                #expect(failed.status.code == 502)
                #expect(String(decoding: failed.body, as: UTF8.self).contains("jumio answered 500"))
                let unchanged = await harness.send(.get, "/api/enterprise/accounts/\(otherID)", headers: owner)
                #expect(Self.json(unchanged)["kycStatus"] as? String == "pending")
            }
        }
    }

    @Test func theManualProviderTakesNoNotifications() async throws {
        try await RouteHarness.with { harness in
            let response = await harness.send(.post, "/api/webhooks/kyc", json: #"{"applicantId":"x"}"#)
            #expect(response.status == .notFound)
            #expect(String(decoding: response.body, as: UTF8.self).contains("INSTITUTIONAL_KYC_PROVIDER=manual"))
        }
    }
}
