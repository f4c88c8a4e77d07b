import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// Sign-in, sessions, MFA, users, roles, API keys, the audit trail and jobs: the routes every
/// tenant has, whatever services it uses.
enum IdentityRoutes {
    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        let identity = services.identity

        routes.add(.post, "/api/enterprise/auth/login", .publicTenant) { request, context in
            let tenant = try TenantRoutes.requireTenant(context)
            struct Body: Decodable {
                var email: String
                var password: String
                var code: String?
            }
            let body = try request.decodeJSON(Body.self)
            if case .limited(let seconds) = services.limiter.take(
                "login:\(tenant.id):\(context.remoteAddress)", limit: services.configuration.loginRateLimit)
            {
                throw HTTPProblem(
                    .tooManyRequests, type: .rateLimited, detail: "too many sign-in attempts; retry in \(seconds) s",
                    headers: ["Retry-After": String(seconds)])
            }
            let outcome = try await identity.logIn(
                email: body.email, password: body.password, code: body.code, tenant: tenant,
                requestID: context.requestID)
            var response = try JSONResponse.encode(
                UserView(outcome.user).merging(expiresAt: outcome.expiresAt))
            let maxAge = Int(outcome.expiresAt.timeIntervalSinceNow)
            response.headers.add(
                name: "Set-Cookie",
                value:
                    "\(RouteServices.sessionCookie)=\(outcome.token.text); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"
            )
            return response
        }
        routes.add(.post, "/api/enterprise/auth/logout", .authenticated) { _, context in
            let principal = try principalOf(context)
            try await identity.logOut(
                principal, tenant: try TenantRoutes.requireTenant(context), requestID: context.requestID)
            var response = HTTPResponse(status: .noContent)
            response.headers.add(
                name: "Set-Cookie",
                value: "\(RouteServices.sessionCookie)=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
            return response
        }
        routes.add(.get, "/api/enterprise/auth/me", .authenticated) { _, context in
            let principal = try principalOf(context)
            struct Me: Encodable {
                var kind: String
                var actor: String
                var roles: [String]
                var permissions: [String]
            }
            return try JSONResponse.encode(
                Me(
                    kind: principal.kind.rawValue, actor: principal.actor, roles: principal.roleNames,
                    permissions: principal.permissions.sorted().map(\.rawValue)))
        }
        routes.add(.post, "/api/enterprise/auth/mfa/enroll", .authenticated) { request, context in
            // A first authenticator needs no body; replacing one needs the password and a code.
            struct Body: Decodable {
                var password: String?
                var code: String?
            }
            let body = request.body.isEmpty ? Body() : try request.decodeJSON(Body.self)
            let enrollment = try await identity.beginEnrollment(
                for: try principalOf(context), password: body.password, code: body.code,
                tenant: try TenantRoutes.requireTenant(context), requestID: context.requestID)
            struct View: Encodable {
                var secret: String
                var otpauthURI: String
            }
            return try JSONResponse.encode(View(secret: enrollment.secret, otpauthURI: enrollment.provisioningURI))
        }
        routes.add(.post, "/api/enterprise/auth/mfa/confirm", .authenticated) { request, context in
            struct Body: Decodable { var code: String }
            let body = try request.decodeJSON(Body.self)
            let codes = try await identity.confirmEnrollment(
                code: body.code, for: try principalOf(context), tenant: try TenantRoutes.requireTenant(context),
                requestID: context.requestID)
            return try JSONResponse.encode(["recoveryCodes": codes])
        }

        routes.add(.get, "/api/enterprise/users", .permission(.usersManage)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let keys = try await identity.keyring.keys(for: tenant.id, on: services.pool)
            let users = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await identity.users(keys: keys, in: transaction)
            }
            return try JSONResponse.encode(["users": users.map(UserView.init)])
        }
        routes.add(.post, "/api/enterprise/users", .permission(.usersManage)) { request, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let principal = try principalOf(context)
            struct Body: Decodable {
                var email: String
                var name: String?
                var password: String
                var role: String
            }
            let body = try request.decodeJSON(Body.self)
            let keys = try await identity.keyring.keys(for: tenant.id, on: services.pool)
            let user = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                let user = try await identity.createUser(
                    .init(email: body.email, name: body.name, password: body.password, role: body.role), keys: keys,
                    grantedBy: .principal(principal), in: transaction)
                try await AuditTrail(schema: tenant.schema).append(
                    AuditEvent(
                        actor: principal.actor, action: "user.created", objectType: "user",
                        objectID: user.id.uuidString.lowercased(), requestID: context.requestID,
                        details: ["role": user.role]), in: transaction)
                return user
            }
            return try JSONResponse.encode(UserView(user), status: .created)
        }

        routes.add(.get, "/api/enterprise/roles", .permission(.usersManage)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            struct RoleView: Encodable {
                var name: String
                var builtIn: Bool
                var permissions: [String]
            }
            var roles = Role.builtIn.map {
                RoleView(name: $0.name, builtIn: true, permissions: $0.permissions.sorted().map(\.rawValue))
            }
            let rows = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await transaction.query("SELECT name, permissions FROM custom_roles ORDER BY name")
            }
            for row in rows {
                roles.append(
                    RoleView(
                        name: try row.decode("name", as: String.self), builtIn: false,
                        permissions: try row.decode("permissions", as: [String].self)))
            }
            return try JSONResponse.encode(["roles": roles])
        }
        routes.add(.post, "/api/enterprise/roles", .permission(.rolesManage)) { request, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let principal = try principalOf(context)
            struct Body: Decodable {
                var name: String
                var permissions: [String]
            }
            let body = try request.decodeJSON(Body.self)
            try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await identity.defineRole(
                    name: body.name, permissions: body.permissions, definedBy: .principal(principal), in: transaction)
                try await AuditTrail(schema: tenant.schema).append(
                    AuditEvent(
                        actor: principal.actor, action: "role.defined", objectType: "role", objectID: body.name,
                        requestID: context.requestID,
                        details: ["permissions": body.permissions.sorted().joined(separator: ",")]
                    ), in: transaction)
            }
            return try JSONResponse.encode(["name": body.name], status: .created)
        }

        routes.add(.get, "/api/enterprise/api-keys", .permission(.apiKeysManage)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let keys = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await identity.apiKeys(in: transaction)
            }
            return try JSONResponse.encode(["apiKeys": keys.map(APIKeyView.init)])
        }
        routes.add(.post, "/api/enterprise/api-keys", .permission(.apiKeysManage)) { request, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let principal = try principalOf(context)
            struct Body: Decodable {
                var name: String
                var roles: [String]
                var expiresAt: Date?
            }
            let body = try request.decodeJSON(Body.self)
            let (token, key) = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction {
                transaction in
                try await identity.createAPIKey(
                    name: body.name, roles: body.roles, expiresAt: body.expiresAt, grantedBy: .principal(principal),
                    requestID: context.requestID, tenant: tenant, in: transaction)
            }
            struct Created: Encodable {
                var key: String
                var apiKey: APIKeyView
            }
            return try JSONResponse.encode(Created(key: token.text, apiKey: APIKeyView(key)), status: .created)
        }
        routes.add(.delete, "/api/enterprise/api-keys/:prefix", .permission(.apiKeysManage)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let principal = try principalOf(context)
            let prefix = try context.parameter("prefix")
            try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await identity.revokeAPIKey(
                    prefix: prefix, by: .principal(principal), requestID: context.requestID, tenant: tenant,
                    in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }

        routes.add(.get, "/api/enterprise/audit-trail", .permission(.auditRead)) { request, context in
            try await auditPage(request, context: context, accountID: nil, services: services)
        }
        routes.add(.get, "/api/enterprise/accounts/:id/audit-trail", .permission(.auditRead)) { request, context in
            guard let accountID = UUID(uuidString: try context.parameter("id")) else {
                throw HTTPProblem.notFound("no account with this id")
            }
            return try await auditPage(request, context: context, accountID: accountID, services: services)
        }
        routes.add(.get, "/api/enterprise/audit-trail/verify", .permission(.auditRead)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let key = services.identity.keyring.auditCheckpointKey
            let verification = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction {
                transaction in
                try await services.sealing.verify(tenant.schema, checkpointKey: key, in: transaction)
            }
            return try JSONResponse.encode(verification)
        }
        // The public key that signs seals, to pin once and verify exports with.
        routes.add(.get, "/api/enterprise/audit-trail/signing-key", .permission(.auditRead)) { _, _ in
            let key = services.sealing.publicKey
            return try JSONResponse.encode([
                "algorithm": "ES256", "pem": key.pem, "jwk": key.jsonWebKey, "thumbprint": key.thumbprint,
            ])
        }
        routes.add(.get, "/api/enterprise/audit-trail/export", .permission(.auditExport)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            let principal = try principalOf(context)
            // Recorded and committed first: the export itself holds no transaction open.
            try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
                try await AuditTrail(schema: tenant.schema).append(
                    AuditEvent(
                        actor: principal.actor, action: "audit.exported", objectType: "audit_trail",
                        requestID: context.requestID), in: transaction)
            }
            var response = HTTPResponse.streaming(contentType: "application/x-ndjson") { writer in
                try await AuditExport.write(tenant, sealing: services.sealing, pool: services.pool, to: writer)
            }
            response.headers.add(
                name: "Content-Disposition", value: "attachment; filename=\"audit-\(tenant.slug.value).jsonl\"")
            return response
        }

        routes.add(.get, "/api/enterprise/jobs/:id", .permission(.jobsRead)) { _, context in
            let tenant = try TenantRoutes.requireTenant(context)
            // Another tenant's job is "not found", exactly like one that does not exist.
            guard let id = UUID(uuidString: try context.parameter("id")),
                let job = try await TenantJobQueue(pool: services.pool).job(id), job.tenantID == tenant.id
            else { throw HTTPProblem.notFound("no job with this id") }
            struct View: Encodable {
                var id: String
                var kind: String
                var status: String
                var attempts: Int
                var progress: Int
                var result: String?
                var error: String?
            }
            return try JSONResponse.encode(
                View(
                    id: job.id.uuidString.lowercased(), kind: job.kind, status: job.status.rawValue,
                    attempts: job.attempts, progress: job.progress, result: job.result?.text, error: job.error))
        }
    }

    static func principalOf(_ context: RequestContext) throws -> Principal {
        guard let principal = context[PrincipalKey.self] else {
            throw ServiceError(.unauthenticated, "the credentials are not valid")
        }
        return principal
    }

    /// One page of the trail with filters from the query: `actor`, `action`, `objectType`,
    /// `objectId`, `from`, `until` (ISO 8601), `after` (cursor) and `limit` (1 to 500).
    static func auditPage(
        _ request: HTTPRequest, context: RequestContext, accountID: UUID?, services: RouteServices
    ) async throws -> HTTPResponse {
        let tenant = try TenantRoutes.requireTenant(context)
        let query = QueryParameters(request.query)
        func date(_ name: String) throws -> Date? {
            guard let text = query[name] else { return nil }
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw HTTPProblem.badRequest("query '\(name)': not an ISO 8601 time like 2026-01-31T12:00:00Z")
            }
            return date
        }
        let after = try query.integer("after", in: 0...Int(Int64.max)) ?? 0
        let limit = try query.integer("limit", in: 1...500) ?? 100
        let filter = AuditTrail.Filter(
            actor: query["actor"], action: query["action"], objectType: query["objectType"],
            objectID: query["objectId"], accountID: accountID, from: try date("from"), until: try date("until"))
        let records = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
            if let accountID {
                let exists = try await transaction.query(
                    "SELECT 1 AS found FROM institutional_accounts WHERE id = \(accountID)")
                guard !exists.isEmpty else { throw HTTPProblem.notFound("no account with this id") }
            }
            return try await AuditTrail(schema: tenant.schema).records(
                matching: filter, after: Int64(after), limit: limit, in: transaction)
        }
        struct Page: Encodable {
            var records: [AuditRecord]
            var nextCursor: Int64?
        }
        return try JSONResponse.encode(
            Page(records: records, nextCursor: records.count == limit ? records.last?.position : nil))
    }

    struct UserView: Encodable {
        var id: String
        var email: String
        var name: String?
        var role: String
        var status: String
        var mfaEnabled: Bool
        var sessionExpiresAt: Date?

        init(_ user: IdentityService.User) {
            id = user.id.uuidString.lowercased()
            email = user.email
            name = user.name
            role = user.role
            status = user.status
            mfaEnabled = user.mfaEnabled
        }

        func merging(expiresAt: Date) -> UserView {
            var view = self
            view.sessionExpiresAt = expiresAt
            return view
        }
    }

    struct APIKeyView: Encodable {
        var prefix: String
        var name: String
        var roles: [String]
        var createdBy: String
        var createdAt: Date
        var expiresAt: Date?
        var revokedAt: Date?
        var lastUsedAt: Date?

        init(_ key: IdentityService.APIKey) {
            prefix = key.prefix
            name = key.name
            roles = key.roles
            createdBy = key.createdBy
            createdAt = key.createdAt
            expiresAt = key.expiresAt
            revokedAt = key.revokedAt
            lastUsedAt = key.lastUsedAt
        }
    }
}

