import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Institutional accounts over the API", .serialized)
struct InstitutionalRoutesTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func accountsHierarchyLimitsKYCAndMembers() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json: #"""
                    {"accountName":"Acme Hedge Fund","accountType":"hedge_fund","legalName":"Acme Hedge Fund LLC",
                     "jurisdiction":"US","totalAUM":1000000000.10,
                     "regulatoryIdentifiers":{"sec_number":"801-12345","cik":"0001234567","lei":"5493001KJTIIGC8Y1R12"}}
                    """#)
            #expect(created.status.code == 201, "\(Self.text(created))")
            let account = Self.json(created)
            let id = try #require(account["id"] as? String)
            #expect(account["totalAUM"] as? String == "1000000000.10", "AUM must stay exact")
            #expect(account["kycStatus"] as? String == "pending")

            // Bad input names the field and the rule; nothing is stored.
            for (body, needle) in [
                (#"{"accountName":"X","accountType":"hedgefund","legalName":"X"}"#, "field 'accountType'"),
                (
                    #"{"accountName":"X","accountType":"hedge_fund","legalName":"X","jurisdiction":"XX"}"#,
                    "field 'jurisdiction'"
                ),
                (#"{"accountName":"X","accountType":"hedge_fund","legalName":"X","totalAUM":-5}"#, "field 'totalAUM'"),
                (
                    #"{"accountName":"X","accountType":"hedge_fund","legalName":"X","totalAUM":1.001}"#,
                    "at most 2 decimals"
                ),
                (#"{"accountName":"X","accountType":"hedge_fund","legalName":"X","totalAUM":"abc"}"#, "totalAUM"),
                (
                    #"{"accountName":"X","accountType":"hedge_fund","legalName":"X","regulatoryIdentifiers":{"lei":"5493001KJTIIGC8Y1R13"}}"#,
                    "ISO 17442"
                ),
                (
                    #"{"accountName":"X","accountType":"hedge_fund","legalName":"X","regulatoryIdentifiers":{"cik":"123"}}"#,
                    "regulatoryIdentifiers.cik"
                ),
            ] {
                let answer = await harness.send(.post, "/api/enterprise/accounts", headers: owner, json: body)
                #expect(answer.status.code == 400, "\(body)")
                #expect(Self.text(answer).contains(needle), "\(Self.text(answer))")
            }
            let list = await harness.send(.get, "/api/enterprise/accounts", headers: owner)
            #expect((Self.json(list)["accounts"] as? [Any])?.count == 1)

            // A sub-account inherits its parent's limits and may not exceed them.
            let limits = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner,
                json:
                    #"{"maxOrderNotional":1000000,"dailyNotional":5000000,"positionLimits":{"ETH/USDC":500},"allowedInstruments":["ETH/USDC","BTC/USDC"]}"#
            )
            #expect(limits.status.code == 200, "\(Self.text(limits))")
            let child = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Sub","accountType":"hedge_fund","legalName":"Acme Sub LP","jurisdiction":"KY","parentId":"\#(id)"}"#
            )
            #expect(child.status.code == 201)
            let childID = try #require(Self.json(child)["id"] as? String)
            let tooWide = await harness.send(
                .put, "/api/enterprise/accounts/\(childID)/limits", headers: owner,
                json:
                    #"{"maxOrderNotional":2000000,"dailyNotional":100,"positionLimits":{"ETH/USDC":1},"allowedInstruments":["ETH/USDC"]}"#
            )
            #expect(tooWide.status.code == 400)
            #expect(Self.text(tooWide).contains("exceeds the parent account's 1000000"))
            let lowerParent = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner, json: #"{"maxOrderNotional":10}"#)
            #expect(lowerParent.status.code == 400)
            #expect(Self.text(lowerParent).contains("sub-account"))

            // KYC moves along its edges only.
            let skip = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: owner,
                json: #"{"status":"approved","reason":"looks fine"}"#)
            #expect(skip.status.code == 409)
            #expect(Self.text(skip).contains("cannot go from pending to approved"))
            #expect(
                await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner).status.code
                    == 200)
            // Four eyes: whoever submitted cannot approve; a second person can.
            let selfApproved = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: owner,
                json: #"{"status":"approved","reason":"documents verified"}"#)
            #expect(selfApproved.status.code == 403)
            #expect(Self.text(selfApproved).contains("four eyes"), "\(Self.text(selfApproved))")
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            let approved = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
                json: #"{"status":"approved","reason":"documents verified"}"#)
            #expect(Self.json(approved)["kycStatus"] as? String == "approved", "\(Self.text(approved))")
            #expect(Self.json(approved)["kycReviewDue"] != nil)
            let owner1 = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/beneficial-owners", headers: owner,
                json: #"{"name":"Jane Founder","nationality":"US","ownershipPercent":60}"#)
            #expect(owner1.status.code == 201)
            let tooMuch = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/beneficial-owners", headers: owner,
                json: #"{"name":"John Partner","nationality":"GB","ownershipPercent":50}"#)
            #expect(tooMuch.status.code == 400 && Self.text(tooMuch).contains("more than 100"))

            // KYC documents as metadata.
            let document = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/documents", headers: owner,
                json:
                    #"{"kind":"certificate_of_incorporation","reference":"dms://acme/coi.pdf","issuedOn":"2019-05-01"}"#
            )
            #expect(document.status.code == 201)
            let badDocument = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/documents", headers: owner,
                json: #"{"kind":"passport","reference":"x","expiresOn":"soon"}"#)
            #expect(badDocument.status.code == 400)
            let documents = await harness.send(.get, "/api/enterprise/accounts/\(id)/kyc/documents", headers: owner)
            #expect(Self.text(documents).contains("dms://acme/coi.pdf"))

            // Team members: added, listed, re-roled and removed; their e-mail is stored encrypted.
            let member = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/members", headers: owner,
                json: #"{"email":"Trader@Acme.example","name":"Tom Trader","role":"trader"}"#)
            #expect(member.status.code == 201, "\(Self.text(member))")
            let memberID = try #require(Self.json(member)["id"] as? String)
            let again = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/members", headers: owner,
                json: #"{"email":"trader@acme.example","role":"analyst"}"#)
            #expect(again.status.code == 409)
            let badRole = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/members", headers: owner,
                json: #"{"email":"x@acme.example","role":"pilot"}"#)
            #expect(badRole.status.code == 400)
            let rerole = await harness.send(
                .patch, "/api/enterprise/accounts/\(id)/members/\(memberID)", headers: owner,
                json: #"{"role":"analyst"}"#)
            #expect(Self.json(rerole)["role"] as? String == "analyst")
            let members = await harness.send(.get, "/api/enterprise/accounts/\(id)/members", headers: owner)
            #expect(Self.text(members).contains("trader@acme.example"))
            let stored = try await harness.pool.query(
                "SELECT email_encrypted::text AS e FROM t_acme.institutional_team_members")
            #expect(!(try stored.first!.decode("e", as: String.self)).contains(Hex.encode(Array("trader".utf8))))
            #expect(
                await harness.send(.delete, "/api/enterprise/accounts/\(id)/members/\(memberID)", headers: owner).status
                    .code == 204)

            // The account's trail has every change, in order.
            let trail = await harness.send(.get, "/api/enterprise/accounts/\(id)/audit-trail", headers: owner)
            let actions = ((Self.json(trail)["records"] as? [[String: Any]]) ?? []).compactMap {
                $0["action"] as? String
            }
            #expect(
                actions == [
                    "account.created", "account.limits_set", "kyc.in_review", "kyc.approved",
                    "kyc.beneficial_owner_added", "kyc.document_received", "member.added", "member.role_changed",
                    "member.removed",
                ])
            // Another tenant's account id is simply not found.
            let zenith = try await TenantRegistry().tenant(try TenantSlug("zenith"), from: harness.pool)
            let zenithKey = try await harness.apiKey(roles: ["owner"], tenant: zenith)
            let foreign = await harness.send(
                .get, "/api/enterprise/accounts/\(id)", host: "zenith.localhost",
                headers: [("Authorization", "Bearer " + zenithKey)])
            #expect(foreign.status.code == 404)
        }
    }

    @Test func aDisabledFeatureHidesItsRoutes() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            #expect(await harness.send(.get, "/api/enterprise/accounts", headers: owner).status.code == 200)
            try await harness.pool.execute(
                "UPDATE platform.tenant_features SET enabled = false WHERE tenant_id = \(harness.tenant.id) AND feature = 'institutional'"
            )
            try await Task.sleep(for: .milliseconds(1100))
            #expect(await harness.send(.get, "/api/enterprise/accounts", headers: owner).status.code == 404)
            #expect(await harness.send(.get, "/api/enterprise/auth/me", headers: owner).status.code == 200)
        }
    }
}
