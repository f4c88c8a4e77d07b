import Foundation
import ScryptexAPI
import ScryptexCompliance
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTemplates
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// The whole host's routes, answered in process (no sockets) for one tenant on a fresh database.
struct RouteHarness {
    let pool: PostgresConnectionPool
    let keyring: Keyring
    let tenant: Tenant
    let routes: SecuredRoutes
    let application: HTTPApplication
    let directory: TenantDirectory
    let sanctions: SanctionsRegistry
    let sealing: AuditSealing

    static func with(
        environment: [String: String] = ["RATE_LIMIT_LOGIN": "1000/s"], _ body: (RouteHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 6), logger: TestDatabase.logger)
            do {
                try await pool.withConnection { connection in
                    try await Migrator(plan: SchemaPlans.platform, logger: TestDatabase.logger).migrate(
                        schema: PlatformSchema.name, on: connection)
                }
                var settings = try Configuration(environment: environment)
                settings.platformDomain = "localhost"
                // Keys and seals of this harness only, never the working folder's.
                settings.dataDirectory = NSTemporaryDirectory() + "scryptex-harness-" + UUID().uuidString
                settings.mlModelStoragePath = settings.dataDirectory + "/models"
                defer { try? FileManager.default.removeItem(atPath: settings.dataDirectory) }
                let sealing = try AuditSealing(configuration: settings, logger: TestDatabase.logger)
                let keyring = Keyring(master: try MasterKey(bytes: SecureRandom.bytes(count: 32)))
                let tenant = try await TenantIdentitySetUp.provisioner(
                    settings, keyring: keyring, logger: TestDatabase.logger
                )
                .create(.init(slug: "acme", displayName: "Acme Fund"), on: pool)
                _ = try await TenantIdentitySetUp.provisioner(settings, keyring: keyring, logger: TestDatabase.logger)
                    .create(.init(slug: "zenith", displayName: "Zenith"), on: pool)
                let directory = TenantDirectory()
                try await directory.reload(from: pool)
                let sanctions = SanctionsRegistry(
                    pool: pool, logger: TestDatabase.logger, checkInterval: .seconds(3600))
                let templates = try TemplateLibrary(directory: Self.templatesDirectory)
                let routes = HostService.routes(
                    pool: pool, keyring: keyring, sealing: sealing, configuration: settings,
                    logger: TestDatabase.logger, templates: templates, sanctions: sanctions)
                let application = HTTPApplication(
                    router: routes.router, filters: [TenantResolutionFilter(directory: directory)],
                    middleware: HostService.pageMiddleware(
                        templates: templates, pool: pool, platformDomain: "localhost"))
                try await body(
                    RouteHarness(
                        pool: pool, keyring: keyring, tenant: tenant, routes: routes, application: application,
                        directory: directory, sanctions: sanctions, sealing: sealing)
                )
                await pool.close()
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    /// The project's `templates/` folder.
    static let templatesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates").path

    func send(
        _ method: HTTPMethod, _ target: String, host: String = "acme.localhost", headers: [(String, String)] = [],
        json: String? = nil, rawBody: [UInt8]? = nil
    ) async -> HTTPResponse {
        var fields = [("Host", host)] + headers
        if json != nil { fields.append(("Content-Type", "application/json")) }
        let request = HTTPRequest(
            method: method, target: target, headers: HTTPHeaders(fields), body: rawBody ?? Array((json ?? "").utf8))
        let context = RequestContext(
            requestID: "test", logger: TestDatabase.logger, serverName: host, isSecure: true, remoteAddress: "127.0.0.1"
        )
        var response = await application.respond(to: request, context: context)
        // A streamed body, as a client would read it whole.
        if response.bodyProducer != nil {
            response.body = (try? await response.collectedBody()) ?? Array("(the stream failed)".utf8)
            response.bodyProducer = nil
        }
        return response
    }

    /// A new API key of the tenant with `roles`, made the way `scryptex apikey create` makes one.
    func apiKey(roles: [String], tenant: Tenant? = nil) async throws -> String {
        let tenant = tenant ?? self.tenant
        let identity = IdentityService(pool: pool, keyring: keyring)
        return try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await identity.createAPIKey(
                name: "test", roles: roles, expiresAt: nil, grantedBy: .host(actor: "operator"), requestID: nil,
                tenant: tenant,
                in: transaction)
        }.0.text
    }
}

