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
        try await XMLSchemas.validate(xml, schema: schema)
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
            let badProfile = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/compliance/form-13f", headers: owner,
                json: #"{"investmentDiscretion":"SOLO","votingAuthority":"sole"}"#)
            #expect(badProfile.status.code == 400)
            #expect(
                await harness.send(
                    .put, "/api/enterprise/accounts/\(id)/compliance/form-13f", headers: owner,
                    json: #"{"investmentDiscretion":"SOLE","votingAuthority":"sole"}"#
                ).status.code == 204)
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

            // The cover page names the filing manager and signatory, kept per CIK.
            let manager =
                #"{"name":"Acme Asset Management LLC","address":{"street1":"1 Main Street","street2":"Floor 20","city":"New York","stateOrCountry":"NY","zipCode":"10001"},"form13FFileNumber":"028-12345","signatory":{"name":"Jane Doe","title":"Chief Compliance Officer","phone":"212-555-0100","city":"New York","stateOrCountry":"NY"}}"#
            let badManager = await harness.send(
                .put, "/api/enterprise/compliance/form-13f-managers/0001234567", headers: owner,
                json: manager.replacingOccurrences(
                    of: #""stateOrCountry":"NY","zipCode""#, with: #""stateOrCountry":"New York","zipCode""#))
            #expect(badManager.status.code == 400)
            #expect(String(decoding: badManager.body, as: UTF8.self).contains("'address.stateOrCountry'"))
            #expect(
                await harness.send(
                    .put, "/api/enterprise/compliance/form-13f-managers/0001234567", headers: owner, json: manager
                ).status.code == 204)

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

            // The primary document: cover, signature and summary pages, the summary matching the
            // information table; the filer's CCC is added on the way out, never stored.
            let coverPath = "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)?format=cover"
            let withoutCredentials = await harness.send(.get, coverPath, headers: owner)
            #expect(withoutCredentials.status.code == 200)
            #expect(withoutCredentials.headers.first("Warning")?.contains("EDGAR-CCC") == true)
            let badCCC = await harness.send(.get, coverPath, headers: owner + [("EDGAR-CCC", "short")])
            #expect(badCCC.status.code == 400)
            let primary = String(
                decoding: await harness.send(.get, coverPath, headers: owner + [("EDGAR-CCC", "X1#y2$Z3")]).body,
                as: UTF8.self)
            let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/form-13f-primary").path
            let (coverStatus, coverOutput) = try await Self.validate(
                primary, schema: fixtures + "/thirteenffiler-from-spec.xsd")
            #expect(coverStatus == 0, "xmllint: \(coverOutput)\n\(primary)")
            #expect(primary.contains("<cik>0001234567</cik>\n          <ccc>X1#y2$Z3</ccc>"))
            #expect(primary.contains("<periodOfReport>06-30-2026</periodOfReport>"))
            #expect(primary.contains("<reportCalendarOrQuarter>06-30-2026</reportCalendarOrQuarter>"))
            #expect(primary.contains("<tableEntryTotal>2</tableEntryTotal>"))
            #expect(primary.contains("<tableValueTotal>173769500</tableValueTotal>"))
            #expect(primary.contains("<signature>/s/ Jane Doe</signature>"))
            let stored = try await harness.pool.query(
                "SELECT document_cover FROM t_acme.regulatory_reports WHERE id = \(UUID(uuidString: reportID)!)"
            ).firstRow.decode("document_cover", as: String.self)
            #expect(!stored.contains("<ccc>"), "the CCC is never stored")

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

    /// Requests a report that cannot be made, runs its job, and returns the error the report
    /// shows (recording an issue unless it failed).
    static func failure(
        _ type: String, period: String, account: String, harness: RouteHarness, headers: [(String, String)]
    ) async throws -> String {
        let requested = await harness.send(
            .post, "/api/enterprise/accounts/\(account)/compliance/reports", headers: headers,
            json: #"{"type":"\#(type)","period":"\#(period)"}"#)
        let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
        let worker = TenantJobWorker(
            pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
            logger: TestDatabase.logger)
        _ = try await worker.runOnce()
        let report =
            Self.json(
                await harness.send(
                    .get, "/api/enterprise/accounts/\(account)/compliance/reports/\(reportID)", headers: headers)
            )["report"] as? [String: Any]
        #expect(report?["status"] as? String == "failed", "\(report ?? [:])")
        return report?["error"] as? String ?? ""
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
            #expect(
                await harness.send(
                    .put, "/api/enterprise/accounts/\(account)/compliance/form-13f", headers: owner,
                    json: #"{"investmentDiscretion":"SOLE","votingAuthority":"sole"}"#
                ).status.code == 204)
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
            // The second account's securities are voted with others (shared voting authority).
            #expect(
                await harness.send(
                    .put, "/api/enterprise/accounts/\(secondAccount)/compliance/form-13f", headers: owner,
                    json: #"{"investmentDiscretion":"SOLE","votingAuthority":"shared"}"#
                ).status.code == 204)
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
            let noRate = try await Self.failure(
                "form_13f", period: "2026-Q2", account: account, harness: harness, headers: owner)
            #expect(noRate.contains("priced in EUR, which has no USD rate"), "\(noRate)")
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
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
            #expect(xml.contains("<Sole>5000</Sole><Shared>1000</Shared><None>0</None>"), "\(xml)")
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
            // The worker takes one job a round: under a loaded run the first round once took another.
            var noFiling = ""
            for _ in 0..<20 {
                _ = try await worker.runOnce()
                noFiling = String(
                    decoding: await harness.send(
                        .get, "/api/enterprise/accounts/\(noCIKAccount)/compliance/reports/\(refusedID)",
                        headers: owner
                    ).body, as: UTF8.self)
                if !noFiling.contains(#""status":"queued""#) && !noFiling.contains(#""status":"running""#) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(noFiling.contains("regulatoryIdentifiers.cik"), "\(noFiling)")

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

    /// Issue 17: an option is a line of its own with `putCall`, reporting the underlying's shares
    /// (contracts × multiplier) valued at the underlying's quarter-end price; investment discretion
    /// splits lines, voting authority comes from each account.
    @Test func form13FReportsOptionsAsTheUnderlyingsSharesWithPutOrCall() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            var accounts: [String] = []
            for (name, discretion, voting) in [("Acme Options", "SOLE", "sole"), ("Acme Managed", "DFND", "none")] {
                let created = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json:
                        #"{"accountName":"\#(name)","accountType":"asset_manager","legalName":"Acme Options LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0001122334"}}"#
                )
                let id = try #require(Self.json(created)["id"] as? String)
                #expect(
                    await harness.send(
                        .put, "/api/enterprise/accounts/\(id)/compliance/form-13f", headers: owner,
                        json: #"{"investmentDiscretion":"\#(discretion)","votingAuthority":"\#(voting)"}"#
                    ).status.code == 204)
                accounts.append(id)
            }
            for body in [
                #"{"symbol":"MSFT/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM"}"#,
                #"{"symbol":"MSFTC450/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM","derivative":{"contractType":"OPTN","assetClass":"EQUI","cfi":"OCASPS","upi":"QZ7XT2B9K4LM","underlyingSymbol":"MSFT/USD","notionalCurrency":"USD","maturity":"2026-12-18","optionType":"call","strike":450,"multiplier":100}}"#,
                #"{"symbol":"MSFTP350/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM","derivative":{"contractType":"OPTN","assetClass":"EQUI","cfi":"OPASPS","upi":"QZ7XT2B9K4LN","underlyingSymbol":"MSFT/USD","notionalCurrency":"USD","maturity":"2026-12-18","optionType":"put","strike":350,"multiplier":100}}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(String(decoding: saved.body, as: UTF8.self))")
            }
            for (account, symbol, quantity, price) in [
                (accounts[0], "MSFT/USD", 1_000, "390"), (accounts[0], "MSFTC450/USD", 10, "12.5"),
                (accounts[0], "MSFTP350/USD", 4, "3.2"), (accounts[1], "MSFT/USD", 500, "395"),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(account)","symbol":"\#(symbol)","side":"buy","quantity":\#(quantity),"price":\#(price),"executedAt":"2026-05-12T15:00:00Z"}"#
                )
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
            }
            for (symbol, price) in [("MSFT/USD", "400"), ("MSFTC450/USD", "5"), ("MSFTP350/USD", "1.1")] {
                #expect(
                    await harness.send(
                        .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                        json: #"{"symbol":"\#(symbol)","price":\#(price),"asOf":"2026-06-30T20:00:00Z"}"#
                    ).status.code == 204)
            }
            let (summary, xml) = try await Self.generate(
                "form_13f", period: "2026-Q2", account: accounts[0], harness: harness, headers: owner)
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/sec_13f/validation/eis_13FDocument.xsd")
            #expect(status == 0, "xmllint: \(output)")
            let lines = xml.components(separatedBy: "<infoTable>").dropFirst().map { String($0) }
            #expect(lines.count == 4, "\(xml)")
            func line(putCall: String?, discretion: String) -> String? {
                lines.first { text in
                    let kind = putCall.map { text.contains("<putCall>\($0)</putCall>") } ?? !text.contains("<putCall>")
                    return kind && text.contains("<investmentDiscretion>\(discretion)</investmentDiscretion>")
                }
            }
            // Shares: 1,000 × 400 = 400,000 held with sole discretion and voting.
            let shares = try #require(line(putCall: nil, discretion: "SOLE"))
            #expect(shares.contains("<value>400000</value>") && shares.contains("<sshPrnamt>1000</sshPrnamt>"))
            #expect(shares.contains("<Sole>1000</Sole><Shared>0</Shared><None>0</None>"))
            // 10 calls × 100 = 1,000 underlying shares × 400 (not the option's own price of 5).
            let calls = try #require(line(putCall: "Call", discretion: "SOLE"))
            #expect(calls.contains("<value>400000</value>") && calls.contains("<sshPrnamt>1000</sshPrnamt>"))
            let puts = try #require(line(putCall: "Put", discretion: "SOLE"))
            #expect(puts.contains("<value>160000</value>") && puts.contains("<sshPrnamt>400</sshPrnamt>"))
            // The managed account's 500 shares: shared-defined discretion, no voting authority.
            let managed = try #require(line(putCall: nil, discretion: "DFND"))
            #expect(
                managed.contains("<value>200000</value>")
                    && managed.contains("<Sole>0</Sole><Shared>0</Shared><None>500</None>"))
            #expect(summary["totalValue"] == "1160000")

            // An account of the manager without a profile cannot be reported.
            let bare = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme New","accountType":"asset_manager","legalName":"Acme Options LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0001122334"}}"#
            )
            let bareID = try #require(Self.json(bare)["id"] as? String)
            _ = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(bareID)","symbol":"MSFT/USD","side":"buy","quantity":1,"price":390,"executedAt":"2026-05-12T15:00:00Z"}"#
            )
            let noProfile = try await Self.failure(
                "form_13f", period: "2026-Q2", account: accounts[0], harness: harness, headers: owner)
            #expect(noProfile.contains("'Acme New'") && noProfile.contains("no Form 13F profile"), "\(noProfile)")
        }
    }

    /// A holding worth more than EDGAR's 16 digits fails the report, naming it (it became 0).
    @Test func aValueBeyondSixteenDigitsFailsTheFilingNamingIt() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Huge","accountType":"asset_manager","legalName":"Huge LLC","jurisdiction":"US","regulatoryIdentifiers":{"cik":"0009998887"}}"#
            )
            let account = try #require(Self.json(created)["id"] as? String)
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(account)/compliance/form-13f", headers: owner,
                json: #"{"investmentDiscretion":"SOLE","votingAuthority":"sole"}"#)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json:
                    #"{"symbol":"MSFT/USD","priceDecimals":2,"quantityDecimals":0,"is13FSecurity":true,"cusip":"594918104","issuerName":"MICROSOFT CORP","titleOfClass":"COM"}"#
            )
            // 10^15 shares at 100: 10^17 dollars.
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(account)","symbol":"MSFT/USD","side":"buy","quantity":1000000000000000,"price":100,"executedAt":"2026-05-12T15:00:00Z"}"#
            )
            #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
            let error = try await Self.failure(
                "form_13f", period: "2026-Q2", account: account, harness: harness, headers: owner)
            #expect(error.contains("the value of 594918104") && error.contains("16 digits"), "\(error)")
        }
    }

    /// Issue 17: a day's RTS 22 file for an EEA firm — buyer and seller from the CCP's and the
    /// counterparty's LEIs (INTC only for an aggregated order), capacity, short selling, decision
    /// maker and executing person from the trade, an amendment as a cancellation and a new report,
    /// a bust as a cancellation, trades outside the EEA left out, due the next working day.
    @Test func mifirReportsADaysTransactionsInScopeWithTheirPartiesAsValidAuth016() async throws {
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
            for body in [
                #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0,"isin":"US19260Q1076"}"#,
                #"{"symbol":"SAP/EUR","priceDecimals":2,"quantityDecimals":0,"isin":"DE0007164600"}"#,
                #"{"symbol":"ASML/EUR","priceDecimals":2,"quantityDecimals":0,"isin":"NL0010273215","tradedInEEA":true}"#,
                #"{"symbol":"ASML/USDC","priceDecimals":2,"quantityDecimals":0,"isin":"NL0010273215","tradedInEEA":true}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(String(decoding: saved.body, as: UTF8.self))")
            }
            let ccp = "529900LN3S50JPU47S06"
            let counterparty = "5493000IBP32UQZ0KL24"
            let trader = #"{"person":"DE19800101JOHN#SMITH","country":"DE","scheme":"CONCAT"}"#
            func book(_ fields: String) async throws -> String {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner, json: #"{"accountId":"\#(id)",\#(fields)}"#)
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
                return try #require(Self.json(booked)["id"] as? String)
            }
            // Bad reporting details are refused, naming the field.
            for (fields, problem) in [
                (
                    #""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120,"counterpartyLei":"5493000IBP32UQZ0KL25""#,
                    "counterpartyLei"
                ),
                (#""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120,"shortSelling":"SESH""#, "shortSelling"),
                (
                    #""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120,"executingPerson":{"person":"X","country":"ZZ","scheme":"NIDN"}"#,
                    "executingPerson"
                ),
                (#""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120,"venue":"FRANKFURT""#, "venue"),
            ] {
                let refused = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner, json: #"{"accountId":"\#(id)",\#(fields)}"#)
                let text = String(decoding: refused.body, as: UTF8.self)
                #expect(refused.status.code == 400 && text.contains("'\(problem)"), "\(text)")
            }
            let onXetra = try await book(
                #""symbol":"SAP/EUR","side":"buy","quantity":100,"price":120.5,"venue":"xetr","ccpLei":"\#(ccp)","decisionMaker":{"algorithm":"ALPHA-7"},"executingPerson":\#(trader),"executedAt":"2026-05-04T09:30:00.123456Z""#
            )
            _ = try await book(
                #""symbol":"SAP/EUR","side":"sell","quantity":40,"price":121,"venue":"XETR","counterpartyLei":"\#(counterparty)","shortSelling":"SESH","capacity":"MTCH","executingPerson":{"algorithm":"EXEC-1"},"executedAt":"2026-05-04T10:00:00Z""#
            )
            let amended = try await book(
                #""symbol":"ASML/EUR","side":"buy","quantity":10,"price":650,"venue":"XOFF","counterpartyLei":"\#(counterparty)","executingPerson":\#(trader),"executedAt":"2026-05-04T11:00:00Z""#
            )
            _ = try await book(
                #""symbol":"ASML/EUR","side":"buy","quantity":5,"price":650,"aggregated":true,"capacity":"AOTC","executingPerson":\#(trader),"executedAt":"2026-05-04T11:30:00Z""#
            )
            _ = try await book(
                #""symbol":"COIN/USD","side":"buy","quantity":100,"price":201.5,"venue":"XNAS","executingPerson":\#(trader),"executedAt":"2026-05-04T14:00:00Z""#
            )
            let busted = try await book(
                #""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120.5,"venue":"XETR","ccpLei":"\#(ccp)","executingPerson":\#(trader),"executedAt":"2026-05-04T15:00:00Z""#
            )
            #expect(
                await harness.send(
                    .patch, "/api/enterprise/trades/\(amended)", headers: owner, json: #"{"price":651}"#
                ).status.code == 204)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/trades/\(busted)/cancel", headers: owner,
                    json: #"{"reason":"booked twice"}"#
                ).status.code == 204)
            try await harness.pool.execute(
                "UPDATE t_acme.trade_amendments SET amended_at = '2026-05-04T11:15:00Z'")
            try await harness.pool.execute(
                "UPDATE t_acme.trades SET cancelled_at = '2026-05-04T16:00:00Z' WHERE cancelled_at IS NOT NULL")

            let quarter = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"mifir_rts22","period":"2026-Q2"}"#)
            #expect(quarter.status.code == 400)
            #expect(String(decoding: quarter.body, as: UTF8.self).contains("reported per day"))
            let requested = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"mifir_rts22","period":"2026-05-04"}"#)
            #expect((Self.json(requested)["report"] as? [String: Any])?["dueDate"] as? String == "2026-05-05")
            let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            #expect(try await worker.runOnce())
            let document = await harness.send(
                .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)?format=document", headers: owner)
            let xml = String(decoding: document.body, as: UTF8.self)
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/mifir_rts22/auth.016.001.03.xsd")
            #expect(status == 0, "xmllint: \(output)")

            // Each record, in order, as (action, TxId, buyer, seller): recomputed from the bookings.
            let reference = { (trade: String) in trade.uppercased().replacingOccurrences(of: "-", with: "") }
            var parsed: [(action: String, body: String)] = []
            var rest = xml[...]
            while let next = ["New", "Cxl"].compactMap({ tag in rest.range(of: "<\(tag)>").map { (tag, $0) } })
                .min(by: { $0.1.lowerBound < $1.1.lowerBound }),
                let end = rest.range(of: "</\(next.0)>", range: next.1.upperBound..<rest.endIndex)
            {
                parsed.append((next.0, String(rest[next.1.upperBound..<end.lowerBound])))
                rest = rest[end.upperBound...]
            }
            let records = parsed.map(\.body)
            func element(_ name: String, in text: String) -> String? {
                guard let start = text.range(of: "<\(name)>"),
                    let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
                else { return nil }
                return String(text[start.upperBound..<end.lowerBound])
            }
            let actions = parsed.map(\.action)
            #expect(actions == ["New", "New", "New", "Cxl", "New", "New", "New", "Cxl"], "\(xml)")
            #expect(!xml.contains("US19260Q1076"), "COIN on Nasdaq is outside MiFIR's scope")
            let us = "<AcctOwnr><Id><LEI>529900T8BM49AURSDO55</LEI></Id></AcctOwnr>"
            // 1: bought on Xetra, cleared: the CCP sold; decided by an algorithm, executed by a person.
            #expect(element("TxId", in: records[0]) == reference(onXetra))
            #expect(element("Buyr", in: records[0]) == us)
            #expect(element("Sellr", in: records[0]) == "<AcctOwnr><Id><LEI>\(ccp)</LEI></Id></AcctOwnr>")
            #expect(element("TradDt", in: records[0]) == "2026-05-04T09:30:00.123456Z")
            #expect(element("TradVn", in: records[0]) == "XETR")
            #expect(records[0].contains(#"<Amt Ccy="EUR">120.5</Amt>"#))
            #expect(element("InvstmtDcsnPrsn", in: records[0]) == "<Algo>ALPHA-7</Algo>")
            #expect(
                element("ExctgPrsn", in: records[0])
                    == "<Prsn><CtryOfBrnch>DE</CtryOfBrnch><Othr><Id>DE19800101JOHN#SMITH</Id><SchmeNm><Prtry>CONCAT</Prtry></SchmeNm></Othr></Prsn>"
            )
            // 2: a short sale to a named counterparty, in matched principal capacity.
            #expect(element("Buyr", in: records[1]) == "<AcctOwnr><Id><LEI>\(counterparty)</LEI></Id></AcctOwnr>")
            #expect(element("Sellr", in: records[1]) == us)
            #expect(element("ShrtSellgInd", in: records[1]) == "SESH")
            #expect(element("TradgCpcty", in: records[1]) == "MTCH")
            // 3: off venue at 650, amended to 651: the first version cancelled, the second reported.
            #expect(element("TxId", in: records[2]) == reference(amended))
            #expect(records[2].contains(#"<Amt Ccy="EUR">650</Amt>"#) && element("TradVn", in: records[2]) == "XOFF")
            #expect(element("TxId", in: records[3]) == reference(amended))
            #expect(element("TxId", in: records[4]) == reference(amended) + "V2")
            #expect(records[4].contains(#"<Amt Ccy="EUR">651</Amt>"#))
            // 4: the market side of an aggregated order: INTC.
            #expect(element("Sellr", in: records[5]) == "<AcctOwnr><Id><Intl>INTC</Intl></Id></AcctOwnr>")
            #expect(element("TradgCpcty", in: records[5]) == "AOTC")
            // 6: executed and busted the same day.
            #expect(element("TxId", in: records[6]) == reference(busted))
            #expect(element("TxId", in: records[7]) == reference(busted))
            let summary = try #require(
                (Self.json(
                    await harness.send(
                        .get, "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)", headers: owner)
                )["report"] as? [String: Any])?["summary"] as? [String: String])
            #expect(summary["new"] == "6" && summary["cancelled"] == "2" && summary["outOfScope"] == "1")

            // A Friday's report is due on Monday; a day without transactions has nothing to file.
            let friday = try await Self.generate(
                "mifir_rts22", period: "2026-05-08", account: id, harness: harness, headers: owner)
            #expect(friday.summary["noDocument"] != nil && friday.summary["new"] == "0")
            let reports = Self.json(
                await harness.send(.get, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner))
            let fridayReport = (reports["reports"] as? [[String: Any]])?.first {
                $0["period"] as? String == "2026-05-08"
            }
            #expect(fridayReport?["dueDate"] as? String == "2026-05-11")

            // What a report cannot be made of fails it, naming the trade or instrument.
            func failure(on day: String) async throws -> String {
                try await Self.failure("mifir_rts22", period: day, account: id, harness: harness, headers: owner)
            }
            _ = try await book(
                #""symbol":"ASML/USDC","side":"buy","quantity":1,"price":650,"venue":"XOFF","counterpartyLei":"\#(counterparty)","executingPerson":\#(trader),"executedAt":"2026-05-05T09:00:00Z""#
            )
            #expect(try await failure(on: "2026-05-05").contains("ASML/USDC is quoted in USDC, which is not one"))
            let anonymous = try await book(
                #""symbol":"ASML/EUR","side":"buy","quantity":1,"price":650,"venue":"XOFF","executingPerson":\#(trader),"executedAt":"2026-05-06T09:00:00Z""#
            )
            #expect(try await failure(on: "2026-05-06").contains("\(anonymous) was off venue with no counterpartyLei"))
            _ = try await book(
                #""symbol":"SAP/EUR","side":"buy","quantity":1,"price":120,"venue":"XETR","executedAt":"2026-05-07T09:00:00Z""#
            )
            #expect(try await failure(on: "2026-05-07").contains("has no executingPerson"))

            // A firm outside the EEA has no MiFIR reports; without an LEI none can be made.
            for (body, problem) in [
                (
                    #"{"accountName":"Acme US","accountType":"asset_manager","legalName":"Acme US LLC","jurisdiction":"US","regulatoryIdentifiers":{"lei":"529900T8BM49AURSDO55"}}"#,
                    "not in it"
                ),
                (
                    #"{"accountName":"No LEI","accountType":"asset_manager","legalName":"No LEI SA","jurisdiction":"FR"}"#,
                    "LEI"
                ),
            ] {
                let other = try #require(
                    Self.json(await harness.send(.post, "/api/enterprise/accounts", headers: owner, json: body))["id"]
                        as? String)
                let error = try await Self.failure(
                    "mifir_rts22", period: "2026-05-04", account: other, harness: harness, headers: owner)
                #expect(error.contains(problem), "\(error)")
            }
        }
    }

    /// Issue 17: Form PF from positions — no busted price, every value in US dollars, net asset
    /// value from the positions (not the declared AUM), credit exposure to counterparties as the
    /// mark-to-market of open derivatives, due 60 days after the quarter — and CFTC large-trader
    /// positions per day in CFTC-reportable contracts only, at each contract's level.
    @Test func formPFAndLargeTraderReportsComeFromPositionsInUSDollars() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Fund I","accountType":"hedge_fund","legalName":"Acme Fund I LP","jurisdiction":"KY","totalAUM":250000000}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            let cme = "MP6I5ZYZBEU3UXPYFY54"
            let eurex = "529900LN3S50JPU47S06"
            let refused = await harness.send(
                .post, "/api/enterprise/compliance/instruments", headers: owner,
                json: #"{"symbol":"BTCF2609/USD","priceDecimals":0,"quantityDecimals":0,"cftcReportable":true}"#)
            #expect(
                refused.status.code == 400 && String(decoding: refused.body, as: UTF8.self).contains("reportableLevel"))
            for body in [
                #"{"symbol":"SAP/EUR","priceDecimals":2,"quantityDecimals":0,"isin":"DE0007164600"}"#,
                #"{"symbol":"BTCF2609/USD","priceDecimals":0,"quantityDecimals":0,"cftcReportable":true,"reportableLevel":25,"derivative":{"contractType":"FUTR","assetClass":"COMM","cfi":"FCECSX","isin":"DE000C6EV128","notionalCurrency":"USD","maturity":"2026-09-25","multiplier":5}}"#,
                #"{"symbol":"FDAX2609/EUR","priceDecimals":1,"quantityDecimals":0,"reportableLevel":10,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"FFICSX","isin":"DE000C6EV128","notionalCurrency":"EUR","maturity":"2026-09-18","multiplier":25}}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(String(decoding: saved.body, as: UTF8.self))")
            }
            var busted = ""
            for (fields, bust) in [
                (#""symbol":"BTC/USD","side":"buy","quantity":30,"price":60000,"counterparty":"Cumberland""#, false),
                (#""symbol":"BTC/USD","side":"buy","quantity":10,"price":99999,"counterparty":"Cumberland""#, true),
                (#""symbol":"ETH/USD","side":"buy","quantity":100,"price":3000"#, false),
                (#""symbol":"SOL/USD","side":"sell","quantity":500,"price":150"#, false),
                (#""symbol":"SAP/EUR","side":"buy","quantity":1000,"price":120,"venue":"XETR""#, false),
                (
                    #""symbol":"BTCF2609/USD","side":"buy","quantity":30,"price":61000,"venue":"XCME","ccpLei":"\#(cme)""#,
                    false
                ),
                (
                    #""symbol":"FDAX2609/EUR","side":"buy","quantity":20,"price":22000,"venue":"XEUR","ccpLei":"\#(eurex)""#,
                    false
                ),
            ] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json: #"{"accountId":"\#(id)",\#(fields),"executedAt":"2026-05-20T12:00:00Z"}"#)
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
                if bust { busted = try #require(Self.json(booked)["id"] as? String) }
            }
            #expect(
                await harness.send(
                    .post, "/api/enterprise/trades/\(busted)/cancel", headers: owner, json: #"{"reason":"fat finger"}"#
                ).status.code == 204)
            for (symbol, price) in [
                ("BTC/USD", "62000"), ("ETH/USD", "3100"), ("SOL/USD", "140"), ("SAP/EUR", "125"),
                ("BTCF2609/USD", "62500"), ("FDAX2609/EUR", "23000"),
            ] {
                #expect(
                    await harness.send(
                        .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                        json: #"{"symbol":"\#(symbol)","price":\#(price),"asOf":"2026-06-30T16:00:00Z"}"#
                    ).status.code == 204)
            }
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            func generate(
                _ type: String, _ period: String
            ) async throws -> (report: [String: Any], json: String, csv: String) {
                let requested = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                    json: #"{"type":"\#(type)","period":"\#(period)"}"#)
                let reportID = try #require((Self.json(requested)["report"] as? [String: Any])?["id"] as? String)
                #expect(try await worker.runOnce())
                let base = "/api/enterprise/accounts/\(id)/compliance/reports/\(reportID)"
                let report =
                    Self.json(await harness.send(.get, base, headers: owner))["report"] as? [String: Any] ?? [:]
                let json = await harness.send(.get, base + "?format=document", headers: owner)
                let csv = await harness.send(.get, base + "?format=csv", headers: owner)
                return (report, String(decoding: json.body, as: UTF8.self), String(decoding: csv.body, as: UTF8.self))
            }
            // No EUR rate: Form PF fails naming the currency.
            let noRate = try await generate("form_pf", "2026-Q2")
            #expect(noRate.report["status"] as? String == "failed")
            #expect(
                (noRate.report["error"] as? String)?.contains("no US dollar rate for EUR") == true, "\(noRate.report)")
            #expect(
                await harness.send(
                    .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                    json: #"{"currency":"EUR","usdPerUnit":1.10,"asOf":"2026-06-30T16:00:00Z"}"#
                ).status.code == 204)
            let pf = try await generate("form_pf", "2026-Q2")
            #expect(pf.report["dueDate"] as? String == "2026-08-29")
            let sections = try #require(try JSONSerialization.jsonObject(with: Data(pf.json.utf8)) as? [String: Any])
            #expect((sections["format"] as? String)?.contains("Form PF has no public XML schema") == true)
            // Owned: 30 × 62,000 + 100 × 3,100 + 1,000 × 125 × 1.10 = 2,307,500, plus the futures'
            // gains (62,500 − 61,000) × 30 × 5 = 225,000 and (23,000 − 22,000) × 20 × 25 × 1.10 = 550,000.
            #expect(sections["grossAssetValue"] as? String == "3082500.00", "\(pf.json)")
            // Less the SOL short, 500 × 140 = 70,000: far below the declared AUM of 250 million.
            #expect(sections["netAssetValue"] as? String == "3012500.00")
            // Exposure counts the futures at their notional: 30 × 5 × 62,500 and 20 × 25 × 23,000 × 1.10.
            #expect(sections["longExposure"] as? String == "\(2_307_500 + 9_375_000 + 12_650_000).00")
            #expect(sections["shortExposure"] as? String == "70000.00")
            let top = sections["topCounterpartyExposures"] as? [[String: String]] ?? []
            #expect(
                top == [
                    ["counterparty": eurex, "exposureUSD": "550000.00"],
                    ["counterparty": cme, "exposureUSD": "225000.00"],
                ])
            #expect(pf.csv.hasPrefix("section,symbol,side,quantity,price,currency,value,value_usd\n"))
            #expect(
                pf.csv.contains("holdings,BTC/USD,long,30,62000,USD,1860000.00,1860000.00"),
                "the busted print is not held")
            #expect(pf.csv.contains("holdings,SAP/EUR,long,1000,125,EUR,125000.00,137500.00"))

            let cftc = try await generate("cftc_large_trader", "2026-06-30")
            #expect(cftc.report["dueDate"] as? String == "2026-07-01")
            // The CME future at or above its 25-contract level; not the Eurex one, which the CFTC
            // does not regulate, nor spot.
            #expect(
                cftc.csv
                    == "as_of,symbol,side,quantity,price,value,sources\n2026-06-30,BTCF2609/USD,long,30,62500,9375000.00,book=30\n"
            )
            #expect(cftc.json.contains("the CFTC schemas are not public"))
            let quarterly = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"cftc_large_trader","period":"2026-Q2"}"#)
            #expect(quarterly.status.code == 400)
        }
    }

    /// Issue 17: a day's EMIR REFIT file with a cleared future, an amended listed option and an
    /// OTC forward terminated early: notional, price, quantity, identifiers, maturity, clearing,
    /// and a mark-to-market valuation of what is still outstanding, each recomputed here.
    @Test func emirReportsADaysDerivativesWithTheirTermsAndValuationsAsValidAuth030() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme EU","accountType":"hedge_fund","legalName":"Acme Europe SA","jurisdiction":"LU","regulatoryIdentifiers":{"lei":"529900T8BM49AURSDO55"}}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            let ccp = "529900LN3S50JPU47S06"
            let bank = "213800ZBKL9BHSL2K459"
            let dealer = "5493000IBP32UQZ0KL24"
            for (body, problem) in [
                (
                    #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"OCASPS","isin":"DE000C6EV128","notionalCurrency":"EUR","maturity":"2026-06-19"}}"#,
                    "derivative.cfi"
                ),
                (
                    #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"OPTN","assetClass":"EQUI","cfi":"OCASPS","isin":"DE000C6EV128","notionalCurrency":"EUR","maturity":"2026-06-19"}}"#,
                    "derivative.optionType"
                ),
                (
                    #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"FFICSX","notionalCurrency":"EUR","maturity":"2026-06-19"}}"#,
                    "derivative.isin"
                ),
                (
                    #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"FFICSX","isin":"DE000C6EV128","notionalCurrency":"USDC","maturity":"2026-06-19"}}"#,
                    "derivative.notionalCurrency"
                ),
                (
                    #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"FFICSX","isin":"DE000C6EV128","notionalCurrency":"EUR","maturity":"June"}}"#,
                    "derivative.maturity"
                ),
            ] {
                let refused = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                let text = String(decoding: refused.body, as: UTF8.self)
                #expect(refused.status.code == 400 && text.contains("'\(problem)'"), "\(text)")
            }
            for body in [
                #"{"symbol":"FDAX2606/EUR","priceDecimals":1,"quantityDecimals":0,"derivative":{"contractType":"FUTR","assetClass":"EQUI","cfi":"FFICSX","isin":"DE000C6EV128","underlyingIsin":"DE0008469008","notionalCurrency":"EUR","maturity":"2026-06-19","multiplier":25}}"#,
                #"{"symbol":"COIN/USD","priceDecimals":2,"quantityDecimals":0}"#,
                #"{"symbol":"COINC250/USD","priceDecimals":2,"quantityDecimals":0,"derivative":{"contractType":"OPTN","assetClass":"EQUI","cfi":"OCASPS","upi":"QZ7XT2B9K4LM","underlyingIsin":"US19260Q1076","underlyingSymbol":"COIN/USD","notionalCurrency":"USD","maturity":"2026-12-18","optionType":"call","strike":250,"multiplier":100}}"#,
                #"{"symbol":"EURUSDF/USD","priceDecimals":4,"quantityDecimals":0,"derivative":{"contractType":"FORW","assetClass":"CURR","cfi":"JFTXFP","upi":"QZ4TTW5C0NXD","notionalCurrency":"USD","maturity":"2026-09-30"}}"#,
            ] {
                let saved = await harness.send(
                    .post, "/api/enterprise/compliance/instruments", headers: owner, json: body)
                #expect(saved.status.code == 204, "\(String(decoding: saved.body, as: UTF8.self))")
            }
            // No derivatives that day: a "no transactions" report.
            let empty = try await Self.generate(
                "emir_refit", period: "2026-04-01", account: id, harness: harness, headers: owner)
            #expect(empty.document.contains("<DataSetActn>NOTX</DataSetActn>"))
            #expect(
                try await Self.validate(empty.document, schema: Self.schemas + "/emir_refit/auth.030.001.03.xsd").0 == 0
            )

            func book(_ fields: String) async throws -> String {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner, json: #"{"accountId":"\#(id)",\#(fields)}"#)
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
                return try #require(Self.json(booked)["id"] as? String)
            }
            let future = try await book(
                #""symbol":"FDAX2606/EUR","side":"buy","quantity":2,"price":22000.5,"venue":"XEUR","ccpLei":"\#(ccp)","executedAt":"2026-04-02T08:00:00Z""#
            )
            let option = try await book(
                #""symbol":"COINC250/USD","side":"sell","quantity":3,"price":12.35,"venue":"XCBO","counterpartyLei":"\#(dealer)","executedAt":"2026-04-02T09:00:00Z""#
            )
            let forward = try await book(
                #""symbol":"EURUSDF/USD","side":"buy","quantity":1000000,"price":1.085,"counterpartyLei":"\#(bank)","executedAt":"2026-04-02T11:00:00Z""#
            )
            let busted = try await book(
                #""symbol":"FDAX2606/EUR","side":"buy","quantity":1,"price":22010,"venue":"XEUR","ccpLei":"\#(ccp)","executedAt":"2026-04-02T12:00:00Z""#
            )
            #expect(
                await harness.send(.patch, "/api/enterprise/trades/\(option)", headers: owner, json: #"{"quantity":4}"#)
                    .status.code == 204)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/trades/\(forward)/cancel", headers: owner,
                    json: #"{"reason":"unwound with the bank","kind":"termination"}"#
                ).status.code == 204)
            #expect(
                await harness.send(
                    .post, "/api/enterprise/trades/\(busted)/cancel", headers: owner, json: #"{"reason":"fat finger"}"#
                ).status.code == 204)
            try await harness.pool.execute("UPDATE t_acme.trade_amendments SET amended_at = '2026-04-02T10:00:00Z'")
            try await harness.pool.execute(
                "UPDATE t_acme.trades SET cancelled_at = CASE WHEN cancellation = 'termination' THEN timestamptz '2026-04-02T13:00:00Z' ELSE timestamptz '2026-04-02T14:00:00Z' END WHERE cancelled_at IS NOT NULL"
            )
            for (symbol, price) in [("FDAX2606/EUR", "22100.5"), ("COINC250/USD", "13")] {
                #expect(
                    await harness.send(
                        .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                        json: #"{"symbol":"\#(symbol)","price":\#(price),"asOf":"2026-04-02T17:00:00Z"}"#
                    ).status.code == 204)
            }
            let quarter = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/compliance/reports", headers: owner,
                json: #"{"type":"emir_refit","period":"2026-Q2"}"#)
            #expect(quarter.status.code == 400)

            let (summary, xml) = try await Self.generate(
                "emir_refit", period: "2026-04-02", account: id, harness: harness, headers: owner)
            let (status, output) = try await Self.validate(
                xml, schema: Self.schemas + "/emir_refit/auth.030.001.03.xsd")
            #expect(status == 0, "xmllint: \(output)")
            var records: [(action: String, body: String)] = []
            var rest = xml[...]
            while let start = rest.range(of: "<Rpt>"),
                let end = rest.range(of: "</Rpt>", range: start.upperBound..<rest.endIndex)
            {
                let body = rest[start.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
                records.append((String(body.dropFirst().prefix { $0 != ">" }), body))
                rest = rest[end.upperBound...]
            }
            func element(_ name: String, in text: String) -> String? {
                guard let start = text.range(of: "<\(name)>"),
                    let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
                else { return nil }
                return String(text[start.upperBound..<end.lowerBound])
            }
            #expect(
                records.map(\.action) == ["New", "New", "Mod", "New", "New", "Termntn", "Err", "ValtnUpd", "ValtnUpd"],
                "\(xml)")
            #expect(summary["new"] == "4" && summary["modified"] == "1" && summary["valuations"] == "2", "\(summary)")
            let uti = { (trade: String) in
                EMIRTradeReport.uti(lei: "529900T8BM49AURSDO55", tradeID: UUID(uuidString: trade)!)
            }
            // The cleared future: 2 contracts × 25 × 22,000.5 = 1,100,025 EUR on 50 index units.
            let first = records[0].body
            #expect(element("UnqTxIdr", in: first) == uti(future))
            #expect(element("CtrctTp", in: first) == "FUTR" && element("AsstClss", in: first) == "EQUI")
            #expect(element("PdctClssfctn", in: first) == "FFICSX")
            #expect(element("PdctId", in: first) == "<ISIN>DE000C6EV128</ISIN>")
            #expect(element("UndrlygInstrm", in: first) == "<ISIN>DE0008469008</ISIN>")
            #expect(element("NtnlAmt", in: first) == #"<FrstLeg><Amt><Amt Ccy="EUR">1100025</Amt></Amt></FrstLeg>"#)
            #expect(element("TtlQty", in: first) == "50" && element("Qty", in: first) == "<Unit>2</Unit>")
            #expect(element("PltfmIdr", in: first) == "XEUR" && element("XprtnDt", in: first) == "2026-06-19")
            #expect(
                element("TradClr", in: first)
                    == "<ClrSts><Clrd><Dtls><CCP><LEI>\(ccp)</LEI></CCP></Dtls></Clrd></ClrSts>")
            #expect(first.contains("<OthrCtrPty><IdTp><Lgl><Id><LEI>\(ccp)</LEI></Id></Lgl></IdTp></OthrCtrPty>"))
            // The booked notional counts the multiplier too (limits and daily totals add it up).
            let stored = try await harness.pool.query(
                "SELECT notional::text AS n FROM t_acme.trades WHERE id = \(future)::uuid"
            ).firstRow.decode("n", as: String.self)
            #expect(try ExactDecimal(parsing: stored) == ExactDecimal(1_100_025))
            // The option as sold (3 contracts), then modified to 4: 4 × 100 × 12.35 = 4,940 USD.
            #expect(
                element("Optn", in: records[1].body)
                    == #"<Tp>CALL</Tp><StrkPric><MntryVal><Amt Ccy="USD">250</Amt></MntryVal></StrkPric>"#)
            #expect(element("Qty", in: records[1].body) == "<Unit>3</Unit>")
            #expect(element("CtrPtySd", in: records[1].body) == "SLLR")
            #expect(element("Qty", in: records[2].body) == "<Unit>4</Unit>")
            #expect(
                element("NtnlAmt", in: records[2].body) == #"<FrstLeg><Amt><Amt Ccy="USD">4940</Amt></Amt></FrstLeg>"#)
            #expect(element("UnqPdctIdr", in: records[2].body) == "<Id>QZ7XT2B9K4LM</Id>")
            // The forward: bilateral, not cleared, off venue; terminated early, not an error.
            #expect(element("PltfmIdr", in: records[3].body) == "XXXX")
            #expect(element("TradClr", in: records[3].body) == "<ClrSts><NonClrd><Rsn>NORE</Rsn></NonClrd></ClrSts>")
            #expect(element("UndrlygInstrm", in: records[3].body) == "<IdNotAvlbl>UKWN</IdNotAvlbl>")
            #expect(element("UnqTxIdr", in: records[5].body) == uti(forward))
            #expect(element("EarlyTermntnDt", in: records[5].body) == "2026-04-02")
            #expect(
                element("UnqTxIdr", in: records[6].body) == uti(busted)
                    && element("EarlyTermntnDt", in: records[6].body) == nil)
            // Still outstanding at the day's end, marked to 22,100.5 and 13: the future gains
            // (22,100.5 − 22,000.5) × 2 × 25 = 5,000 EUR; the sold option loses (13 − 12.35) × 4 × 100 = 260 USD.
            #expect(element("UnqTxIdr", in: records[7].body) == uti(future))
            #expect(element("CtrctVal", in: records[7].body) == #"<Amt Ccy="EUR">5000</Amt><Sgn>true</Sgn>"#)
            #expect(element("UnqTxIdr", in: records[8].body) == uti(option))
            #expect(element("CtrctVal", in: records[8].body) == #"<Amt Ccy="USD">260</Amt><Sgn>false</Sgn>"#)
            #expect(element("Tp", in: records[8].body.components(separatedBy: "<Valtn>").last ?? "") == "MTMA")

            // A counterparty without an LEI is an error the user sees, never an empty element.
            let anonymous = try await book(
                #""symbol":"EURUSDF/USD","side":"sell","quantity":500000,"price":1.09,"counterparty":"Some Desk","executedAt":"2026-04-03T09:00:00Z""#
            )
            let error = try await Self.failure(
                "emir_refit", period: "2026-04-03", account: id, harness: harness, headers: owner)
            #expect(error.contains("\(anonymous) has no counterpartyLei"), "\(error)")
        }
    }
}
