import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexIdentity
import ScryptexTenancy

/// Who may call a route.
public enum RouteAccess: Sendable, Equatable, CustomStringConvertible {
    /// Anyone; on a tenant's domain the tenant must exist and be active.
    case publicTenant
    /// Any signed-in principal of the tenant.
    case authenticated
    /// A tenant principal holding this permission.
    case permission(Permission)
    /// A platform admin, on the platform domain only.
    case platformAdmin
    /// Anyone, on the platform domain only (the console's sign-in).
    case publicPlatform
    /// A tenant principal holding this permission on the tenant's domain, or a platform admin
    /// on the platform domain (partner reporting that both read).
    case partnerOrPlatformAdmin(Permission)

    public var description: String {
        switch self {
        case .publicTenant: "public"
        case .authenticated: "authenticated"
        case .permission(let permission): permission.rawValue
        case .platformAdmin: "platform-admin"
        case .publicPlatform: "public (platform domain)"
        case .partnerOrPlatformAdmin(let permission): "\(permission.rawValue) or platform-admin"
        }
    }
}

/// Authenticates, rate-limits and authorises one request for a route.
struct RouteGuard: Sendable {
    let services: APIServices

    /// What the route admits; throws 401, 403, 404, 429 or 503.
    func admit(_ request: HTTPRequest, context: RequestContext, access: RouteAccess) async throws -> Admission {
        let options = services.options
        var access = access
        if case .partnerOrPlatformAdmin(let permission) = access {
            let onPlatformDomain = context.tenant == nil && request.hostName == options.platformDomain
            access = onPlatformDomain ? .platformAdmin : .permission(permission)
        }
        if access == .publicPlatform {
            guard context.tenant == nil, request.hostName == options.platformDomain else {
                throw HTTPProblem.notFound()
            }
            try limit("ip:" + context.remoteAddress, options.userRateLimit)
            return .publicPlatform
        }
        if access == .platformAdmin {
            guard context.tenant == nil, request.hostName == options.platformDomain else {
                throw HTTPProblem.notFound()
            }
            try limit("ip:" + context.remoteAddress, options.userRateLimit)
            let bearer = try bearer(of: request)
            if bearer == nil { try checkOrigin(of: request) }
            return .platformAdmin(
                try await services.identity.authenticateAdmin(
                    bearer: bearer, consoleSession: request.cookie(named: ConsoleCookie.name)))
        }
        let tenant = try context.servingTenant()
        if access == .publicTenant { return .publicTenant(tenant) }
        try limit(
            "tenant:" + tenant.id.uuidString,
            try await services.features.requestLimit(for: tenant.id) ?? options.tenantRateLimit)
        let principal: Principal
        let bearer = try bearer(of: request)
        if bearer == nil { try checkOrigin(of: request) }
        do {
            principal = try await services.identity.authenticate(
                bearer: bearer, sessionToken: sessionToken(of: request), tenant: tenant)
        } catch let error as ServiceError {
            // Failed attempts are audited, after a per-address limit so a flood cannot fill the trail.
            try limit("auth-failure:" + context.remoteAddress, options.loginRateLimit)
            try await record(
                AuditEvent(
                    actor: "anonymous", action: "authentication.failed", requestID: context.requestID,
                    details: ["path": String(request.path), "remote": context.remoteAddress]),
                tenant: tenant)
            throw error
        }
        switch principal.kind {
        case .apiKey: try limit("key:" + principal.actor, options.apiKeyRateLimit)
        case .user, .platformAdmin: try limit("user:" + principal.actor, options.userRateLimit)
        }
        if case .permission(let permission) = access, !principal.has(permission) {
            try await record(
                AuditEvent(
                    actor: principal.actor, action: "permission.denied", requestID: context.requestID,
                    details: [
                        "path": String(request.path), "method": request.method.rawValue, "needs": permission.rawValue,
                    ]
                ),
                tenant: tenant)
            throw HTTPProblem(
                .forbidden, type: .forbidden, detail: "this credential lacks the permission '\(permission.rawValue)'")
        }
        return .tenantPrincipal(tenant, principal)
    }

    private func record(_ event: AuditEvent, tenant: Tenant) async throws {
        try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
            try await AuditTrail(schema: tenant.schema).append(event, in: transaction)
        }
    }

    private func limit(_ key: String, _ limit: RateLimiter.Limit) throws {
        try services.limiter.admit(key, limit: limit, what: "requests")
    }

    /// The token of `Authorization: Bearer …`; nil without the header; 401 for any other scheme
    /// or an oversized value.
    private func bearer(of request: HTTPRequest) throws -> String? {
        guard let header = request.headers.first("authorization") else { return nil }
        // Byte-wise: this runs on every authenticated request.
        let bytes = header.utf8
        guard bytes.count <= 512, bytes.count > 7,
            bytes.prefix(7).elementsEqual("bearer ".utf8, by: { ($0 | 0x20) == $1 })
        else {
            throw ServiceError(.unauthenticated, "the credentials are not valid")
        }
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let token = bytes.dropFirst(7).drop(while: isBlank)
        let end = token.lastIndex { !isBlank($0) }.map { bytes.index(after: $0) } ?? token.startIndex
        return String(Substring(header.utf8[token.startIndex..<end]))
    }

    /// A second layer under the session cookies' `SameSite=Strict`: a write carried by a cookie
    /// must come from this host's own pages. Browsers send `Origin` with every POST, PUT, PATCH
    /// and DELETE (same-site or not); one naming another origin (or `null`) is refused. Requests
    /// without it (API clients, curl) carry no ambient cookie to abuse.
    private func checkOrigin(of request: HTTPRequest) throws {
        guard request.method != .get, request.method != .head, let origin = request.headers.first("origin") else {
            return
        }
        let host = (request.headers.first("host") ?? "").lowercased()
        guard !host.isEmpty, origin.lowercased() == "https://" + host else {
            throw HTTPProblem(
                .forbidden, type: .forbidden,
                detail: "a signed-in write from another site (Origin \(origin.prefix(100))) is refused")
        }
    }

    private func sessionToken(of request: HTTPRequest) -> String? {
        request.cookie(named: SessionCookie.name)
    }
}

extension RateLimiter {
    /// Takes one from `key`'s budget; 429 with `Retry-After` when it is spent.
    public func admit(_ key: String, limit: Limit, what: String) throws {
        if case .limited(let seconds) = take(key, limit: limit) {
            throw HTTPProblem(
                .tooManyRequests, type: .rateLimited, detail: "too many \(what); retry in \(seconds) s",
                headers: ["Retry-After": String(seconds)])
        }
    }
}

/// The session cookie: host-only (`__Host-`), so it is bound to the one tenant domain that set
/// it, never sent over plain HTTP, invisible to scripts, and not sent cross-site.
public enum SessionCookie {
    public static let name = "__Host-scryptex_session"

    /// The `Set-Cookie` value that hands the browser `token` for `maxAge` seconds.
    public static func setting(_ token: String, maxAge: Int) -> String {
        "\(name)=\(token); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"
    }
}

/// The platform console's session cookie, on the platform domain: host-only, HTTPS only, not
/// for scripts, not sent cross-site.
public enum ConsoleCookie {
    public static let name = "__Host-scryptex_console"

    public static func setting(_ token: String, maxAge: Int) -> String {
        "\(name)=\(token); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"
    }
}
