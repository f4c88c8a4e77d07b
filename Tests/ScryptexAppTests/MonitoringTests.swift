import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("AML monitoring, alerts and compliance status", .serialized)
struct MonitoringTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func kinds(_ response: HTTPResponse) -> [String] {
        (json(response)["alerts"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
    }

    @Test func transfersAndTradesRaiseAlertsThatFollowTheCaseWorkflow() async throws {
        try await RouteHarness.with { harness in
            try await SharedSanctions.loadSDN(into: harness)
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme","accountType":"hedge_fund","legalName":"Acme LLC","jurisdiction":"US","totalAUM":1000000}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            func transfer(_ fields: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/transfers", headers: owner, json: "{\(fields)}")
            }
            // Structuring: the third deposit just below USD 10,000 within a day.
            #expect(
                Self.kinds(await transfer(#""direction":"deposit","asset":"USD","amount":9500,"usdValue":9500"#))
                    .isEmpty)
            #expect(
                Self.kinds(await transfer(#""direction":"deposit","asset":"USD","amount":9800,"usdValue":9800"#))
                    .isEmpty)
            #expect(
                Self.kinds(await transfer(#""direction":"deposit","asset":"USD","amount":9900,"usdValue":9900"#)) == [
                    "structuring"
                ])
            // Rapid in-and-out.
            #expect(
                Self.kinds(await transfer(#""direction":"withdrawal","asset":"USD","amount":9000,"usdValue":9000"#))
                    .contains("rapid_in_out"))
            // High-risk jurisdiction and a sanctioned wallet.
            #expect(
                Self.kinds(
                    await transfer(
                        #""direction":"deposit","asset":"BTC","amount":0.5,"usdValue":30000,"counterpartyCountry":"KP""#
                    )
                ).contains("high_risk_jurisdiction"))
            #expect(
                Self.kinds(
                    await transfer(
                        #""direction":"deposit","asset":"BTC","amount":0.1,"usdValue":6000,"walletAddress":"12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h""#
                    )
                ).contains("sanctioned_address"))
            // Bad input names the field.
            let bad = await transfer(#""direction":"sideways","asset":"USD","amount":1,"usdValue":1"#)
            #expect(bad.status.code == 400 && String(decoding: bad.body, as: UTF8.self).contains("field 'direction'"))
            let negative = await transfer(#""direction":"deposit","asset":"USD","amount":-1,"usdValue":1"#)
            #expect(negative.status.code == 400)

            // Real-time monitoring: a booked trade beyond the position limit, and a concentration.
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner,
                json: #"{"positionLimits":{"ETH/USDC":100}}"#)
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"buy","quantity":150,"price":2500}"#)
            // The account's KYC was never approved: the booking is kept, and critical.
            #expect(Self.kinds(booked) == ["booking_against_controls", "position_limit_breach", "concentration"])
            #expect(
                String(decoding: booked.body, as: UTF8.self).contains("booked although the account's KYC is pending"))

            // The case workflow.
            let open = await harness.send(.get, "/api/enterprise/compliance/alerts?status=open", headers: owner)
            let alerts = Self.json(open)["alerts"] as? [[String: Any]] ?? []
            #expect(alerts.count >= 6)
            let alertID = try #require(alerts.first?["id"] as? String)
            let escalateEarly = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/escalate", headers: owner)
            #expect(escalateEarly.status.code == 400)
            let assigned = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/assign", headers: owner,
                json: #"{"assignee":"mlro@acme.example"}"#)
            #expect(Self.json(assigned)["status"] as? String == "assigned")
            let escalated = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/escalate", headers: owner)
            #expect(Self.json(escalated)["status"] as? String == "escalated")
            let closeWithoutReason = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/close", headers: owner)
            #expect(closeWithoutReason.status.code == 400)
            let closed = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/close", headers: owner,
                json: #"{"reason":"SAR filed, reference 2026-118"}"#)
            #expect(Self.json(closed)["status"] as? String == "closed")
            let reopen = await harness.send(
                .post, "/api/enterprise/compliance/alerts/\(alertID)/assign", headers: owner, json: #"{"assignee":"x"}"#
            )
            #expect(reopen.status.code == 400)

            // The status adds it up with its documented formula.
            let status = Self.json(
                await harness.send(.get, "/api/enterprise/accounts/\(id)/compliance/status", headers: owner))
            #expect((status["formula"] as? String)?.hasPrefix("100, minus 20 if KYC is not approved") == true)
            #expect(status["kycStatus"] as? String == "pending")
            let openAlerts = try #require(status["openAlerts"] as? Int)
            let high = try #require(status["openHighSeverityAlerts"] as? Int)
            #expect(status["score"] as? Int == max(0, 100 - 20 - high * 10 - (openAlerts - high) * 5))
        }
    }

    @Test func monitoringCanBeSwitchedOff() async throws {
        try await RouteHarness.with(environment: ["COMPLIANCE_MONITORING": "disabled"]) { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json: #"{"accountName":"Acme","accountType":"hedge_fund","legalName":"Acme LLC","jurisdiction":"US"}"#)
            let id = try #require(Self.json(created)["id"] as? String)
            let answer = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/transfers", headers: owner,
                json: #"{"direction":"deposit","asset":"USD","amount":1,"usdValue":1,"counterpartyCountry":"KP"}"#)
            #expect(answer.status.code == 201)
            #expect(Self.kinds(answer).isEmpty)
        }
    }

    @Test func bestExecutionShowsSlippageByVenueAndInstrument() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json: #"{"accountName":"Acme","accountType":"hedge_fund","legalName":"Acme LLC","jurisdiction":"US"}"#)
            let id = try #require(Self.json(created)["id"] as? String)
            // Venues are market identifier codes the tenant knows: a crypto venue is registered,
            // a name that is not a MIC is refused.
            let registered = await harness.send(
                .post, "/api/enterprise/compliance/venues", headers: owner,
                json: #"{"mic":"VENA","name":"Venue A","country":"US"}"#)
            #expect(registered.status.code == 204)
            let notAMIC = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"buy","quantity":2,"price":2500,"venue":"Venue A"}"#
            )
            #expect(
                notAMIC.status.code == 400
                    && String(decoding: notAMIC.body, as: UTF8.self).contains("market identifier code"))
            for (side, price, venue) in [
                ("buy", "2510", "VENA"), ("sell", "2490", "vena"), ("buy", "2480", "XNAS"),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"\#(side)","quantity":2,"price":\#(price),"arrivalPrice":2500,"venue":"\#(venue)"}"#
                )
                #expect(booked.status.code == 201)
            }
            let report = Self.json(
                await harness.send(.get, "/api/enterprise/accounts/\(id)/compliance/best-execution", headers: owner))
            let lines = report["lines"] as? [[String: Any]] ?? []
            #expect(lines.count == 2)
            let a = try #require(lines.first { $0["venue"] as? String == "VENA" })
            #expect(a["executions"] as? Int == 2)
            #expect(a["averageSlippageBasisPoints"] as? Double == 40)
            #expect(a["notional"] as? String == "10000")
            let b = try #require(lines.first { $0["venue"] as? String == "XNAS" })
            #expect(b["worstSlippageBasisPoints"] as? Double == -80)
            #expect(b["beyondThreshold"] as? Int == 0)
            let bad = await harness.send(
                .get, "/api/enterprise/accounts/\(id)/compliance/best-execution?from=yesterday", headers: owner)
            #expect(bad.status.code == 400)
        }
    }
}
