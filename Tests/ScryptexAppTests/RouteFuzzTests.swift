import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Drives every route with extreme and malformed values, as an owner on the tenant's domain and
/// as a platform admin on the platform's, for `SCRYPTEX_ROUTE_FUZZ_SECONDS` (a few seconds in a
/// plain test run; `scripts/dev test` gives it a minute). A trap anywhere takes this process
/// down and fails the run; every answer must be a deliberate one (below 500).
///
/// Bodies are either a valid request of a route with one or more values replaced, or objects made
/// of the field names the routes read; values come from a pool of extremes: ±1e±400, 2^63, 2^127,
/// 39 digits, `NaN` as text, `-0`, huge and odd strings, wrong types, deep nesting.
@Suite("Every JSON route against extreme values", .serialized)
struct RouteFuzzTests {
    static let seconds = Double(ProcessInfo.processInfo.environment["SCRYPTEX_ROUTE_FUZZ_SECONDS"] ?? "") ?? 3
    static let seed = UInt64(ProcessInfo.processInfo.environment["SCRYPTEX_ROUTE_FUZZ_SEED"] ?? "") ?? 20_261_204

    static let numbers = [
        "1e400", "-1e400", "1e-400", "-1e-400", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "170141183460469231731687303715884105728", "123456789012345678901234567890123456789", "0", "-0", "-0.0",
        "0.000000000000000000000000000001", "1e30", "99999999999999999999.999999999999999999", "1e20", "1e19",
        "2.5", "-1", "1E+2", "3.4028236e38", "4294967296", "65536",
    ]
    static let strings = [
        "", " ", "NaN", "Infinity", "-0", "1e400", "1e30", "99999999999999999999", "2026-02-30", "2026-13",
        "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2026-12-04T15:00:00Z", "' OR 1=1 --", "../../etc/passwd",
        "<script>alert(1)</script>", "é̃🙂", String(repeating: "x", count: 5000), "BTC/USD", "buy", "sell",
        "owner", "admin", "trader", "hedge_fund", "US", "acme", "zenith", "approved", "sxk_0000000000000000",
        "\u{202E}", "a\\b", "null",
    ]
    static let unlimited = [
        "RATE_LIMIT_LOGIN": "1000000/s", "RATE_LIMIT_API_KEY": "1000000/s", "RATE_LIMIT_USER": "1000000/s",
        "RATE_LIMIT_TENANT": "1000000/s", "CUSTOM_DOMAIN_SUPPORT": "true",
    ]

    /// Every field name a route body reads, so random objects reach past "field required".
    static let fieldNames = [
        "accountId", "accountName", "accountType", "legalName", "jurisdiction", "totalAUM", "parentId", "symbol",
        "side", "quantity", "price", "venue", "counterparty", "walletAddress", "arrivalPrice", "reason", "amount",
        "currency", "usdValue", "direction", "address", "name", "email", "password", "role", "roles",
        "permissions", "expiresAt", "code", "tenant", "minutes", "hostname", "slug", "displayName", "domains",
        "features", "plan", "status", "events", "partner", "idempotencyKey", "product", "volume", "occurredAt",
        "percent", "tiers", "minimumGuarantee", "cap", "effectiveFrom", "maxOrderNotional", "dailyNotional",
        "positionLimits", "allowedInstruments", "allowedVenues", "engaged", "reviewDue", "priceDecimals",
        "quantityDecimals", "reportableLevel", "isin", "cusip", "type", "period", "note", "reference", "kind",
        "issuedOn", "expiresOn", "ownershipPercent", "upTo", "rateLimit", "revenueShare", "branding", "colors",
        "executedAt", "capacity", "shortSelling", "decisionMaker", "executingPerson", "counterpartyLei", "ccpLei",
        "aggregated", "derivative", "tradedInEEA", "cftcReportable", "mic", "country", "investmentDiscretion",
        "votingAuthority", "usdPerUnit", "asOf", "clientOrderId", "timeInForce", "reporting", "street1", "city",
        "stateOrCountry", "zipCode", "signatory", "form13FFileNumber", "title", "phone", "limit", "collateral",
        "maintenanceMargin", "warningShare", "active", "custodian", "custodianAccount", "custodyAccountId",
        "addressId", "label", "instructionId", "tradeDate", "holder", "bic", "account", "statement", "source",
        "sessionId", "schedule", "days", "start", "end", "timeZone", "to",
    ]

