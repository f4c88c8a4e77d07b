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

@Suite("Regulatory reports", .serialized)
struct RegulatoryReportTests {
    static let schemas = SharedData.path("regulatory")

    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// Runs `xmllint --schema` and returns its exit status and output.
    static func validate(_ xml: String, schema: String) async throws -> (Int32?, String) {
        let path = "/tmp/scryptex-report-\(UInt64.random(in: 0...UInt64.max)).xml"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = try ChildProcess("/usr/bin/xmllint", ["--noout", "--schema", schema, path])
        let status = await process.waitForExit(timeout: .seconds(30))
        return (status, process.output)
    }

    @Test func form13FIsGeneratedByAJobAndValidatesAgainstTheEDGARSchema() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme 13F","accountType":"asset_manager","legalName":"Acme Asset Management LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0001234567"}}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            for body in [
                #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"19260Q107","issuerName":"COINBASE GLOBAL INC","titleOfClass":"COM CL A"}"#,
                #"{"symbol":"MSTR/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594972408","issuerName":"MICROSTRATEGY INC & CO","titleOfClass":"CL A NEW"}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(String(decoding: saved.body, as: UTF8.self))")
            }
            let missingCUSIP = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json: #"{"symbol":"GBTC/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true}"#)
            #expect(missingCUSIP.status.code == 400)
            let badCheckDigit = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json:
                    #"{"symbol":"GBTC/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"389375107","issuerName":"GRAYSCALE BITCOIN TRUST","titleOfClass":"SHS"}"#
            )
            #expect(badCheckDigit.status.code == 400)
            #expect(String(decoding: badCheckDigit.body, as: UTF8.self).contains("check digit"))
            let badName = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json:
                    #"{"symbol":"GBTC/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"389375106","issuerName":"GRAYSCALE <BTC>","titleOfClass":"SHS"}"#
            )
            #expect(badName.status.code == 400)
            #expect(String(decoding: badName.body, as: UTF8.self).contains("EDGAR allows only"))
            for (symbol, side, quantity, price) in [
                ("COIN/USD", "buy", 300_000, "180.50"), ("COIN/USD", "sell", 50_000, "201.25"),
                ("MSTR/USD", "buy", 100_000, "1234.57"), ("ETH/USDC", "buy", 10, "2500"),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"\#(symbol)","side":"\#(side)","quantity":\#(quantity),"price":\#(price)}"#
                )
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
            }
            // The trades were made in the second quarter of 2026.
            try await harness.pool.execute("UPDATE t_acme.trades SET executed_at = '2026-06-15T15:00:00Z'")

            let future = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"form_13f","period":"2099-Q1"}"#)
            #expect(future.status.code == 400)
            #expect(String(decoding: future.body, as: UTF8.self).contains("has not ended yet"))
            let unknown = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"form_99","period":"2026-Q2"}"#)
            #expect(unknown.status.code == 400)
            #expect(String(decoding: unknown.body, as: UTF8.self).contains("supported: form_13f"))

            let requested = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"form_13f","period":"2026-Q2"}"#)
            #expect(requested.status.code == 202, "\(String(decoding: requested.body, as: UTF8.self))")
            let report = try #require(Self.json(requested)["report"] as? [String: Any])
            let reportID = try #require(report["id"] as? String)
            #expect(report["status"] as? String == "queued")
            #expect(report["dueDate"] as? String == "2026-08-14")

            // A worker runs the job as the tenant.
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            #expect(try await worker.runOnce())
            let jobID = try #require(Self.json(requested)["jobId"] as? String)
            let job = await harness.send(.get, "/api/enterprise/jobs/\(jobID)", headers: owner)
            #expect(Self.json(job)["status"] as? String == "succeeded")

            let done = await harness.send(
                .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)", headers: owner)
            let finished = try #require(Self.json(done)["report"] as? [String: Any])
            #expect(finished["status"] as? String == "completed")
            let summary = try #require(finished["summary"] as? [String: String])
            // 250,000 × 201.25 + 100,000 × 1234.57 = 50,312,500 + 123,457,000.
            #expect(summary["totalValue"] == "173769500")
            #expect(summary["thresholdMet"] == "true")
            let document = await harness.send(
                .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)?format=document", headers: owner)
            #expect(document.headers.first("Content-Type") == "application/xml")
            let xml = String(decoding: document.body, as: UTF8.self)
            #expect(xml.contains("<cusip>19260Q107</cusip>") && xml.contains("<value>50312500</value>"))
            #expect(xml.contains("MICROSTRATEGY INC &amp; CO"))
            #expect(!xml.contains("ETH"), "only 13(f) securities are reported")
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/sec_13f/validation/eis_13FDocument.xsd")
            #expect(status == 0, "xmllint: \(output)")
            #expect(output.contains("validates"))

            let list = await harness.send(.get, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner)
            #expect((Self.json(list)["reports"] as? [Any])?.count == 1)
        }
    }

    /// Requests a report, runs its job and returns the finished report and its document.
    static func generate(
        _ type: String, period: String, account: String, harness: RouteHarness, headers: [(String, String)]
    ) async throws -> (summary: [String: String], document: String) {
        let requested = await harness.send(
            .post, "/api/enterprise/accounts/\(account)/compliance/reports", headers: headers,
            json: #"{"type":"\#(type)","period":"\#(period)"}"#)
        #expect(requested.status.code == 202, "\(String(decoding: requested.body, as: UTF8.self))")
        let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
        let worker = TenantJobWorker(
            pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
            logger: TestDatabase.logger)
        #expect(try await worker.runOnce())
        let done = await harness.send(
            .get, "/api/enterprise/accounts/\(account)/compliance/reports/\(reportID)", headers: headers)
        let report = try #require(Self.json(done)["report"] as? [String: Any])
        #expect(report["status"] as? String == "completed", "\(report)")
        let document = await harness.send(
            .get, "/api/enterprise/accounts/\(account)/compliance/reports/\(reportID)?format=document",
            headers: headers)
        return (report["summary"] as? [String: String] ?? [:], String(decoding: document.body, as: UTF8.self))
    }

    /// Issue 17: a busted print (999.99) valued MSFT at $4,999,950 instead of $2,000,000; and
    /// every trade was stamped "now", whatever its execution time.
    @Test func holdingsAreValuedAtTheQuarterEndPriceNeverAtABustedPrint() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Equity","accountType":"asset_manager","legalName":"Acme Equity LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0007654321"}}"#
            )
            let account = try #require(Self.json(created)["id"] as? String)
            let instrument = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json:
                    #"{"symbol":"MSFT/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM"}"#
            )
            #expect(instrument.status.code == 204)
            func book(_ quantity: Int, at price: String, executedAt: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(account)","symbol":"MSFT/USD","side":"buy","quantity":\#(quantity),"price":\#(price),"executedAt":"\#(executedAt)"}"#
                )
            }
            let real = await book(5_000, at: "400", executedAt: "2026-06-10T14:30:00.123456Z")
            #expect(real.status.code == 201, "\(String(decoding: real.body, as: UTF8.self))")
            let bust = await book(1, at: "999.99", executedAt: "2026-06-20T10:00:00Z")
            let bustID = try #require(Self.json(bust)["id"] as? String)
            let cancelled = await harness.send(
                .post, "/api/enterprise/trades/\(bustID)/cancel", headers: owner, json: #"{"reason":"erroneous print"}"#
            )
            #expect(cancelled.status.code == 204)
            // The execution time is kept to the microsecond; one in the future is refused.
            let stamped = try await harness.pool.query(
                """
                SELECT to_char(executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at
                FROM t_acme.trades WHERE price = 400
                """
            ).firstRow.decode("at", as: String.self)
            #expect(stamped == "2026-06-10T14:30:00.123456")
            let future = await book(1, at: "400", executedAt: "2099-01-01T00:00:00Z")
            #expect(future.status.code == 400)
            #expect(String(decoding: future.body, as: UTF8.self).contains("executedAt"))

            // A quarter with no holdings has nothing to file: the report says so, with no document.
            let (emptySummary, emptyDocument) = try await Self.generate(
                "form_13f", period: "2026-Q1", account: account, harness: harness, headers: owner)
            #expect(emptySummary["holdings"] == "0")
            #expect(emptySummary["noDocument"]?.contains("no information table to file") == true)
            #expect(emptyDocument.contains("no 13(f) securities were held at the end of 2026-Q1"))

            // No reference price for the quarter's end: the last trade that stands, never the bust.
            let expected = Decimal(5_000) * Decimal(400)
            var (summary, xml) = try await Self.generate(
                "form_13f", period: "2026-Q2", account: account, harness: harness, headers: owner)
            #expect(summary["totalValue"] == "\(expected)")
            #expect(xml.contains("<value>2000000</value>") && !xml.contains("4999950"))

            // With a closing price for the quarter's last day, that price; one after the quarter
            // changes nothing, and one in the future is refused.
            for (price, asOf, status) in [
                ("410", "2026-06-30T20:00:00Z", 204), ("500", "2026-07-05T20:00:00Z", 204),
                ("600", "2099-07-05T20:00:00Z", 400),
            ] {
                let set = await harness.send(
                    .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                    json: #"{"symbol":"MSFT/USD","price":\#(price),"asOf":"\#(asOf)"}"#)
                #expect(set.status.code == status, "\(String(decoding: set.body, as: UTF8.self))")
            }
            (summary, xml) = try await Self.generate(
                "form_13f", period: "2026-Q2", account: account, harness: harness, headers: owner)
            #expect(summary["totalValue"] == "\(Decimal(5_000) * Decimal(410))")
            #expect(xml.contains("<value>2050000</value>"))
            // The same manager (CIK) holds MSFT through a second account, bought in EUR: one line per
            // CUSIP, the EUR value converted at the quarter end's rate.
            let second = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Equity EU","accountType":"asset_manager","legalName":"Acme Equity LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0007654321"}}"#
            )
            let secondAccount = try #require(Self.json(second)["id"] as? String)
            let euro = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json:
                    #"{"symbol":"MSFT/EUR","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM"}"#
            )
            #expect(euro.status.code == 204)
            let bookedInEuro = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(secondAccount)","symbol":"MSFT/EUR","side":"buy","quantity":1000,"price":380,"executedAt":"2026-06-11T09:00:00Z"}"#
            )
            #expect(bookedInEuro.status.code == 201)
            // No EUR rate yet: the report fails, saying which currency lacks one.
            let failing = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/compliance/reports", headers: owner,
                json: #"{"type":"form_13f","period":"2026-Q2"}"#)
            let failingID = try #require((Self.json(failing)["report"] as? [String: Any])?["id"] as? String)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            _ = try await worker.runOnce()
            let failed = await harness.send(
                .get, "/api/enterprise/accounts/\(account)/compliance/reports/\(failingID)", headers: owner)
            #expect(String(decoding: failed.body, as: UTF8.self).contains("priced in EUR, which has no USD rate"))
            for (rate, asOf) in [("1.08", "2026-06-30T16:00:00Z"), ("1.50", "2026-07-02T16:00:00Z")] {
                let set = await harness.send(
                    .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                    json: #"{"currency":"EUR","usdPerUnit":\#(rate),"asOf":"\#(asOf)"}"#)
                #expect(set.status.code == 204)
            }
            (summary, xml) = try await Self.generate(
                "form_13f", period: "2026-Q2", account: account, harness: harness, headers: owner)
            // 5,000 × 410 + 1,000 × 380 × 1.08 = 2,050,000 + 410,400, on one MSFT line of 6,000 shares.
            let combined = Decimal(5_000) * Decimal(410) + Decimal(1_000) * Decimal(380) * Decimal(string: "1.08")!
            #expect(summary["totalValue"] == "\(combined)")
            #expect(summary["managerAccounts"] == "2" && summary["cik"] == "0007654321")
            #expect(xml.components(separatedBy: "<infoTable>").count - 1 == 1)
            #expect(xml.contains("<value>2460400</value>") && xml.contains("<sshPrnamt>6000</sshPrnamt>"), "\(xml)")
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/sec_13f/validation/eis_13FDocument.xsd")
            #expect(status == 0, "xmllint: \(output)")

            // A manager without a CIK cannot file.
            let noCIK = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"No CIK","accountType":"asset_manager","legalName":"No CIK LLC","jurisdiction":"US"}"#
            )
            let noCIKAccount = try #require(Self.json(noCIK)["id"] as? String)
            let refused = await harness.send(
                .post, "/api/enterprise/accounts/\(noCIKAccount)/compliance/reports", headers: owner,
                json: #"{"type":"form_13f","period":"2026-Q2"}"#)
            let refusedID = try #require((Self.json(refused)["report"] as? [String: Any])?["id"] as? String)
            _ = try await worker.runOnce()
            let noFiling = await harness.send(
                .get, "/api/enterprise/accounts/\(noCIKAccount)/compliance/reports/\(refusedID)", headers: owner)
            #expect(String(decoding: noFiling.body, as: UTF8.self).contains("regulatoryIdentifiers.cik"))

            // The checks compare against the latest price (500), not the quarter's.
            let current = try await harness.pool.query("SELECT price::text AS p FROM t_acme.reference_prices")
                .firstRow.decode("p", as: String.self)
            #expect(current.hasPrefix("500"))
        }
    }

    @Test func reportingCanBeSwitchedOff() async throws {
        try await RouteHarness.with(environment: ["REGULATORY_REPORTING_ENABLED": "false"]) { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let answer = await harness.send(
                .post, "/api/enterprise/accounts/\(UUID())/compliance/reports", headers: owner,
                json: #"{"type":"form_13f","period":"2026-Q2"}"#)
            #expect(answer.status.code == 403)
            #expect(String(decoding: answer.body, as: UTF8.self).contains("REGULATORY_REPORTING_ENABLED=false"))
        }
    }

    @Test func mifirTransactionReportsNewAndCancelledTradesAsValidAuth016() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme EU","accountType":"asset_manager","legalName":"Acme Europe SA","jurisdiction":"LU","regulatoryIdentifiers":{"lei":"529900T8BM49AURSDO55"}}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            let badISIN = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json: #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0,"isin":"US19260Q1077"}"#)
            #expect(badISIN.status.code == 400)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner,
                    json: #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0,"isin":"US19260Q1076"}"#
                ).status.code == 204)
            var tradeIDs: [String] = []
            for (side, venue) in [("buy", "XNAS"), ("sell", "off-exchange desk"), ("buy", "XNAS")] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"COIN/USD","side":"\#(side)","quantity":100,"price":201.5,"venue":"\#(venue)"}"#
                )
                tradeIDs.append(try #require(Self.json(booked)["id"] as? String))
            }
            // A spot crypto trade without an ISIN is not MiFIR-reportable.
            _ = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"buy","quantity":1,"price":2500}"#)
            let cancel = await harness.send(
                .post, "/api/enterprise/trades/\(tradeIDs[2])/cancel", headers: owner,
                json: #"{"reason":"booked twice"}"#)
            #expect(cancel.status.code == 204)
            let again = await harness.send(
                .post, "/api/enterprise/trades/\(tradeIDs[2])/cancel", headers: owner,
                json: #"{"reason":"booked twice"}"#)
            #expect(again.status.code == 404)
            try await harness.pool.execute(
                "UPDATE t_acme.trades SET executed_at = '2026-05-04T09:30:00.123456Z', cancelled_at = CASE WHEN cancelled_at IS NULL THEN NULL ELSE timestamptz '2026-05-04T10:00:00Z' END"
            )
            let requested = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"mifir_rts22","period":"2026-Q2"}"#)
            #expect(requested.status.code == 202)
            let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            #expect(try await worker.runOnce())
            let document = await harness.send(
                .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)?format=document", headers: owner)
            let xml = String(decoding: document.body, as: UTF8.self)
            #expect(xml.components(separatedBy: "<New>").count - 1 == 3)
            #expect(xml.components(separatedBy: "<Cxl>").count - 1 == 1)
            #expect(xml.contains("<TradVn>XNAS</TradVn>") && xml.contains("<TradVn>XOFF</TradVn>"))
            #expect(xml.contains("<Id>US19260Q1076</Id>") && !xml.contains("ETH"))
            // Issue 17: the trading time to the microsecond (RTS 25), not truncated to the second;
            // transaction references in RTS 22's character set (capital letters and digits).
            #expect(xml.contains("<TradDt>2026-05-04T09:30:00.123456Z</TradDt>"), "\(xml)")
            let references = xml.components(separatedBy: "<TxId>").dropFirst().map { $0.prefix { $0 != "<" } }
            #expect(references.count == 4)
            #expect(
                references.allSatisfy { reference in
                    (1...52).contains(reference.count)
                        && reference.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
                }, "\(references)")
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/mifir_rts22/auth.016.001.03.xsd")
            #expect(status == 0, "xmllint: \(output)")

            // Without an LEI the report fails with the reason, visible on the report.
            let noLEI = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"No LEI","accountType":"asset_manager","legalName":"No LEI Ltd","jurisdiction":"GB"}"#
            )
            let noLEIID = try #require(Self.json(noLEI)["id"] as? String)
            let failing = await harness.send(
                .post, "/api/enterprise/accounts/\(noLEIID)/compliance/reports", headers: owner,
                json: #"{"type":"mifir_rts22","period":"2026-Q2"}"#)
            let failingID = try #require((Self.json(failing)["report"] as? [String: Any])?["id"] as? String)
            _ = try await worker.runOnce()
            let failed = await harness.send(
                .get, "/api/enterprise/accounts/\(noLEIID)/compliance/reports/\(failingID)", headers: owner)
            let report = Self.json(failed)["report"] as? [String: Any]
            #expect(report?["status"] as? String == "failed")
            #expect((report?["error"] as? String)?.contains("LEI") == true)
        }
    }

    @Test func formPFAndLargeTraderReportsComeAsNamedJSONAndCSV() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Fund I","accountType":"hedge_fund","legalName":"Acme Fund I LP","jurisdiction":"KY","totalAUM":250000000}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner,
                    json: #"{"symbol":"BTC/USD","priceDecimals":2,"quantityDecimals":8,"reportableLevel":25}"#
                ).status.code == 204)
            for (symbol, side, quantity, price, counterparty) in [
                ("BTC/USD", "buy", "30", "60000", "Cumberland"), ("ETH/USD", "buy", "100", "3000", "Wintermute"),
                ("SOL/USD", "sell", "500", "150", "Cumberland"),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"\#(symbol)","side":"\#(side)","quantity":\#(quantity),"price":\#(price),"counterparty":"\#(counterparty)"}"#
                )
                #expect(booked.status.code == 201)
            }
            try await harness.pool.execute("UPDATE t_acme.trades SET executed_at = '2026-05-20T12:00:00Z'")
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            var documents: [String: (json: String, csv: String)] = [:]
            for type in ["form_pf", "cftc_large_trader"] {
                let requested = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                    json: #"{"type":"\#(type)","period":"2026-Q2"}"#)
                let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
                #expect(try await worker.runOnce())
                let base = "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)"
                let json = await harness.send(.get, base + "?format=document", headers: owner)
                let csv = await harness.send(.get, base + "?format=csv", headers: owner)
                #expect(json.headers.first("Content-Type") == "application/json")
                #expect(csv.headers.first("Content-Type") == "text/csv")
                documents[type] = (
                    String(decoding: json.body, as: UTF8.self), String(decoding: csv.body, as: UTF8.self)
                )
            }
            let pf = try #require(documents["form_pf"])
            let sections = try #require(try JSONSerialization.jsonObject(with: Data(pf.json.utf8)) as? [String: Any])
            #expect((sections["format"] as? String)?.contains("Form PF has no public XML schema") == true)
            // Long 30 × 60,000 + 100 × 3,000; short 500 × 150.
            #expect(sections["longExposure"] as? String == "2100000.00")
            #expect(sections["shortExposure"] as? String == "75000.00")
            #expect(sections["grossAssetValue"] as? String == "2175000.00")
            #expect(sections["netAssetValue"] as? String == "250000000")
            let top = sections["topCounterparties"] as? [[String: String]] ?? []
            #expect(top.first?["name"] == "Cumberland" && top.first?["notional"] == "1875000")
            #expect(pf.csv.hasPrefix("section,symbol,side,quantity,price,value\n"))
            #expect(pf.csv.contains("holdings,SOL/USD,short,-500,150,-75000.00"))
            let large = try #require(documents["cftc_large_trader"])
            #expect(
                large.csv == "as_of,symbol,side,quantity,price,value\n2026-06-30,BTC/USD,long,30,60000,1800000.00\n")
            #expect(large.json.contains("the CFTC schemas are not public"))
        }
    }

    @Test func emirReportsNewAndTerminatedDerivativesAsValidAuth030() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme EU","accountType":"hedge_fund","legalName":"Acme Europe SA","jurisdiction":"LU","regulatoryIdentifiers":{"lei":"529900T8BM49AURSDO55"}}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner,
                    json: #"{"symbol":"BTCPERP/USD","priceDecimals":1,"quantityDecimals":4,"isDerivative":true}"#
                ).status.code == 204)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            func report(_ period: String) async throws -> String {
                let requested = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                    json: #"{"type":"emir_refit","period":"\#(period)"}"#)
                let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
                #expect(try await worker.runOnce())
                let document = await harness.send(
                    .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)?format=document",
                    headers: owner)
                return String(decoding: document.body, as: UTF8.self)
            }
            // No derivatives yet: a "no transactions" report.
            let empty = try await report("2026-Q1")
            #expect(empty.contains("<DataSetActn>NOTX</DataSetActn>"))
            #expect(try await Self.validate(empty, schema: Self.schemas + "/emir_refit/auth.030.001.03.xsd").0 == 0)

            var trades: [String] = []
            for (side, counterparty) in [
                ("buy", "HWUPKR0MPOU8FGXBT394"), ("sell", "Some Desk"), ("buy", "HWUPKR0MPOU8FGXBT394"),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"BTCPERP/USD","side":"\#(side)","quantity":2,"price":61000.5,"venue":"XEUR","counterparty":"\#(counterparty)"}"#
                )
                trades.append(try #require(Self.json(booked)["id"] as? String))
            }
            let unwound = await harness.send(
                .post, "/api/enterprise/trades/\(trades[1])/cancel", headers: owner,
                json: #"{"reason":"unwound","kind":"termination"}"#)
            #expect(unwound.status.code == 204)
            // A bust (the default kind) is reported as an error, not a termination.
            let busted = await harness.send(
                .post, "/api/enterprise/trades/\(trades[2])/cancel", headers: owner, json: #"{"reason":"fat finger"}"#)
            #expect(busted.status.code == 204)
            let unknownKind = await harness.send(
                .post, "/api/enterprise/trades/\(trades[0])/cancel", headers: owner,
                json: #"{"reason":"no reason","kind":"whim"}"#)
            #expect(unknownKind.status.code == 400)
            let amended = await harness.send(
                .patch, "/api/enterprise/trades/\(trades[0])", headers: owner, json: #"{"quantity":3}"#)
            #expect(amended.status.code == 204)
            let badAmend = await harness.send(
                .patch, "/api/enterprise/trades/\(trades[0])", headers: owner, json: #"{"price":1.55}"#)
            #expect(badAmend.status.code == 400, "BTCPERP/USD prices have one decimal")
            try await harness.pool.execute(
                "UPDATE t_acme.trades SET executed_at = '2026-04-02T08:00:00Z', amended_at = CASE WHEN amended_at IS NULL THEN NULL ELSE timestamptz '2026-04-02T09:00:00Z' END, cancelled_at = CASE WHEN cancelled_at IS NULL THEN NULL ELSE timestamptz '2026-04-03T08:00:00Z' END"
            )
            let xml = try await report("2026-Q2")
            #expect(xml.components(separatedBy: "<New>").count - 1 == 3)
            #expect(xml.components(separatedBy: "<Termntn>").count - 1 == 1)
            #expect(xml.components(separatedBy: "<Err>").count - 1 == 1)
            #expect(xml.components(separatedBy: "<EarlyTermntnDt>").count - 1 == 1, "a bust has no termination date")
            #expect(xml.components(separatedBy: "<Mod>").count - 1 == 1)
            #expect(xml.contains("<EarlyTermntnDt>2026-04-03</EarlyTermntnDt>"))
            #expect(xml.contains("<LEI>HWUPKR0MPOU8FGXBT394</LEI>"))
            let uti = EMIRTradeReport.uti(
                lei: "529900T8BM49AURSDO55", tradeID: try #require(UUID(uuidString: trades[0])))
            #expect(xml.contains("<UnqTxIdr>\(uti)</UnqTxIdr>"))
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/emir_refit/auth.030.001.03.xsd")
            #expect(status == 0, "xmllint: \(output)")
        }
    }
}
