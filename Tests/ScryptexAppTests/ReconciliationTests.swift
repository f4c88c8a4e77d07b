import Foundation
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Position reconciliation", .serialized)
struct ReconciliationTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static let path = "/api/enterprise/tradfi/reconciliations"

    static func body(_ source: String, statement: String, extra: String = "") -> String {
        let escaped = statement.replacingOccurrences(of: "\n", with: "\\n")
        return #"{"source":"\#(source)","name":"broker-2026-12-06.csv","statement":"\#(escaped)"\#(extra)}"#
    }

    /// A broker's statement with one planted break: the break is found with its cause and
    /// figures, ages from statement to statement, and is resolved with an audit record; a
    /// holder the book does not know and a holding the statement leaves out are breaks too; a
    /// statement as of a day before the trades finds the book empty; a malformed statement is
    /// refused by line with nothing stored; the command line reconciles the same way.
    @Test func aBrokerStatementWithOnePlantedBreakIsFoundAgedAndResolved() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            for (symbol, quantity, price) in [("ETH/USD", "3", "2500"), ("BTC/USD", "1", "60000")] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(account)","symbol":"\#(symbol)","side":"buy","quantity":\#(quantity),"price":\#(price)}"#
                )
                #expect(booked.status == .created, "\(Self.text(booked))")
            }
            let statement =
                "account,asset,quantity,currency\n\(account),ETH/USD,3.000,USD\n\(account),BTC/USD,0.9,USD\n"
            let first = await harness.send(
                .post, Self.path, headers: owner, json: Self.body("broker_csv", statement: statement))
            #expect(first.status == .created, "\(Self.text(first))")
            let report = Self.json(first)
            #expect(
                report["rowsRead"] as? Int == 2 && report["matched"] as? Int == 1 && report["breakCount"] as? Int == 1)
            let found = try #require((report["breaks"] as? [[String: Any]])?.first)
            #expect(found["cause"] as? String == "quantity_mismatch" && found["asset"] as? String == "BTC/USD")
            #expect(found["internalQuantity"] as? String == "1" && found["externalQuantity"] as? String == "0.9")
            #expect(found["difference"] as? String == "-0.1" && found["ageDays"] as? Int == 0, "\(found)")

            // Three days later the broker still says 0.9: the break carries its age.
            try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await $0.execute(
                    "UPDATE tradfi_reconciliation_breaks SET first_seen_at = now() - interval '3 days 1 hour'")
            }
            let second = Self.json(
                await harness.send(
                    .post, Self.path, headers: owner, json: Self.body("broker_csv", statement: statement)))
            let aged = try #require((second["breaks"] as? [[String: Any]])?.first)
            #expect(aged["ageDays"] as? Int == 3, "\(aged)")
            let open = Self.json(
                await harness.send(.get, "/api/enterprise/tradfi/reconciliation-breaks?status=open", headers: owner))
            #expect((open["breaks"] as? [[String: Any]])?.map { $0["id"] as? String } == [aged["id"] as? String])
            let superseded = Self.json(
                await harness.send(
                    .get, "/api/enterprise/tradfi/reconciliation-breaks?status=superseded", headers: owner))
            #expect((superseded["breaks"] as? [Any])?.count == 1)

            let breakID = try #require(aged["id"] as? String)
            let resolve = "/api/enterprise/tradfi/reconciliation-breaks/\(breakID)/resolve"
            #expect(
                await harness.send(.post, resolve, headers: owner, json: #"{"resolution":"x"}"#).status == .badRequest)
            let resolved = await harness.send(
                .post, resolve, headers: owner,
                json: #"{"resolution":"the broker booked a 0.1 BTC fill twice; corrected"}"#)
            #expect(Self.json(resolved)["status"] as? String == "resolved", "\(Self.text(resolved))")
            #expect(
                await harness.send(.post, resolve, headers: owner, json: #"{"resolution":"again, twice"}"#).status
                    == .notFound)
            let audit = Self.text(
                await harness.send(
                    .get, "/api/enterprise/audit-trail?action=tradfi.reconciliation_break_resolved", headers: owner))
            #expect(audit.contains("corrected"), "\(audit)")

            // A holder the book does not know, one named by its account name, a holding left out.
            let third = Self.json(
                await harness.send(
                    .post, Self.path, headers: owner,
                    json: Self.body(
                        "broker_csv", statement: "asset,quantity,account\nETH/USD,3,Prime\nETH/USD,5,Unknown Fund\n")))
            let causes = (third["breaks"] as? [[String: Any]])?.map {
                "\($0["externalAccount"] ?? "")/\($0["cause"] ?? "")"
            }
            #expect(causes?.sorted() == ["Prime/missing_externally", "Unknown Fund/unknown_account"], "\(third)")
            #expect(third["matched"] as? Int == 1)

            // As of yesterday the book held nothing: both holdings are missing from it.
            let yesterday = PostgresDate(containing: Date()).adding(days: -1)
            let before = Self.json(
                await harness.send(
                    .post, Self.path, headers: owner,
                    json: Self.body("broker_csv", statement: statement, extra: #","asOf":"\#(yesterday)""#)))
            #expect(
                (before["breaks"] as? [[String: Any]])?.map { $0["cause"] as? String }
                    == ["missing_internally", "missing_internally"], "\(before)")

            let count = Self.json(await harness.send(.get, Self.path, headers: owner))["reconciliations"] as? [Any]
            for (json, message) in [
                (
                    Self.body("broker_csv", statement: "account,asset,quantity\n\(account),ETH/USD,abc\n"),
                    "line 2: quantity 'abc'"
                ),
                (Self.body("broker_csv", statement: "holder,asset,quantity\n"), "the header must name"),
                (
                    Self.body("broker_csv", statement: "account,asset,quantity\n\(account),ETH/USD\n"),
                    "line 2: 2 fields"
                ),
                (Self.body("ledger", statement: "x"), "field 'source'"),
                (Self.body("custodian_csv", statement: "account,asset,quantity\nA,BTC,1\n"), "field 'custodian'"),
                (#"{"source":"fix_positions"}"#, "field 'sessionId'"),
            ] {
                let answer = await harness.send(.post, Self.path, headers: owner, json: json)
                #expect(answer.status == .badRequest && Self.text(answer).contains(message), "\(Self.text(answer))")
            }
            let after = Self.json(await harness.send(.get, Self.path, headers: owner))["reconciliations"] as? [Any]
            #expect(after?.count == count?.count)

            // The command line: the same statement from a file; breaks exit 1.
            let file = "/tmp/scryptex-statement-\(UUID().uuidString).csv"
            try statement.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let program = CapturedProgram()
            let status = await program.run(
                ["reconcile", "--tenant", harness.tenant.slug.description, "--source", "broker_csv", "--file", file],
                environment: ["DATABASE_URL": harness.pool.configuration.url()])
            #expect(status == 1, "\(program.output) \(program.errors)")
            #expect(
                program.output.contains {
                    $0.hasPrefix("BREAK") && $0.contains("BTC/USD  quantity_mismatch  book 1  statement 0.9")
                })
            #expect(program.output.last?.contains("2 rows, 1 matched, 1 breaks") == true, "\(program.output)")
        }
    }

    /// A custodian's statement against the custody balances its completed movements left.
    @Test func aCustodianStatementIsMatchedAgainstCustodyBalances() async throws {
        try await RouteHarness.with { harness in
            let (maker, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let checker = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let custody = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/tradfi/custody-accounts", headers: maker,
                        json:
                            #"{"accountId":"\#(account)","name":"Vault","custodian":"simulated","custodianAccount":"SIM-77"}"#
                    ))["id"] as? String)
            let deposits = "/api/enterprise/tradfi/custody-accounts/\(custody)/deposits"
            let deposit = try #require(
                Self.json(
                    await harness.send(
                        .post, deposits, headers: maker, json: #"{"asset":"BTC","quantity":"10","reference":"tx-77"}"#)
                )["id"] as? String)
            _ = await harness.send(.post, deposits + "/\(deposit)/approve", headers: checker)
            let statement = "account,asset,quantity\nSIM-77,BTC,10\nSIM-77,ETH,2\nSIM-99,BTC,1\n"
            let result = Self.json(
                await harness.send(
                    .post, Self.path, headers: maker,
                    json: Self.body("custodian_csv", statement: statement, extra: #","custodian":"simulated""#)))
            #expect(result["matched"] as? Int == 1, "\(result)")
            let causes = (result["breaks"] as? [[String: Any]])?.map {
                "\($0["externalAccount"] ?? "")/\($0["asset"] ?? "")/\($0["cause"] ?? "")"
            }
            #expect(causes == ["SIM-77/ETH/missing_internally", "SIM-99/BTC/unknown_account"], "\(result)")
        }
    }
}