    /// Valid bodies of the routes that compute with numbers; `ACCOUNT` becomes a real account id.
    static let templates: [(HTTPMethod, String, String)] = [
        (
            .post, "/api/enterprise/compliance/check-trade",
            #"{"accountId":"ACCOUNT","symbol":"BTC/USD","side":"buy","quantity":"1.5","price":"50000","counterparty":"Acme Ltd"}"#
        ),
        (
            .post, "/api/enterprise/trades",
            #"{"accountId":"ACCOUNT","symbol":"BTC/USD","side":"sell","quantity":"2","price":"100"}"#
        ),
        (.patch, "/api/enterprise/trades/TRADE", #"{"quantity":"3","price":"101"}"#),
        (
            .put, "/api/enterprise/accounts/ACCOUNT/limits",
            #"{"maxOrderNotional":3000000,"dailyNotional":5000000,"positionLimits":{"BTC/USD":1000}}"#
        ),
        (
            .post, "/api/enterprise/accounts",
            #"{"accountName":"Fuzz Fund","accountType":"hedge_fund","legalName":"Fuzz Fund LLC","jurisdiction":"US","totalAUM":1000000}"#
        ),
        (.patch, "/api/enterprise/accounts/ACCOUNT", #"{"totalAUM":"2000000"}"#),
        (
            .post, "/api/enterprise/accounts/ACCOUNT/transfers",
            #"{"direction":"deposit","asset":"BTC","amount":"1","usdValue":"50000","address":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"}"#
        ),
        (.post, "/api/enterprise/compliance/reference-prices", #"{"symbol":"BTC/USD","price":50000}"#),
        (
            .post, "/api/enterprise/compliance/instruments",
            #"{"symbol":"ABC/USD","priceDecimals":2,"quantityDecimals":8}"#
        ),
        (
            .post, "/api/enterprise/compliance/instruments",
            #"{"symbol":"ABCF/USD","priceDecimals":2,"quantityDecimals":0,"cftcReportable":true,"reportableLevel":25,"derivative":{"contractType":"OPTN","assetClass":"EQUI","cfi":"OCASPS","upi":"QZ7XT2B9K4LM","notionalCurrency":"USD","maturity":"2026-12-18","optionType":"call","strike":"250","multiplier":"100"}}"#
        ),
        (
            .post, "/api/enterprise/trades",
            #"{"accountId":"ACCOUNT","symbol":"BTC/USD","side":"sell","quantity":"2","price":"100","venue":"XNAS","capacity":"MTCH","shortSelling":"SESH","counterpartyLei":"5493000IBP32UQZ0KL24","executingPerson":{"person":"DE19800101JOHN#SMITH","country":"DE","scheme":"CONCAT"},"decisionMaker":{"algorithm":"A-1"},"executedAt":"2026-05-04T09:30:00.123456Z"}"#
        ),
        (.post, "/api/enterprise/compliance/venues", #"{"mic":"ABCD","name":"A venue","country":"DE"}"#),
        (
            .put, "/api/enterprise/compliance/form-13f-managers/0001234567",
            #"{"name":"Acme LLC","address":{"street1":"1 Main Street","city":"New York","stateOrCountry":"NY","zipCode":"10001"},"signatory":{"name":"Jane Doe","title":"CCO","phone":"212-555-0100","city":"New York","stateOrCountry":"NY"}}"#
        ),
        (
            .put, "/api/enterprise/accounts/ACCOUNT/compliance/form-13f",
            #"{"investmentDiscretion":"SOLE","votingAuthority":"none"}"#
        ),
        (.post, "/api/enterprise/api-keys", #"{"name":"k","roles":["viewer"],"expiresAt":"2030-01-01T00:00:00Z"}"#),
        (.post, "/admin/api/break-glass", #"{"tenant":"acme","reason":"a reason of some length","minutes":5}"#),
        (
            .post, "/api/enterprise/white-label/fee-events",
            #"{"events":[{"partner":"acme","idempotencyKey":"k1","product":"trading_fees","amount":"10","currency":"USD","volume":"100","occurredAt":"2026-11-02T10:00:00Z"}]}"#
        ),
        (
            .post, "/api/enterprise/white-label/acme/payouts",
            #"{"amount":"10","currency":"USD","period":"2026-11","reference":"wire 1"}"#
        ),
        (.post, "/api/enterprise/white-label/acme/plans", #"{"percent":"20","effectiveFrom":"2026-12"}"#),
        (
            .post, "/api/enterprise/tradfi/credit-lines",
            #"{"accountId":"ACCOUNT","limit":"100000","collateral":"5000","maintenanceMargin":"0.25","warningShare":"0.8"}"#
        ),
        (
            .post, "/api/enterprise/tradfi/credit-lines",
            #"{"accountId":"ACCOUNT","counterparty":"Acme Ltd","limit":"250000.5","maintenanceMargin":"0.1"}"#
        ),
        (
            .post, "/api/enterprise/tradfi/settlements",
            #"{"instructionId":"S-1","accountId":"ACCOUNT","counterparty":"Acme Ltd","currency":"USD","tradeDate":"2026-12-01"}"#
        ),
        (
            .post, "/api/enterprise/tradfi/reconciliations",
            #"{"source":"broker_csv","name":"s.csv","statement":"account,asset,quantity\nACCOUNT,BTC/USD,1.5\n"}"#
        ),
        (
            .post, "/api/enterprise/tradfi/custody-accounts",
            #"{"accountId":"ACCOUNT","name":"Vault","custodian":"simulated","custodianAccount":"SIM-1"}"#
        ),
    ]

    @Test func noRouteAnswersWithAServerErrorOrTraps() async throws {
        try await RouteHarness.with(environment: Self.unlimited) { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let admin = try await IdentityService(pool: harness.pool, keyring: harness.keyring).createAdminKey(
                name: "fuzz", expiresAt: nil)
            let account = try await HardeningTests.approvedAccount(harness, owner: owner)
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json: #"{"accountId":"\#(account)","symbol":"BTC/USD","side":"buy","quantity":"1","price":"100"}"#)
            let trade = HardeningTests.json(booked)["id"] as? String ?? UUID().uuidString.lowercased()

            var random = SeededGenerator(seed: Self.seed)
            let entries = harness.routes.entries
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            var sent = 0
            var statuses: [Int: Int] = [:]
            var failures: [String] = []
            while ContinuousClock.now < deadline, failures.count < 20 {
                let method: HTTPMethod
                var path: String
                let body: String
                if Bool.random(using: &random) {
                    let template = Self.templates.randomElement(using: &random)!
                    method = template.0
                    path = template.1
                    body = Self.mutate(template.2, using: &random)
                } else {
                    let entry = entries.randomElement(using: &random)!
                    method = entry.method
                    path = entry.path
                    body = Self.randomValue(depth: 0, object: true, using: &random)
                }
                path = path.replacingOccurrences(of: "ACCOUNT", with: account).replacingOccurrences(
                    of: "TRADE", with: trade)
                path = Self.fillParameters(path, account: account, using: &random)
                let onPlatform = path.hasPrefix("/admin") || path.contains("white-label")
                let answer = await harness.send(
                    method, path, host: onPlatform ? "localhost" : "acme.localhost",
                    headers: onPlatform ? [("Authorization", "Bearer " + admin.text)] : owner,
                    json: method == .get || method == .delete ? nil : body)
                sent += 1
                statuses[answer.status.code, default: 0] += 1
                if answer.status.code >= 500 {
                    failures.append(
                        "\(method) \(path) \(body.prefix(300)) → \(answer.status.code) "
                            + String(decoding: answer.body.prefix(300), as: UTF8.self))
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(sent > 0)
            // The service still does its work afterwards.
            let check = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json: #"{"accountId":"\#(account)","symbol":"BTC/USD","side":"buy","quantity":"1","price":"100"}"#)
            #expect(check.status.code == 200)
            print(
                "route fuzz: \(sent) requests in \(Self.seconds) s (seed \(Self.seed)); statuses \(statuses.sorted { $0.key < $1.key })"
            )
        }
    }

    static func fillParameters(_ path: String, account: String, using random: inout SeededGenerator) -> String {
        let choices = [
            account, UUID().uuidString.lowercased(), "acme", "zenith", "2026-11", "2026-13", "9999-99", "-1",
            "%00", "..", "x", String(repeating: "9", count: 60), "sxk_0000000000000000", "trade.acme.example",
        ]
        return path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? choices.randomElement(using: &random)! : String(part)
        }.joined(separator: "/")
    }

    /// Replaces one to three values of a flat JSON object with extremes (or drops the field).
    static func mutate(_ template: String, using random: inout SeededGenerator) -> String {
        guard var object = try? JSONSerialization.jsonObject(with: Data(template.utf8)) as? [String: Any] else {
            return template
        }
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard let key = object.keys.sorted().randomElement(using: &random) else { break }
            if Int.random(in: 0..<10, using: &random) == 0 {
                object[key] = nil
            } else {
                object[key] = RawJSON(randomValue(depth: 1, object: false, using: &random))
            }
        }
        return "{"
            + object.keys.sorted().map { key in
                let value = object[key]!
                let text =
                    (value as? RawJSON)?.text
                    ?? String(
                        decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]))
                            ?? Data("null".utf8), as: UTF8.self)
                return "\"\(key)\":\(text)"
            }.joined(separator: ",") + "}"
    }

    struct RawJSON {
        var text: String
        init(_ text: String) { self.text = text }
    }

    static func quoted(_ string: String) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: string, options: [.fragmentsAllowed])) ?? Data(),
            as: UTF8.self)
    }