/// Query-string parameters, percent-decoded; the first value of each name wins.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ query: Substring?) {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = PercentEncoding.decode(parts[0].replacingOccurrences(of: "+", with: " ")) else { continue }
            let value =
                parts.count == 2 ? PercentEncoding.decode(parts[1].replacingOccurrences(of: "+", with: " ")) : ""
            if values[name] == nil, let value { values[name] = value }
        }
    }

    subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPProblem.badRequest(
                "query '\(name)': a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

/// The trail as JSON lines: one header line naming the schema, the export time and the public
/// key that signs seals; then one line per record with every field the hash covers; last, the
/// trail's latest seal (if any), so `scryptex audit verify --file` — or anyone holding the
/// public key — can check it offline, including that no sealed record was rewritten.
enum AuditExport {
    struct Header: Codable {
        var format = "scryptex-audit-export/1"
        var schema: String
        var exportedAt: Date
        /// The seal-signing key as a PEM `PUBLIC KEY` (pin it from `GET …/audit-trail/signing-key`).
        var sealKey: String?
    }

    /// A line holding the trail's latest seal, last in the export.
    struct SealLine: Codable {
        var seal: AuditSeal
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Writes the export of `tenant`'s trail to `writer` a page at a time: each page is read in a
    /// short transaction of its own (the trail is append-only, so pages by position are
    /// consistent), so memory stays bounded and no lock is held against the tenant's writers.
    static func write(
        _ tenant: Tenant, sealing: AuditSealing, pool: PostgresConnectionPool, to writer: any HTTPBodyWriter
    ) async throws {
        let encoder = Self.encoder
        let trail = AuditTrail(schema: tenant.schema)
        let header = Header(schema: trail.schema.name, exportedAt: Date(), sealKey: sealing.publicKey.pem)
        // The seal is taken before the records, so the records reach at least as far.
        let seal = try sealing.log.latestSeal(of: trail.schema.name)
        try await writer.write(Array(try encoder.encode(header)) + [10])
        var cursor: Int64 = 0
        while true {
            let page = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                try await trail.records(matching: .init(), after: cursor, limit: 2000, in: transaction)
            }
            guard let last = page.last else { break }
            var bytes: [UInt8] = []
            for record in page {
                bytes += try encoder.encode(record)
                bytes.append(10)
            }
            try await writer.write(bytes)
            cursor = last.position
        }
        if let seal { try await writer.write(Array(try encoder.encode(SealLine(seal: seal))) + [10]) }
    }

    /// Verifies exported lines; throws naming the line for anything that is not an export.
    ///
    /// - Parameter sealKey: The key seals must be signed with; nil takes the one the export
    ///   names (which proves consistency only: pin the key to prove authenticity).
    static func verify(
        _ text: String, checkpointKey: [UInt8]?, sealKey: P256PublicKey? = nil
    ) throws
        -> AuditChain.Verification
    {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), let header = try? decoder.decode(Header.self, from: Data(first.utf8)),
            header.format == "scryptex-audit-export/1"
        else {
            throw ServiceError(
                .invalidInput, "line 1: not a scryptex audit export (no scryptex-audit-export/1 header)")
        }
        var records: [AuditRecord] = []
        var seal: AuditSeal?
        var number = 1
        while let line = lines.next() {
            number += 1
            if seal == nil, line.hasPrefix(#"{"seal":"#),
                let sealed = try? decoder.decode(SealLine.self, from: Data(line.utf8))
            {
                seal = sealed.seal
                continue
            }
            guard seal == nil else {
                throw ServiceError(.invalidInput, "line \(number): nothing may follow the seal")
            }
            do {
                records.append(try decoder.decode(AuditRecord.self, from: Data(line.utf8)))
            } catch {
                throw ServiceError(.invalidInput, "line \(number): not an audit record")
            }
        }
        let key = try sealKey ?? header.sealKey.map { try P256PublicKey(pem: $0) }
        return AuditTrailVerifier(checkpointKey: checkpointKey, schemaName: header.schema).verify(
            records, seal: seal, sealKey: key)
    }
}
