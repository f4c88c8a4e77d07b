import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// Sign-in, sessions, MFA, users, roles and API keys: routes every tenant has, whatever
/// services it uses.
public struct IdentityRoutes: RouteCollection {
    let identity: IdentityService
    let limiter: RateLimiter
    let loginRateLimit: RateLimiter.Limit

    public init(services: APIServices) {
        identity = services.identity
        limiter = services.limiter
        loginRateLimit = services.options.loginRateLimit
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/auth", as: PublicTenantCall.self) { auth in
            auth.post("login", use: logIn)
        }
        routes.group("/api/enterprise/auth", as: TenantCall.self) { session in
            session.post("logout", use: logOut)
            session.get("me", use: me)
            session.post("mfa/enroll", use: beginEnrollment)
            session.post("mfa/confirm", use: confirmEnrollment)
        }
        routes.group("/api/enterprise", as: TenantCall.self) { team in
            team.get("users", .usersManage, use: users)
            team.post("users", .usersManage, use: createUser)
            team.get("roles", .usersManage, use: roles)
            team.post("roles", .rolesManage, use: defineRole)
        }
        routes.group("/api/enterprise/api-keys", as: TenantCall.self, permission: .apiKeysManage) { keys in
            keys.get(use: apiKeys)
            keys.post(use: createAPIKey)
            keys.delete(":prefix", use: revokeAPIKey)
        }
    }

    @Sendable func logIn(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var email: String
            var password: String
            var code: String?
        }
        let body = try request.decodeJSON(Body.self)
        try limiter.admit(
            "login:\(call.tenant.id):\(call.context.remoteAddress)", limit: loginRateLimit, what: "sign-in attempts")
        let outcome = try await identity.logIn(
            email: body.email, password: body.password, code: body.code, tenant: call.tenant,
            requestID: call.context.requestID)
        var response = try HTTPResponse.json(encoding: UserView(outcome.user).merging(expiresAt: outcome.expiresAt))
        response.headers.add(
            name: "Set-Cookie",
            value: SessionCookie.setting(outcome.token.text, maxAge: Int(outcome.expiresAt.timeIntervalSinceNow)))
        return response
    }

    @Sendable func logOut(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await identity.logOut(call.principal, tenant: call.tenant, requestID: call.requestID)
        var response = HTTPResponse.noContent
        response.headers.add(name: "Set-Cookie", value: SessionCookie.setting("", maxAge: 0))
        return response
    }

    @Sendable func me(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Me: Encodable {
            var kind: String
            var actor: String
            var roles: [String]
            var permissions: [String]
        }
        let principal = call.principal
        return try .json(
            encoding: Me(
                kind: principal.kind.rawValue, actor: principal.actor, roles: principal.roleNames,
                permissions: principal.permissions.sorted().map(\.rawValue)))
    }

    @Sendable func beginEnrollment(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        // A first authenticator needs no body; replacing one needs the password and a code.
        struct Body: Decodable {
            var password: String?
            var code: String?
        }
        let body = request.body.isEmpty ? Body() : try request.decodeJSON(Body.self)
        let enrollment = try await identity.beginEnrollment(
            for: call.principal, password: body.password, code: body.code, tenant: call.tenant,
            requestID: call.requestID)
        struct View: Encodable {
            var secret: String
            var otpauthURI: String
        }
        return try .json(encoding: View(secret: enrollment.secret, otpauthURI: enrollment.provisioningURI))
    }

    @Sendable func confirmEnrollment(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable { var code: String }
        let body = try request.decodeJSON(Body.self)
        let codes = try await identity.confirmEnrollment(
            code: body.code, for: call.principal, tenant: call.tenant, requestID: call.requestID)
        return try .json(encoding: ["recoveryCodes": codes])
    }

    @Sendable func users(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let keys = try await call.keys()
        let users = try await call.scope.withTransaction { try await identity.users(keys: keys, in: $0) }
        return try .json(encoding: ["users": users.map(UserView.init)])
    }

    @Sendable func createUser(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var email: String
            var name: String?
            var password: String
            var role: String
        }
        let body = try request.decodeJSON(Body.self)
        let keys = try await call.keys()
        let user = try await call.scope.withTransaction { transaction in
            let user = try await identity.createUser(
                .init(email: body.email, name: body.name, password: body.password, role: body.role), keys: keys,
                grantedBy: .principal(call.principal), in: transaction)
            try await call.audit.record(
                "user.created", objectType: "user", objectID: user.id.uuidString.lowercased(), accountID: nil,
                details: ["role": user.role], in: transaction)
            return user
        }
        return try .json(encoding: UserView(user), status: .created)
    }

    @Sendable func roles(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(encoding: ["roles": try await call.scope.withTransaction { try await identity.roles(in: $0) }])
    }

    @Sendable func defineRole(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var name: String
            var permissions: [String]
        }
        let body = try request.decodeJSON(Body.self)
        try await call.scope.withTransaction { transaction in
            try await identity.defineRole(
                name: body.name, permissions: body.permissions, definedBy: .principal(call.principal), in: transaction)
            try await call.audit.record(
                "role.defined", objectType: "role", objectID: body.name, accountID: nil,
                details: ["permissions": body.permissions.sorted().joined(separator: ",")], in: transaction)
        }
        return try .json(encoding: ["name": body.name], status: .created)
    }

    @Sendable func apiKeys(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let keys = try await call.scope.withTransaction { try await identity.apiKeys(in: $0) }
        return try .json(encoding: ["apiKeys": keys.map(APIKeyView.init)])
    }

    @Sendable func createAPIKey(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var name: String
            var roles: [String]
            var expiresAt: Date?
        }
        let body = try request.decodeJSON(Body.self)
        let (token, key) = try await call.scope.withTransaction { transaction in
            try await identity.createAPIKey(
                name: body.name, roles: body.roles, expiresAt: body.expiresAt, grantedBy: .principal(call.principal),
                requestID: call.requestID, tenant: call.tenant, in: transaction)
        }
        struct Created: Encodable {
            var key: String
            var apiKey: APIKeyView
        }
        return try .json(encoding: Created(key: token.text, apiKey: APIKeyView(key)), status: .created)
    }

    @Sendable func revokeAPIKey(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let prefix = try call.parameter("prefix")
        try await call.scope.withTransaction { transaction in
            try await identity.revokeAPIKey(
                prefix: prefix, by: .principal(call.principal), requestID: call.requestID, tenant: call.tenant,
                in: transaction)
        }
        return .noContent
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