    static func randomValue(depth: Int, object: Bool, using random: inout SeededGenerator) -> String {
        let kind = object ? 0 : Int.random(in: 0..<10, using: &random)
        switch kind {
        case 0 where depth < 4:
            let count = Int.random(in: 0...6, using: &random)
            let fields = (0..<count).map { _ in
                quoted(fieldNames.randomElement(using: &random)!) + ":"
                    + randomValue(depth: depth + 1, object: false, using: &random)
            }
            // Keys drawn twice are refused as duplicates; keep one of each.
            var seen = Set<String>()
            let unique = fields.filter { seen.insert(String($0.prefix { $0 != ":" })).inserted }
            return "{" + unique.joined(separator: ",") + "}"
        case 1 where depth < 4:
            let count = Int.random(in: 0...4, using: &random)
            return "["
                + (0..<count).map { _ in randomValue(depth: depth + 1, object: false, using: &random) }.joined(
                    separator: ",") + "]"
        case 2, 3: return numbers.randomElement(using: &random)!
        case 4, 5: return quoted(numbers.randomElement(using: &random)!)
        case 6, 7: return quoted(strings.randomElement(using: &random)!)
        case 8: return ["true", "false", "null"].randomElement(using: &random)!
        default: return quoted(UUID().uuidString.lowercased())
        }
    }
}
