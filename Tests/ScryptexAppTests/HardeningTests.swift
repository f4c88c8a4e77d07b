import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// The defects an attack on a running host found (issue 14), each reproduced as the attacker did
/// it, through the routes.
@Suite("Hardening: what an attacker tried", .serialized)
struct HardeningTests {
    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// An approved account with no limits, for trading.
    static func approvedAccount(_ harness: RouteHarness, owner: [(String, String)]) async throws -> String {
        let created = await harness.send(
            .post, "/api/enterprise/accounts", headers: owner,
            json:
                #"{"accountName":"Big Fund","accountType":"hedge_fund","legalName":"Big Fund LLC","jurisdiction":"US","totalAUM":1000}"#
        )
        let id = try #require(Self.json(created)["id"] as? String, "\(Self.text(created))")
        _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
        // A second person approves (four eyes).
        let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
        _ = await harness.send(
            .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
            json: #"{"status":"approved","reason":"verified"}"#)
        return id
    }

    @Test func extremeNumbersAreRefusedAndNeverTrap() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let id = try await Self.approvedAccount(harness, owner: owner)
            func check(_ quantity: String, _ price: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/compliance/check-trade", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"BTC/USD","side":"buy","quantity":\#(quantity),"price":\#(price)}"#
                )
            }
            // Each of these trapped in ExactDecimal before and took the process down.
            for (quantity, price) in [
                (#""1e30""#, #""1e30""#), ("1e30", "1e30"), (#""99999999999999999999""#, #""99999999999999999999""#),
                (#""1e400""#, "1"), ("1", #""-0""#), (#""NaN""#, "1"), ("170141183460469231731687303715884105727", "1"),
            ] {
                let answer = await check(quantity, price)
                #expect(answer.status.code == 400, "\(quantity) × \(price): \(answer.status) \(Self.text(answer))")
            }
            let trade = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"BTC/USD","side":"buy","quantity":"1e20","price":"1e20"}"#)
            #expect(trade.status.code == 400, "\(Self.text(trade))")
            #expect(Self.text(trade).contains("quantity"))
            // A large booked trade, then a check whose day total (read back from numeric(38, 18),
            // with 18 zeros after the point) took 39 digits and trapped: now it is computed exactly.
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner, json: #"{"dailyNotional":1000}"#)
            let big = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(id)","symbol":"BTC/USD","side":"buy","quantity":"90000000000000000000","price":"1"}"#
            )
            #expect(big.status.code == 201, "\(Self.text(big))")
            let after = await check(#""90000000000000000000""#, "1")
            #expect(after.status.code == 200, "\(after.status) \(Self.text(after))")
            #expect(
                Self.text(after).contains("today's notional would be 180000000000000000000"), "\(Self.text(after))")
            // The host still answers a normal check.
            #expect(await check("1", "100").status.code == 200)
        }
    }

    @Test func breakGlassMinutesAreBounded() async throws {
        try await RouteHarness.with { harness in
            let token = try await IdentityService(pool: harness.pool, keyring: harness.keyring).createAdminKey(
                name: "ops", expiresAt: nil)
            for minutes in ["200000000000000000", "-5", "0", "481"] {
                let answer = await harness.send(
                    .post, "/admin/api/break-glass", host: "localhost",
                    headers: [("Authorization", "Bearer " + token.text)],
                    json: #"{"tenant":"acme","reason":"investigating a reported outage","minutes":\#(minutes)}"#)
                #expect(answer.status.code == 400, "minutes \(minutes): \(answer.status) \(Self.text(answer))")
            }
            let granted = await harness.send(
                .post, "/admin/api/break-glass", host: "localhost",
                headers: [("Authorization", "Bearer " + token.text)],
                json: #"{"tenant":"acme","reason":"investigating a reported outage","minutes":30}"#)
            #expect(granted.status.code == 201)
        }
    }

    /// Every role tries to hand out more than it holds: keys, users and custom roles.
    @Test func noCredentialGrantsMoreThanItHolds() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            // A custom role holding only the right to manage keys, and one only to manage users.
            for (name, permission) in [("key_clerk", "api_keys.manage"), ("user_clerk", "users.manage")] {
                let defined = await harness.send(
                    .post, "/api/enterprise/roles", headers: owner,
                    json: #"{"name":"\#(name)","permissions":["\#(permission)"]}"#)
                #expect(defined.status.code == 201, "\(Self.text(defined))")
            }
            var grantors = ["key_clerk": try await harness.apiKey(roles: ["key_clerk"])]
            grantors["user_clerk"] = try await harness.apiKey(roles: ["user_clerk"])
            for role in Role.builtIn { grantors[role.name] = try await harness.apiKey(roles: [role.name]) }
            let heldBy: [String: Set<Permission>] = [
                "key_clerk": [.apiKeysManage], "user_clerk": [.usersManage],
            ].merging(Role.builtIn.map { ($0.name, $0.permissions) }, uniquingKeysWith: { $1 })

            var user = 0
            for (grantor, key) in grantors.sorted(by: { $0.key < $1.key }) {
                let headers = [("Authorization", "Bearer " + key)]
                let held = heldBy[grantor]!
                for target in Role.builtIn {
                    let allowed = target.permissions.isSubset(of: held) && (target != .owner || grantor == "owner")
                    let keyAnswer = await harness.send(
                        .post, "/api/enterprise/api-keys", headers: headers,
                        json: #"{"name":"minted","roles":["\#(target.name)"]}"#)
                    user += 1
                    let userAnswer = await harness.send(
                        .post, "/api/enterprise/users", headers: headers,
                        json:
                            #"{"email":"u\#(user)@acme.example","password":"correct horse battery","role":"\#(target.name)"}"#
                    )
                    if held.contains(.apiKeysManage) {
                        #expect(
                            (keyAnswer.status.code == 201) == allowed,
                            "\(grantor) minting a \(target.name) key: \(keyAnswer.status) \(Self.text(keyAnswer))")
                    } else {
                        #expect(keyAnswer.status.code == 403)
                    }
                    if held.contains(.usersManage) {
                        #expect(
                            (userAnswer.status.code == 201) == allowed,
                            "\(grantor) creating a \(target.name) user: \(userAnswer.status) \(Self.text(userAnswer))")
                    } else {
                        #expect(userAnswer.status.code == 403)
                    }
                }
                // A custom role is no way around it: only held permissions go into one.
                let everything = Permission.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
                let role = await harness.send(
                    .post, "/api/enterprise/roles", headers: headers,
                    json: #"{"name":"all_of_it_\#(grantor)","permissions":[\#(everything)]}"#)
                #expect(
                    (role.status.code == 201) == (grantor == "owner"),
                    "\(grantor) defining an all-permission role: \(role.status)")
            }
            // Revoking, every role against a key of every role: only holders of api_keys.manage
            // revoke, and only owners revoke an owner's key.
            for (revoker, key) in grantors.sorted(by: { $0.key < $1.key }) {
                for target in Role.builtIn {
                    let victim = try await harness.apiKey(roles: [target.name])
                    let prefix = String(victim.prefix(while: { $0 != "." }))
                    let answer = await harness.send(
                        .delete, "/api/enterprise/api-keys/\(prefix)", headers: [("Authorization", "Bearer " + key)])
                    let expected =
                        !heldBy[revoker]!.contains(.apiKeysManage) || (target == .owner && revoker != "owner")
                        ? 403 : 204
                    #expect(
                        answer.status.code == expected, "\(revoker) revoking a \(target.name) key: \(answer.status)")
                }
            }
        }
    }

    /// Signs up a user with MFA on; returns the session, the authenticator and its recovery codes.
    static func userWithMFA(
        _ harness: RouteHarness, owner: [(String, String)]
    ) async throws -> (
        session: [(String, String)], totp: TimeBasedOneTimePassword, recoveryCodes: [String]
    ) {
        _ = await harness.send(
            .post, "/api/enterprise/users", headers: owner,
            json: #"{"email":"mfa@acme.example","password":"correct horse battery","role":"trader"}"#)
        let login = await harness.send(
            .post, "/api/enterprise/auth/login",
            json: #"{"email":"mfa@acme.example","password":"correct horse battery"}"#)
        let cookie = try #require(login.headers.first("Set-Cookie"))
        let session = [("Cookie", String(cookie.split(separator: ";")[0]))]
        let enroll = await harness.send(.post, "/api/enterprise/auth/mfa/enroll", headers: session)
        let secret = try #require(Self.json(enroll)["secret"] as? String, "\(Self.text(enroll))")
        let totp = TimeBasedOneTimePassword(secret: try #require(Base32.decode(secret)))
        let confirm = await harness.send(
            .post, "/api/enterprise/auth/mfa/confirm", headers: session,
            json: #"{"code":"\#(totp.code(at: Int64(Date().timeIntervalSince1970) - 30))"}"#)
        let codes = try #require(Self.json(confirm)["recoveryCodes"] as? [String], "\(Self.text(confirm))")
        return (session, totp, codes)
    }

    @Test func aSessionAloneCannotReplaceTheSecondFactor() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let (session, totp, codes) = try await Self.userWithMFA(harness, owner: owner)
            let now = Int64(Date().timeIntervalSince1970)
            // A stolen session, without the password and a code, is refused; MFA stays on.
            #expect(await harness.send(.post, "/api/enterprise/auth/mfa/enroll", headers: session).status.code == 400)
            let wrongPassword = await harness.send(
                .post, "/api/enterprise/auth/mfa/enroll", headers: session,
                json: #"{"password":"not the password","code":"\#(totp.code(at: now))"}"#)
            #expect(wrongPassword.status.code == 403)
            let withoutCode = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"mfa@acme.example","password":"correct horse battery"}"#)
            #expect(withoutCode.status.code == 401, "MFA was switched off")

            // With both factors a new authenticator is started, but the old one stays in force
            // until the new one is confirmed.
            let started = await harness.send(
                .post, "/api/enterprise/auth/mfa/enroll", headers: session,
                json: #"{"password":"correct horse battery","code":"\#(codes[0])"}"#)
            #expect(started.status.code == 200, "\(Self.text(started))")
            let newSecret = try #require(Self.json(started)["secret"] as? String)
            let newTOTP = TimeBasedOneTimePassword(secret: try #require(Base32.decode(newSecret)))
            let oldStillWorks = await harness.send(
                .post, "/api/enterprise/auth/login",
                json:
                    #"{"email":"mfa@acme.example","password":"correct horse battery","code":"\#(totp.code(at: now))"}"#
            )
            #expect(oldStillWorks.status.code == 200)
            let confirmed = await harness.send(
                .post, "/api/enterprise/auth/mfa/confirm", headers: session,
                json: #"{"code":"\#(newTOTP.code(at: now))"}"#)
            #expect(confirmed.status.code == 200, "\(Self.text(confirmed))")
            let oldAfter = await harness.send(
                .post, "/api/enterprise/auth/login",
                json:
                    #"{"email":"mfa@acme.example","password":"correct horse battery","code":"\#(totp.code(at: now + 30))"}"#
            )
            #expect(oldAfter.status.code == 401, "the replaced authenticator still signs in")
        }
    }

    @Test func oneCodeSignsInOnceEvenConcurrently() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let (_, totp, _) = try await Self.userWithMFA(harness, owner: owner)
            let code = totp.code(at: Int64(Date().timeIntervalSince1970) + 30)
            let statuses = await withTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        await harness.send(
                            .post, "/api/enterprise/auth/login",
                            json: #"{"email":"mfa@acme.example","password":"correct horse battery","code":"\#(code)"}"#
                        ).status.code
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        }
    }

    @Test func keyExpiriesAreRFC3339TimestampsInTheFuture() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            func create(_ expiresAt: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/api-keys", headers: owner,
                    json: #"{"name":"temporary","roles":["viewer"],"expiresAt":\#(expiresAt)}"#)
            }
            let inAnHour = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            let created = await create("\"\(inAnHour)\"")
            #expect(created.status.code == 201, "\(Self.text(created))")
            let expiry = (Self.json(created)["apiKey"] as? [String: Any])?["expiresAt"] as? String
            #expect(expiry == inAnHour)
            #expect(await create(#""2026-12-04T15:00:00.250+01:00""#).status.code == 400, "a time in the past")
            let number = await create("3600")
            #expect(number.status.code == 400)
            #expect(Self.text(number).contains("RFC 3339"))
            #expect(await create(#""next tuesday""#).status.code == 400)
        }
    }

    @Test func thePlatformDomainBelongsToNoTenant() async throws {
        try await RouteHarness.with(environment: ["RATE_LIMIT_LOGIN": "1000/s", "CUSTOM_DOMAIN_SUPPORT": "true"]) {
            harness in
            let token = try await IdentityService(pool: harness.pool, keyring: harness.keyring).createAdminKey(
                name: "ops", expiresAt: nil)
            for hostname in ["localhost", "LOCALHOST.", "zenith.localhost", "admin.localhost", "127.0.0.1"] {
                let answer = await harness.send(
                    .post, "/admin/api/tenants/acme/domains", host: "localhost",
                    headers: [("Authorization", "Bearer " + token.text)], json: #"{"hostname":"\#(hostname)"}"#)
                #expect(answer.status.code == 400, "\(hostname): \(answer.status) \(Self.text(answer))")
            }
            let custom = await harness.send(
                .post, "/admin/api/tenants/acme/domains", host: "localhost",
                headers: [("Authorization", "Bearer " + token.text)], json: #"{"hostname":"trade.acme-fund.example"}"#)
            #expect(custom.status.code == 201, "\(Self.text(custom))")
            // The admin API still answers on the platform domain.
            let listed = await harness.send(
                .get, "/admin/api/tenants", host: "localhost", headers: [("Authorization", "Bearer " + token.text)])
            #expect(listed.status.code == 200)
        }
    }

    @Test func jsonBodiesAreCheckedBeforeAnyRouteSeesThem() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            for (body, message) in [
                (#"{"accountName":"A\u0000B","accountType":"hedge_fund"}"#, "NUL"),
                (#"{"accountName":"A","accountName":"B"}"#, "appears more than once"),
            ] {
                let answer = await harness.send(.post, "/api/enterprise/accounts", headers: owner, json: body)
                #expect(answer.status.code == 400 && Self.text(answer).contains(message), "\(Self.text(answer))")
            }
            // Without a declared JSON type (a cross-site form post), nothing is read.
            let request = HTTPRequest(
                method: .post, target: "/api/enterprise/accounts",
                headers: HTTPHeaders([("Host", "acme.localhost")] + owner), body: Array(#"{"accountName":"A"}"#.utf8))
            let context = RequestContext(
                requestID: "test", logger: TestDatabase.logger, serverName: "acme.localhost", isSecure: true,
                remoteAddress: "127.0.0.1")
            #expect(await harness.application.respond(to: request, context: context).status.code == 415)
        }
    }

    /// What someone with the database's superuser rights does: change a record, then recompute
    /// every later link so the chain itself is consistent again.
    static func rewriteAsSuperuser(_ harness: RouteHarness, position: Int) async throws {
        try await harness.pool.withTransaction { transaction in
            try await transaction.executeScript(
                """
                SET LOCAL session_replication_role = replica;
                UPDATE t_acme.audit_records SET actor = 'user:forged' WHERE chain_position = \(position);
                DO $$
                DECLARE
                    r record;
                    previous text;
                BEGIN
                    SELECT record_hash INTO previous FROM t_acme.audit_records WHERE chain_position = \(position) - 1;
                    FOR r IN SELECT * FROM t_acme.audit_records WHERE chain_position >= \(position)
                             ORDER BY chain_position LOOP
                        UPDATE t_acme.audit_records SET previous_hash = previous,
                            record_hash = encode(sha256(convert_to(t_acme.audit_canonical(r.chain_position,
                                r.occurred_at, r.actor, r.action, r.object_type, r.object_id, r.account_id,
                                r.request_id, r.details, previous), 'UTF8')), 'hex')
                        WHERE chain_position = r.chain_position RETURNING record_hash INTO previous;
                    END LOOP;
                END
                $$;
                """
            )
        }
    }

    @Test func aSealedTrailRewrittenWithSuperuserRightsIsCaught() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            for index in 0..<5 {
                _ = await harness.send(
                    .post, "/api/enterprise/roles", headers: owner,
                    json: #"{"name":"role_\#(index)","permissions":["accounts.read"]}"#)
            }
            let schema = harness.tenant.schema
            let seal = try #require(try await harness.sealing.seal(schema, on: harness.pool))
            #expect(seal.isSigned(by: harness.sealing.publicKey))
            #expect(try harness.sealing.log.latestSeal(of: schema.name) == seal)
            // Nothing new: no new seal.
            #expect(try await harness.sealing.seal(schema, on: harness.pool) == nil)

            let verify = await harness.send(.get, "/api/enterprise/audit-trail/verify", headers: owner)
            #expect(HardeningTests.json(verify)["sealedThrough"] as? Int == Int(seal.position), "\(Self.text(verify))")
            let export = Self.text(await harness.send(.get, "/api/enterprise/audit-trail/export", headers: owner))
            #expect(export.split(separator: "\n").last?.hasPrefix(#"{"seal":"#) == true)
            #expect(try AuditExport.verify(export, checkpointKey: nil, sealKey: harness.sealing.publicKey).isIntact)

            try await Self.rewriteAsSuperuser(harness, position: 3)
            // The chain alone cannot tell…
            let chainOnly = try await harness.pool.withTransaction { transaction in
                try await AuditTrail(schema: schema).verify(in: transaction, checkpointKey: nil)
            }
            #expect(chainOnly.isIntact)
            // …the seal can: online, from the command line's path, and in a new export.
            let caught = Self.text(await harness.send(.get, "/api/enterprise/audit-trail/verify", headers: owner))
            #expect(caught.contains("the trail was rewritten"), "\(caught)")
            let rewritten = Self.text(await harness.send(.get, "/api/enterprise/audit-trail/export", headers: owner))
            let offline = try AuditExport.verify(rewritten, checkpointKey: nil, sealKey: harness.sealing.publicKey)
            #expect(offline.firstBrokenLink?.position == seal.position)

            // A seal forged with another key is refused, and so is one whose head was swapped.
            let forger = try P256SigningKey.generate()
            var forged = try AuditSeal.sign(
                trail: schema.name, position: seal.position, headHash: seal.headHash, with: forger)
            #expect(!forged.isSigned(by: harness.sealing.publicKey))
            forged = seal
            forged.headHash = String(repeating: "a", count: 64)
            #expect(!forged.isSigned(by: harness.sealing.publicKey))

            // Records removed from the end, below a seal, are caught too.
            try await harness.pool.withTransaction { transaction in
                try await transaction.executeScript(
                    """
                    SET LOCAL session_replication_role = replica;
                    DELETE FROM t_acme.audit_records WHERE chain_position >= 4;
                    """
                )
            }
            let truncated = try await harness.pool.withTransaction { transaction in
                try await harness.sealing.verify(
                    schema, checkpointKey: harness.keyring.auditCheckpointKey, in: transaction)
            }
            #expect(truncated.firstBrokenLink?.problem.contains("the trail ends at record 3") == true, "\(truncated)")
        }
    }

    @Test func aTenantsOwnRoleCannotWriteItsTrail() async throws {
        try await RouteHarness.with { harness in
            let attempt = await #expect(throws: PostgresError.self) {
                try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction { transaction in
                    try await transaction.execute(
                        """
                        INSERT INTO audit_records (actor, action, details, previous_hash, record_hash)
                        VALUES ('user:someone-else', 'account.deleted', '{}', '', '')
                        """
                    )
                }
            }
            #expect(attempt?.sqlState == .insufficientPrivilege)
            // The host still appends inside the tenant's transactions, and the role is restored.
            let role = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                transaction in
                try await AuditTrail(schema: harness.tenant.schema).append(
                    AuditEvent(actor: "system", action: "test.appended"), in: transaction)
                return try await transaction.query("SELECT current_user::text AS role").first!.decode(
                    "role", as: String.self)
            }
            #expect(role.hasPrefix("t_") || role.contains("acme"), "\(role)")
        }
    }

    @Test func accountsComeInPagesWithLowerCaseIDs() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            var created: [String] = []
            for index in 0..<7 {
                let answer = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json:
                        #"{"accountName":"Fund \#(index)","accountType":"hedge_fund","legalName":"Fund \#(index) LP","jurisdiction":"US"}"#
                )
                created.append(try #require(Self.json(answer)["id"] as? String))
            }
            // RFC 9562: lower case, on every route.
            #expect(created.allSatisfy { $0 == $0.lowercased() }, "\(created)")
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = await harness.send(
                    .get, "/api/enterprise/accounts?limit=3" + (cursor.map { "&after=\($0)" } ?? ""), headers: owner)
                let body = Self.json(page)
                let ids = (body["accounts"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(ids.count <= 3)
                seen += ids
                cursor = body["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == created, "every account once, in creation order")
            #expect(pages == 3)
            for bad in ["limit=0", "limit=501", "after=not-an-id", "after=\(UUID().uuidString)"] {
                let answer = await harness.send(.get, "/api/enterprise/accounts?\(bad)", headers: owner)
                #expect(answer.status.code == 400, "\(bad): \(answer.status)")
            }
            let text = try SortedJSONEncoder().encode([
                "a": "ABCDEF01-2345-6789-ABCD-EF0123456789", "b": #""ABCDEF01-2345-6789-ABCD-EF0123456789""#,
                "c": "NOT-A-UUID-AT-ALL-ABCDEFABCDEFABCDEFA",
            ])
            let result = String(decoding: text, as: UTF8.self)
            #expect(result.contains(#""a":"abcdef01-2345-6789-abcd-ef0123456789""#))
            #expect(result.contains(#"\"ABCDEF01-2345-6789-ABCD-EF0123456789\""#), "inside another string: left alone")
            #expect(result.contains("NOT-A-UUID-AT-ALL"))
        }
    }

    @Test func pagesForbidScriptsFramingAndSniffing() async throws {
        try await RouteHarness.with { harness in
            let page = await harness.send(.get, "/", host: "nobody.localhost", headers: [("Accept", "text/html")])
            #expect(page.headers.first("Content-Type")?.hasPrefix("text/html") == true)
            let policy = page.headers.first("Content-Security-Policy") ?? ""
            #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"), "\(policy)")
            #expect(page.headers.first("X-Content-Type-Options") == "nosniff")
            #expect(page.headers.first("X-Frame-Options") == "DENY")
        }
    }
}
