import Foundation
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Regulatory reports across connected platforms", .serialized)
struct RegulatorySynchronisationTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// Form 13F and the CFTC large-trader report count what the manager holds at its prime broker
    /// (beyond the book's trades) and at its custodian beside the book, and say where each
    /// position is held; the 13F information table still validates against EDGAR's schema.
    @Test func reportsCountPositionsAtBrokersAndCustodiansWithTheirSource() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let checker = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme 13F","accountType":"asset_manager","legalName":"Acme Asset Management LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0001234567"}}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/compliance/form-13f", headers: owner,
                json: #"{"investmentDiscretion":"SOLE","votingAuthority":"sole"}"#)
            for body in [
                #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"19260Q107","issuerName":"COINBASE GLOBAL INC","titleOfClass":"COM CL A"}"#,
                #"{"symbol":"BTCF2609/USD","priceDecimals":0,"quantityDecimals":0,"cftcReportable":true,"reportableLevel":25,"derivative":{"contractType":"FUTR","assetClass":"COMM","cfi":"FCECSX","isin":"DE000C6EV128","notionalCurrency":"USD","maturity":"2026-09-25","multiplier":5}}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(Self.text(saved))")
            }
            for (symbol, quantity, price) in [("COIN/USD", 1000, "200"), ("BTCF2609/USD", 10, "61000")] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"\#(symbol)","side":"buy","quantity":\#(quantity),"price":\#(price),"executedAt":"2026-06-15T15:00:00Z"}"#
                )
                #expect(booked.status.code == 201, "\(Self.text(booked))")
            }
            for (symbol, price) in [("COIN/USD", "210"), ("BTCF2609/USD", "62000")] {
                _ = await harness.send(
                    .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                    json: #"{"symbol":"\#(symbol)","price":\#(price),"asOf":"2026-06-30T16:00:00Z"}"#)
            }
            // The prime broker reports 1,500 COIN and 20 futures the platform never traded.
            let session = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                        json:
                            #"{"name":"Prime A","accountId":"\#(id)","host":"127.0.0.1","port":9,"senderCompID":"S","targetCompID":"T","tls":false,"enabled":false}"#
                    ))["id"] as? String)
            // The custodian holds 200 COIN moved in before the quarter's end.
            let custody = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/tradfi/custody-accounts", headers: owner,
                        json:
                            #"{"accountId":"\#(id)","name":"Vault","custodian":"simulated","custodianAccount":"SIM-13F"}"#
                    ))["id"] as? String)
            let deposit = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/tradfi/custody-accounts/\(custody)/deposits", headers: owner,
                        json: #"{"asset":"COIN","quantity":200,"reference":"dtc-1"}"#))["id"] as? String)
            _ = await harness.send(
                .post, "/api/enterprise/tradfi/custody-accounts/\(custody)/deposits/\(deposit)/approve",
                headers: checker)
            try await harness.pool.execute(
                """
                INSERT INTO t_acme.tradfi_broker_positions
                    (session_id, report_id, symbol, quantity, business_date, message, received_at)
                VALUES (\(UUID(uuidString: session)!), 'R1', 'COIN/USD', 1500, '2026-06-30', 'x', '2026-06-30T20:00:00Z'),
                       (\(UUID(uuidString: session)!), 'R2', 'BTCF2609/USD', 20, '2026-06-30', 'x', '2026-06-30T20:00:00Z')
                """)
            try await harness.pool.execute(
                "UPDATE t_acme.tradfi_custody_movements SET updated_at = '2026-06-20T12:00:00Z'")

            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            func generate(_ type: String, _ period: String) async throws -> ([String: Any], String, String) {
                let requested = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                    json: #"{"type":"\#(type)","period":"\#(period)"}"#)
                let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
                #expect(try await worker.runOnce())
                let base = "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)"
                let report =
                    Self.json(await harness.send(.get, base, headers: owner))["report"] as? [String: Any] ?? [:]
                return (
                    report, Self.text(await harness.send(.get, base + "?format=document", headers: owner)),
                    Self.text(await harness.send(.get, base + "?format=csv", headers: owner))
                )
            }
            let (thirteenF, xml, _) = try await generate("form_13f", "2026-Q2")
            let summary = try #require(thirteenF["summary"] as? [String: String], "\(thirteenF)")
            // (1,000 in the book + 1,500 at the broker + 200 at the custodian) × 210.
            #expect(summary["totalValue"] == "567000", "\(summary)")
            #expect(xml.contains("<sshPrnamt>2700</sshPrnamt>"), "\(xml)")
            #expect(
                summary["positionSources"]
                    == "the book, and COIN/USD 1500 at broker:Prime A; COIN/USD 200 at custodian:simulated/SIM-13F")
            let (status, output) = try await XMLSchemas.validate(
                xml, schema: SharedData.path("regulatory") + "/sec_13f/validation/eis_13FDocument.xsd")
            #expect(status == 0, "xmllint: \(output)")

            let (_, json, csv) = try await generate("cftc_large_trader", "2026-06-30")
            #expect(
                csv
                    == "as_of,symbol,side,quantity,price,value,sources\n2026-06-30,BTCF2609/USD,long,30,62000,9300000.00,book=10;broker:Prime A=20\n",
                "\(csv)")
            #expect(json.contains(#""broker:Prime A" : "20""#), "\(json)")
        }
    }
}