@Suite("Every route against every role", .serialized)
struct RoutePermissionMatrixTests {
    @Test func everyRouteAnswersEachRoleAsThePermissionMatrixSays() async throws {
        try await RouteHarness.with { harness in
            var keys: [String: String] = [:]
            for role in Role.builtIn { keys[role.name] = try await harness.apiKey(roles: [role.name]) }
            #expect(harness.routes.entries.count >= 18)
            for entry in harness.routes.entries {
                let target = entry.path.replacingOccurrences(of: ":id", with: UUID().uuidString.lowercased())
                    .replacingOccurrences(of: ":modelId", with: UUID().uuidString.lowercased())
                    .replacingOccurrences(of: ":prefix", with: "sxk_0000000000000000")
                    .replacingOccurrences(of: ":slug", with: "acme")
                let label = "\(entry.method) \(entry.path)"
                // Portal pages send a browser without a session to sign in (303) instead of a
                // 401; their forms are refused (403) without the form token.
                let isPage = entry.path == "/" || entry.path.hasPrefix("/portal")
                let unauthenticated = isPage ? 303 : 401
                switch entry.access {
                case .publicTenant:
                    let answer = await harness.send(entry.method, target)
                    #expect(
                        answer.status.code != 401 && (answer.status.code != 403 || isPage && entry.method == .post),
                        "\(label) is public: \(answer.status)")
                case .publicPlatform:
                    let onTenant = await harness.send(entry.method, target)
                    #expect(onTenant.status.code == 404, "\(label) on a tenant domain: \(onTenant.status)")
                    let answer = await harness.send(entry.method, target, host: "localhost")
                    #expect(
                        answer.status.code != 401 && (answer.status.code != 403 || entry.method == .post),
                        "\(label) is public on the platform domain: \(answer.status)")
                case .platformAdmin:
                    // Never on a tenant's domain, whatever the credential.
                    let answer = await harness.send(
                        entry.method, target, headers: [("Authorization", "Bearer " + keys["owner"]!)])
                    #expect(answer.status.code == 404, "\(label) on a tenant domain: \(answer.status)")
                    let anonymous = await harness.send(entry.method, target, host: "localhost")
                    // The console's pages send a browser without a session to sign in.
                    #expect(
                        anonymous.status.code == (entry.path.hasPrefix("/console") ? 303 : 401),
                        "\(label) without a key: \(anonymous.status)")
                case .authenticated, .permission, .partnerOrPlatformAdmin:
                    if case .partnerOrPlatformAdmin = entry.access {
                        // On the platform domain it is a platform-admin route.
                        let anonymous = await harness.send(entry.method, target, host: "localhost")
                        #expect(anonymous.status.code == 401, "\(label) on the platform domain: \(anonymous.status)")
                    }
                    let anonymous = await harness.send(entry.method, target)
                    #expect(
                        anonymous.status.code == unauthenticated, "\(label) without a credential: \(anonymous.status)")
                    let garbage = await harness.send(
                        entry.method, target, headers: [("Authorization", "Bearer sxk_nonsense")])
                    #expect(garbage.status.code == unauthenticated, "\(label) with a malformed key")
                    for role in Role.builtIn {
                        let answer = await harness.send(
                            entry.method, target, headers: [("Authorization", "Bearer " + keys[role.name]!)])
                        let allowed: Bool =
                            switch entry.access {
                            case .permission(let permission), .partnerOrPlatformAdmin(let permission):
                                role.permissions.contains(permission)
                            default: true
                            }
                        if allowed {
                            #expect(
                                answer.status.code != 401 && answer.status.code != 403,
                                "\(label) as \(role.name) should pass the guard: \(answer.status)")
                        } else {
                            #expect(answer.status.code == 403, "\(label) as \(role.name): \(answer.status)")
                        }
                    }
                }
            }
            // Every denial was audited in the tenant's trail, and the chain still verifies.
            let verify = await harness.send(
                .get, "/api/enterprise/audit-trail/verify", headers: [("Authorization", "Bearer " + keys["owner"]!)])
            #expect(String(decoding: verify.body, as: UTF8.self).contains("\"firstBrokenLink\"") == false)
            let denied = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await $0.query("SELECT count(*) AS n FROM audit_records WHERE action = 'permission.denied'")
            }
            #expect(try denied.first!.decode("n", as: Int.self) > 0)
        }
    }

    @Test func aKeyOfAnotherTenantOrARevokedOneIsRefused() async throws {
        try await RouteHarness.with { harness in
            let owner = try await harness.apiKey(roles: ["owner"])
            // Zenith's key on acme's domain: unknown there.
            let zenith = try await harness.pool.query("SELECT id FROM platform.tenants WHERE slug = 'zenith'")
            let zenithTenant = Tenant(
                id: try zenith.first!.decode("id", as: UUID.self), slug: try TenantSlug("zenith"),
                displayName: "Zenith",
                status: .active)
            let foreign = try await harness.apiKey(roles: ["owner"], tenant: zenithTenant)
            let crossed = await harness.send(
                .get, "/api/enterprise/auth/me", headers: [("Authorization", "Bearer " + foreign)])
            #expect(crossed.status.code == 401)

            let prefix = String(owner.prefix(20))
            let revoke = await harness.send(
                .delete, "/api/enterprise/api-keys/\(prefix)", headers: [("Authorization", "Bearer " + owner)])
            #expect(revoke.status.code == 204)
            let after = await harness.send(
                .get, "/api/enterprise/auth/me", headers: [("Authorization", "Bearer " + owner)])
            #expect(after.status.code == 401)
            #expect(after.headers.first("WWW-Authenticate") == "Bearer")
        }
    }

    /// A scripted session: an owner creates a user, the user signs in, enrols TOTP, signs in with a
    /// code, a replayed code is refused, and the trail verifies — then fails after tampering.
    @Test func aScriptedSessionLeavesAVerifiableTrail() async throws {
        try await RouteHarness.with { harness in
            let owner = try await harness.apiKey(roles: ["owner"])
            let bearer = [("Authorization", "Bearer " + owner)]
            let created = await harness.send(
                .post, "/api/enterprise/users", headers: bearer,
                json:
                    #"{"email":"Jane.Doe@Acme.example","name":"Jane Doe","password":"correct horse battery","role":"trader"}"#
            )
            #expect(created.status.code == 201, "\(String(decoding: created.body, as: UTF8.self))")
            let duplicate = await harness.send(
                .post, "/api/enterprise/users", headers: bearer,
                json: #"{"email":"jane.doe@acme.example","password":"another long password","role":"trader"}"#)
            #expect(duplicate.status.code == 409)
            let weak = await harness.send(
                .post, "/api/enterprise/users", headers: bearer,
                json: #"{"email":"bob@acme.example","password":"short","role":"trader"}"#)
            #expect(weak.status.code == 400)
            #expect(String(decoding: weak.body, as: UTF8.self).contains("field 'password'"))

            // Personal data is stored only encrypted.
            let raw = try await harness.pool.query("SELECT email_encrypted::text AS e FROM t_acme.users")
            #expect(!(try raw.first!.decode("e", as: String.self)).contains("6a616e65"), "the e-mail is in clear")

            let wrong = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"wrong password!"}"#)
            let unknown = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"nobody@acme.example","password":"wrong password!"}"#)
            #expect(wrong.status.code == 401 && unknown.status.code == 401)
            #expect(wrong.body == unknown.body || String(decoding: wrong.body, as: UTF8.self).contains("not valid"))

            let login = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery"}"#)
            #expect(login.status.code == 200)
            let cookie = try #require(login.headers.first("Set-Cookie"))
            #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let session = [("Cookie", String(cookie.split(separator: ";")[0]))]
            let me = await harness.send(.get, "/api/enterprise/auth/me", headers: session)
            #expect(String(decoding: me.body, as: UTF8.self).contains("\"roles\":[\"trader\"]"))
            // The session is bound to its tenant: on zenith's domain it means nothing.
            let elsewhere = await harness.send(
                .get, "/api/enterprise/auth/me", host: "zenith.localhost", headers: session)
            #expect(elsewhere.status.code == 401)
            // A trader may not manage users.
            let forbidden = await harness.send(.get, "/api/enterprise/users", headers: session)
            #expect(forbidden.status.code == 403)

            let enroll = await harness.send(.post, "/api/enterprise/auth/mfa/enroll", headers: session)
            let secretText = try #require(
                (try JSONSerialization.jsonObject(with: Data(enroll.body)) as? [String: Any])?["secret"] as? String)
            let totp = TimeBasedOneTimePassword(secret: try #require(Base32.decode(secretText)))
            let now = Int64(Date().timeIntervalSince1970)
            let confirm = await harness.send(
                .post, "/api/enterprise/auth/mfa/confirm", headers: session,
                json: #"{"code":"\#(totp.code(at: now - 30))"}"#)
            #expect(confirm.status.code == 200, "\(String(decoding: confirm.body, as: UTF8.self))")
            let codes = try #require(
                (try JSONSerialization.jsonObject(with: Data(confirm.body)) as? [String: Any])?["recoveryCodes"]
                    as? [String])
            #expect(codes.count == 10)

            let withoutCode = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery"}"#)
            #expect(withoutCode.status.code == 401)
            let code = totp.code(at: now)
            let withCode = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery","code":"\#(code)"}"#)
            #expect(withCode.status.code == 200)
            let replayed = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery","code":"\#(code)"}"#)
            #expect(replayed.status.code == 401, "a TOTP code was accepted twice")
            let recovery = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery","code":"\#(codes[0])"}"#)
            #expect(recovery.status.code == 200)
            let recoveryAgain = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"jane.doe@acme.example","password":"correct horse battery","code":"\#(codes[0])"}"#)
            #expect(recoveryAgain.status.code == 401, "a recovery code was used twice")

            // The trail has the story, filterable, and verifies.
            let failures = await harness.send(.get, "/api/enterprise/audit-trail?action=login.failed", headers: bearer)
            let failureText = String(decoding: failures.body, as: UTF8.self)
            #expect(failureText.contains("wrong_password") && failureText.contains("unknown_user"))
            #expect(!failureText.contains("correct horse"), "a password reached the trail")
            let verify = await harness.send(.get, "/api/enterprise/audit-trail/verify", headers: bearer)
            #expect(!String(decoding: verify.body, as: UTF8.self).contains("firstBrokenLink"))

            // Export, tamper in the database, and both the online check and the export see it.
            let export = await harness.send(.get, "/api/enterprise/audit-trail/export", headers: bearer)
            let exported = String(decoding: export.body, as: UTF8.self)
            #expect(try AuditExport.verify(exported, checkpointKey: harness.keyring.auditCheckpointKey).isIntact)
            var lines = exported.split(separator: "\n").map(String.init)
            #expect(lines[1].contains("tenant.provisioned"))
            lines[1] = lines[1].replacingOccurrences(of: "tenant.provisioned", with: "tenant.renamed")
            #expect(try !AuditExport.verify(lines.joined(separator: "\n"), checkpointKey: nil).isIntact)
            try await harness.pool.withTransaction { transaction in
                try await transaction.executeScript(
                    """
                    SET LOCAL session_replication_role = replica;
                    UPDATE t_acme.audit_records SET actor = 'user:someone-else' WHERE chain_position = 3;
                    """)
            }
            let broken = await harness.send(.get, "/api/enterprise/audit-trail/verify", headers: bearer)
            #expect(String(decoding: broken.body, as: UTF8.self).contains(#""position":3"#))
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        try await RouteHarness.with(environment: ["RATE_LIMIT_API_KEY": "1/m:3", "RATE_LIMIT_LOGIN": "1/m:2"]) {
            harness in
            let key = try await harness.apiKey(roles: ["viewer"])
            var statuses: [Int] = []
            for _ in 0..<4 {
                let answer = await harness.send(
                    .get, "/api/enterprise/auth/me", headers: [("Authorization", "Bearer " + key)])
                statuses.append(answer.status.code)
                if answer.status.code == 429 {
                    #expect(Int(answer.headers.first("Retry-After") ?? "") ?? 0 >= 1)
                }
            }
            #expect(statuses == [200, 200, 200, 429])
            // Sign-in attempts are limited per client address and tenant.
            var logins: [Int] = []
            for _ in 0..<3 {
                logins.append(
                    await harness.send(
                        .post, "/api/enterprise/auth/login",
                        json: #"{"email":"a@b.example","password":"nothing at all"}"#
                    ).status.code)
            }
            #expect(logins == [401, 401, 429])
        }
    }

    @Test func repeatedWrongPasswordsLockTheAccountWithoutSayingSo() async throws {
        try await RouteHarness.with { harness in
            let owner = try await harness.apiKey(roles: ["owner"])
            let created = await harness.send(
                .post, "/api/enterprise/users", headers: [("Authorization", "Bearer " + owner)],
                json: #"{"email":"max@acme.example","password":"a very good password","role":"analyst"}"#)
            #expect(created.status.code == 201)
            for _ in 0..<5 {
                let wrong = await harness.send(
                    .post, "/api/enterprise/auth/login",
                    json: #"{"email":"max@acme.example","password":"not the password"}"#)
                #expect(wrong.status.code == 401)
            }
            // Locked now: even the right password gets the same 401.
            let locked = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"max@acme.example","password":"a very good password"}"#)
            #expect(locked.status.code == 401)
            let reasons = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await $0.query(
                    "SELECT details ->> 'reason' AS reason FROM audit_records WHERE action = 'login.failed' ORDER BY chain_position"
                )
            }
            #expect(
                try reasons.map { try $0.decode("reason", as: String.self) }.suffix(2) == ["wrong_password", "locked"])
            // Malformed and oversized credentials: the same 401, nothing else.
            for header in [
                "Basic dXNlcjpwYXNz", "Bearer " + String(repeating: "x", count: 5000), "Bearer", "Bearer sxs_1.2",
            ] {
                let answer = await harness.send(.get, "/api/enterprise/auth/me", headers: [("Authorization", header)])
                #expect(answer.status.code == 401, "\(header.prefix(20))")
            }
        }
    }

    @Test func rotatingTheDataKeyKeepsEveryoneAbleToSignIn() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/users", headers: owner,
                json:
                    #"{"email":"ana@acme.example","name":"Ana Lima","password":"a very good password","role":"viewer"}"#
            )
            #expect(created.status.code == 201)
            // Issue 18: rotation re-sealed only users' fields, then deleted the old key: team
            // members and beneficial owners answered 500 ever after.
            let account = try await harness.addAccountWithSealedPeople(headers: owner)
            let before = try await harness.pool.query("SELECT email_encrypted, email_lookup FROM t_acme.users")
            let (version, resealed) = try await DataKeyRotation(
                keyring: harness.keyring, columns: SchemaPlans.tenant.sealedColumns
            ).rotate(
                harness.tenant, actor: "operator", on: harness.pool)
            // Ana's e-mail and name, Tom's e-mail and name, Jane's name.
            #expect(version == 2 && resealed == 5)
            let after = try await harness.pool.query("SELECT email_encrypted, email_lookup FROM t_acme.users")
            #expect(
                try after.first!.decode("email_lookup", as: String.self)
                    != before.first!.decode("email_lookup", as: String.self))
            let versions = try await harness.pool.query(
                "SELECT version FROM platform.tenant_data_keys WHERE tenant_id = \(harness.tenant.id)")
            #expect(try versions.map { try $0.decode("version", as: Int.self) } == [2])
            let login = await harness.send(
                .post, "/api/enterprise/auth/login",
                json: #"{"email":"ana@acme.example","password":"a very good password"}"#)
            #expect(login.status.code == 200)
            let users = await harness.send(.get, "/api/enterprise/users", headers: owner)
            #expect(String(decoding: users.body, as: UTF8.self).contains("Ana Lima"))
            let members = await harness.send(.get, "/api/enterprise/accounts/\(account)/members", headers: owner)
            #expect(members.status.code == 200 && String(decoding: members.body, as: UTF8.self).contains("Tom Trader"))
            let owners = await harness.send(
                .get, "/api/enterprise/accounts/\(account)/kyc/beneficial-owners", headers: owner)
            #expect(owners.status.code == 200 && String(decoding: owners.body, as: UTF8.self).contains("Jane Founder"))
            // The blind index moved with the key: the same address is still one member.
            let again = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/members", headers: owner,
                json: #"{"email":"tom@acme.example","role":"analyst"}"#)
            #expect(again.status.code == 409, "\(String(decoding: again.body, as: UTF8.self))")
        }
    }

    /// Every encrypted column of a tenant schema is in the registry rotation and import work
    /// from, and the registry names no column that does not exist: a binary column is either
    /// sealed or listed, with its reason, among the plain ones.
    @Test func everySealedColumnIsRegistered() async throws {
        try await RouteHarness.with { harness in
            let columns = try await harness.pool.query(
                """
                SELECT table_name || '.' || column_name AS name FROM information_schema.columns
                WHERE table_schema = 't_acme' AND data_type = 'bytea' ORDER BY 1
                """
            ).map { try $0.decode("name", as: String.self) }
            let registered = SchemaPlans.tenant.sealedColumns.map { "\($0.table.name).\($0.column.name)" }.sorted()
            #expect(columns.filter { !SchemaPlans.plainBinaryColumns.contains($0) } == registered)
            #expect(SchemaPlans.plainBinaryColumns.allSatisfy { columns.contains($0) })
            #expect(!columns.isEmpty)
        }
    }
}

extension RouteHarness {
    /// An account with a team member (Tom Trader, tom@acme.example) and a beneficial owner (Jane
    /// Founder): personal data sealed with the tenant's key. Returns the account's id.
    func addAccountWithSealedPeople(
        headers: [(String, String)], host: String = "acme.localhost"
    ) async throws
        -> String
    {
        let created = await send(
            .post, "/api/enterprise/accounts", host: host, headers: headers,
            json: #"{"accountName":"Acme Fund","accountType":"hedge_fund","legalName":"Acme Fund LP"}"#)
        let account = try #require(
            (try? JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any])?["id"] as? String)
        #expect(
            await send(
                .post, "/api/enterprise/accounts/\(account)/members", host: host, headers: headers,
                json: #"{"email":"tom@acme.example","name":"Tom Trader","role":"trader"}"#
            ).status.code == 201)
        #expect(
            await send(
                .post, "/api/enterprise/accounts/\(account)/kyc/beneficial-owners", host: host, headers: headers,
                json: #"{"name":"Jane Founder","nationality":"US","ownershipPercent":60}"#
            ).status.code == 201)
        return account
    }
}
