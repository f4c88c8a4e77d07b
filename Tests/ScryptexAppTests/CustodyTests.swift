import Foundation
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import ScryptexTradFi
import Testing

@testable import ScryptexApp

@Suite("Custody", .serialized)
struct CustodyTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static let base = "/api/enterprise/tradfi/"
    static let sanctionedAddress = "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"

    /// The cooling-off of every address of the tenant ends now (as a day passing would).
    static func coolingOffPasses(_ harness: RouteHarness) async throws {
        try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
            try await $0.execute("UPDATE tradfi_withdrawal_addresses SET usable_from = now() - interval '1 second'")
        }
    }

    /// Deposits and withdrawals need a second person; a withdrawal goes only to an allow-listed
    /// address past its cooling-off, within what is available, and completes at the custodian;
    /// one called back releases its funds; every bad field is named.
    @Test func movementsNeedASecondPersonAndWithdrawalsAnAddressPastItsCoolingOff() async throws {
        try await RouteHarness.with { harness in
            let (maker, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let checker = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let trader = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["trader"])))]
            let definition =
                #"{"accountId":"\#(account)","name":"Cold storage","custodian":"simulated","custodianAccount":"SIM-001"}"#
            #expect(
                await harness.send(.post, Self.base + "custody-accounts", headers: trader, json: definition).status
                    == .forbidden)
            let opened = await harness.send(.post, Self.base + "custody-accounts", headers: maker, json: definition)
            #expect(opened.status == .created, "\(Self.text(opened))")
            let custody = try #require(Self.json(opened)["id"] as? String)
            for (json, status, message) in [
                (definition, 409, "exists"),
                (definition.replacingOccurrences(of: "simulated", with: "acme-bank"), 400, "field 'custodian'"),
                (definition.replacingOccurrences(of: "Cold storage", with: ""), 400, "field 'name'"),
                (definition.replacingOccurrences(of: #""name""#, with: #""nom""#), 400, "field 'nom'"),
            ] {
                let answer = await harness.send(.post, Self.base + "custody-accounts", headers: maker, json: json)
                #expect(answer.status.code == status && Self.text(answer).contains(message), "\(Self.text(answer))")
            }

            // A deposit: announced by one person, credited when a second approves.
            let deposits = Self.base + "custody-accounts/\(custody)/deposits"
            let deposit = #"{"asset":"BTC","quantity":"10","reference":"tx-0001"}"#
            let announced = await harness.send(.post, deposits, headers: maker, json: deposit)
            #expect(announced.status == .created, "\(Self.text(announced))")
            let depositID = try #require(Self.json(announced)["id"] as? String)
            let again = await harness.send(.post, deposits, headers: maker, json: deposit)
            #expect(again.status == .ok && Self.json(again)["id"] as? String == depositID)
            #expect(
                await harness.send(
                    .post, deposits, headers: maker, json: #"{"asset":"BTC","quantity":"11","reference":"tx-0001"}"#
                ).status == .conflict)
            for (json, message) in [
                (#"{"asset":"btc","quantity":1,"reference":"r"}"#, "field 'asset'"),
                (#"{"asset":"BTC","quantity":0,"reference":"r"}"#, "field 'quantity'"),
                (#"{"asset":"BTC","quantity":1}"#, "reference"),
            ] {
                let answer = await harness.send(.post, deposits, headers: maker, json: json)
                #expect(answer.status == .badRequest && Self.text(answer).contains(message), "\(Self.text(answer))")
            }
            let selfApproved = await harness.send(.post, deposits + "/\(depositID)/approve", headers: maker)
            #expect(selfApproved.status == .forbidden && Self.text(selfApproved).contains("second person"))
            let credited = await harness.send(.post, deposits + "/\(depositID)/approve", headers: checker)
            #expect(Self.json(credited)["status"] as? String == "completed", "\(Self.text(credited))")
            #expect(
                await harness.send(.post, deposits + "/\(depositID)/approve", headers: checker).status == .conflict)

            // An address joins the allow-list and cools off before a withdrawal may use it.
            let added = await harness.send(
                .post, Self.base + "custody-accounts/\(custody)/addresses", headers: maker,
                json: #"{"asset":"BTC","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","label":"Treasury"}"#)
            #expect(added.status == .created, "\(Self.text(added))")
            let address = try #require(Self.json(added)["id"] as? String)
            let withdrawal =
                #"{"custodyAccountId":"\#(custody)","addressId":"\#(address)","quantity":"4","reference":"w-1"}"#
            let cooling = await harness.send(.post, Self.base + "withdrawals", headers: maker, json: withdrawal)
            #expect(cooling.status == .conflict && Self.text(cooling).contains("cooling off until"))
            try await Self.coolingOffPasses(harness)

            let asked = await harness.send(.post, Self.base + "withdrawals", headers: maker, json: withdrawal)
            #expect(asked.status == .created, "\(Self.text(asked))")
            let withdrawalID = try #require(Self.json(asked)["id"] as? String)
            func balance() async -> [String: Any] {
                let shown = Self.json(
                    await harness.send(.get, Self.base + "custody-accounts/\(custody)", headers: trader))
                return (shown["balances"] as? [[String: Any]])?.first { $0["asset"] as? String == "BTC" } ?? [:]
            }
            var btc = await balance()
            #expect(btc["available"] as? String == "6" && btc["reserved"] as? String == "4", "\(btc)")
            let tooMuch = await harness.send(
                .post, Self.base + "withdrawals", headers: maker,
                json: withdrawal.replacingOccurrences(of: #""4""#, with: #""7""#).replacingOccurrences(
                    of: "w-1", with: "w-2"))
            #expect(tooMuch.status == .conflict && Self.text(tooMuch).contains("7 BTC asked for, 6 available"))
            #expect(
                await harness.send(.post, Self.base + "withdrawals/\(withdrawalID)/approve", headers: maker).status
                    == .forbidden)
            // Approving through a deposit's path is not approving a withdrawal.
            #expect(
                await harness.send(.post, deposits + "/\(withdrawalID)/approve", headers: checker).status == .notFound)
            let sent = await harness.send(.post, Self.base + "withdrawals/\(withdrawalID)/approve", headers: checker)
            let completed = Self.json(sent)
            #expect(completed["status"] as? String == "completed", "\(Self.text(sent))")
            #expect((completed["custodianReference"] as? String)?.hasPrefix("SIM-") == true)
            btc = await balance()
            #expect(btc["available"] as? String == "6" && btc["reserved"] as? String == "0", "\(btc)")

            // Called back by who asked: the funds return.
            let second = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.base + "withdrawals", headers: maker,
                        json: withdrawal.replacingOccurrences(of: "w-1", with: "w-3")))["id"] as? String)
            let calledBack = await harness.send(
                .post, Self.base + "withdrawals/\(second)/reject", headers: maker, json: #"{"reason":"wrong amount"}"#)
            #expect(Self.json(calledBack)["status"] as? String == "rejected", "\(Self.text(calledBack))")
            #expect(await balance()["available"] as? String == "6")
            let listed = Self.json(
                await harness.send(.get, Self.base + "withdrawals?status=completed", headers: trader))
            #expect((listed["withdrawals"] as? [[String: Any]])?.map { $0["id"] as? String } == [withdrawalID])

            // A removed address takes no more withdrawals.
            #expect(
                await harness.send(
                    .delete, Self.base + "custody-accounts/\(custody)/addresses/\(address)", headers: maker
                ).status == .noContent)
            let removed = await harness.send(
                .post, Self.base + "withdrawals", headers: maker,
                json: withdrawal.replacingOccurrences(of: "w-1", with: "w-4"))
            #expect(removed.status == .badRequest && Self.text(removed).contains("removed"), "\(Self.text(removed))")
        }
    }

    /// An address on a sanctions list is refused when added, and a withdrawal to an address
    /// listed after it was added is refused when approved (the funds return); each raises a
    /// critical alert.
    @Test func sanctionedAddressesAreRefusedWhenAddedAndWhenAWithdrawalIsApproved() async throws {
        try await RouteHarness.with { harness in
            let (maker, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let checker = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let custody = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.base + "custody-accounts", headers: maker,
                        json:
                            #"{"accountId":"\#(account)","name":"Hot","custodian":"simulated","custodianAccount":"SIM-002"}"#
                    ))["id"] as? String)
            let deposits = Self.base + "custody-accounts/\(custody)/deposits"
            let deposit = try #require(
                Self.json(
                    await harness.send(
                        .post, deposits, headers: maker, json: #"{"asset":"BTC","quantity":"5","reference":"tx-9"}"#)
                )["id"] as? String)
            _ = await harness.send(.post, deposits + "/\(deposit)/approve", headers: checker)
            // Added before the lists were loaded, so nothing matched then.
            let addresses = Self.base + "custody-accounts/\(custody)/addresses"
            let early = await harness.send(
                .post, addresses, headers: maker,
                json: #"{"asset":"BTC","address":"\#(Self.sanctionedAddress)","label":"Counterparty"}"#)
            let address = try #require(Self.json(early)["id"] as? String, "\(Self.text(early))")
            try await Self.coolingOffPasses(harness)
            let asked = await harness.send(
                .post, Self.base + "withdrawals", headers: maker,
                json: #"{"custodyAccountId":"\#(custody)","addressId":"\#(address)","quantity":2,"reference":"w-9"}"#)
            let withdrawal = try #require(Self.json(asked)["id"] as? String, "\(Self.text(asked))")

            try await SharedSanctions.loadSDN(into: harness)
            let approved = await harness.send(.post, Self.base + "withdrawals/\(withdrawal)/approve", headers: checker)
            #expect(approved.status == .unprocessableContent, "\(Self.text(approved))")
            #expect(Self.text(approved).contains("refused when its withdrawal was approved"))
            let shown = Self.json(await harness.send(.get, Self.base + "withdrawals/\(withdrawal)", headers: maker))
            #expect(shown["status"] as? String == "rejected", "\(shown)")
            let held = Self.json(await harness.send(.get, Self.base + "custody-accounts/\(custody)", headers: maker))
            #expect((held["balances"] as? [[String: Any]])?.first?["available"] as? String == "5", "\(held)")

            let again = await harness.send(
                .post, Self.base + "withdrawals", headers: maker,
                json: #"{"custodyAccountId":"\#(custody)","addressId":"\#(address)","quantity":1,"reference":"w-10"}"#)
            #expect(again.status == .unprocessableContent && Self.text(again).contains("asked for"))
            let refused = await harness.send(
                .post, addresses, headers: maker,
                json: #"{"asset":"ETH","address":"\#(Self.sanctionedAddress)","label":"Other"}"#)
            #expect(
                refused.status == .unprocessableContent && Self.text(refused).contains("SDN"), "\(Self.text(refused))")
            let alerts = Self.text(
                await harness.send(
                    .get, "/api/enterprise/compliance/alerts?kind=sanctioned_withdrawal_address", headers: maker))
            #expect(alerts.components(separatedBy: "sanctioned_withdrawal_address").count - 1 >= 3, "\(alerts)")
        }
    }
}
