import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTemplates
import ScryptexTenancy
import ScryptexWhiteLabel
import Synchronization

/// Who may call a route.
enum RouteAccess: Sendable, Equatable, CustomStringConvertible {
    /// Anyone; on a tenant's domain the tenant must exist and be active.
    case publicTenant
    /// Any signed-in principal of the tenant.
    case authenticated
    /// A tenant principal holding this permission.
    case permission(Permission)
    /// A platform admin, on the platform domain only.
    case platformAdmin
    /// A tenant principal holding this permission on the tenant's domain, or a platform admin
    /// on the platform domain (partner reporting that both read).
    case partnerOrPlatformAdmin(Permission)

    var description: String {
        switch self {
        case .publicTenant: "public"
        case .authenticated: "authenticated"
        case .permission(let permission): permission.rawValue
        case .platformAdmin: "platform-admin"
        case .partnerOrPlatformAdmin(let permission): "\(permission.rawValue) or platform-admin"
        }
    }
}

/// The principal of the request, once the route's guard has authenticated it.
enum PrincipalKey: RequestContextKey {
    typealias Value = Principal
}

/// What routes need: the identity service, rate limits, settings, feature flags, sanctions lists.
struct RouteServices: Sendable {
    let identity: IdentityService
    let sealing: AuditSealing
    let limiter: RateLimiter
    let configuration: Configuration
    let logger: Logger
    let features: FeatureGate
    let sanctions: SanctionsRegistry
    let templates: TemplateLibrary

    var pool: PostgresConnectionPool { identity.pool }

    /// The session cookie: host-only (`__Host-`), so it is bound to the one tenant domain that
    /// set it, never sent over plain HTTP, invisible to scripts, and not sent cross-site.
    static let sessionCookie = "__Host-scryptex_session"
}

/// Registers routes with the access each needs, and keeps the table the role-matrix test walks.
struct SecuredRouter {
    struct Entry: Sendable {
        var method: HTTPMethod
        var path: String
        var access: RouteAccess
        /// The tenant feature flag the route belongs to; with the flag off the route is 404.
        var feature: Feature?
    }

    typealias Handler = @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse

    private(set) var router: Router
    private(set) var entries: [Entry] = []
    let services: RouteServices

    init(router: Router, services: RouteServices) {
        self.router = router
        self.services = services
    }

    mutating func add(
        _ method: HTTPMethod, _ path: String, _ access: RouteAccess, feature: Feature? = nil,
        use handler: @escaping Handler
    ) {
        entries.append(Entry(method: method, path: path, access: access, feature: feature))
        let services = services
        router.add(method, path) { request, context in
            var context = context
            do {
                if let feature, let tenant = context[TenantKey.self],
                    !(try await services.features.isEnabled(feature, for: tenant.id))
                {
                    throw HTTPProblem.notFound()
                }
                if let principal = try await RouteGuard(services: services).admit(
                    request, context: context, access: access)
                {
                    context[PrincipalKey.self] = principal
                }
                return try await handler(request, context)
            } catch let error as ServiceError {
                throw problem(for: error)
            } catch let error as PostgresError {
                throw problem(for: error) ?? error
            }
        }
    }
}

/// Authenticates, rate-limits and authorises one request for a route.
struct RouteGuard {
    let services: RouteServices

    /// The principal, or nil for a public route; throws 401, 403, 404 or 429.
    func admit(_ request: HTTPRequest, context: RequestContext, access: RouteAccess) async throws -> Principal? {
        var access = access
        if case .partnerOrPlatformAdmin(let permission) = access {
            let onPlatformDomain =
                context[TenantKey.self] == nil && request.hostName == services.configuration.platformDomain
            access = onPlatformDomain ? .platformAdmin : .permission(permission)
        }
        if access == .platformAdmin {
            guard context[TenantKey.self] == nil, request.hostName == services.configuration.platformDomain else {
                throw HTTPProblem.notFound()
            }
            try limit("ip:" + context.remoteAddress, services.configuration.userRateLimit)
            do {
                return try await services.identity.authenticateAdmin(bearer: try bearer(of: request))
            } catch let error as ServiceError {
                throw problem(for: error)
            }
        }
        let tenant = try TenantRoutes.requireTenant(context)
        if access == .publicTenant { return nil }
        try limit(
            "tenant:" + tenant.id.uuidString,
            try await services.features.requestLimit(for: tenant.id) ?? services.configuration.tenantRateLimit)
        let principal: Principal
        do {
            principal = try await services.identity.authenticate(
                bearer: try bearer(of: request), sessionToken: sessionToken(of: request), tenant: tenant)
        } catch let error as ServiceError {
            // Failed attempts are audited, after a per-address limit so a flood cannot fill the trail.
            try limit("auth-failure:" + context.remoteAddress, services.configuration.loginRateLimit)
            try await record(
                AuditEvent(
                    actor: "anonymous", action: "authentication.failed", requestID: context.requestID,
                    details: ["path": String(request.path), "remote": context.remoteAddress]),
                tenant: tenant)
            throw problem(for: error)
        }
        switch principal.kind {
        case .apiKey: try limit("key:" + principal.actor, services.configuration.apiKeyRateLimit)
        case .user, .platformAdmin: try limit("user:" + principal.actor, services.configuration.userRateLimit)
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
        return principal
    }

    private func record(_ event: AuditEvent, tenant: Tenant) async throws {
        try await TenantScope(tenant: tenant, pool: services.pool).withTransaction { transaction in
            try await AuditTrail(schema: tenant.schema).append(event, in: transaction)
        }
    }

    private func limit(_ key: String, _ limit: RateLimiter.Limit) throws {
        if case .limited(let seconds) = services.limiter.take(key, limit: limit) {
            throw HTTPProblem(
                .tooManyRequests, type: .rateLimited, detail: "too many requests; retry in \(seconds) s",
                headers: ["Retry-After": String(seconds)])
        }
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
            throw problem(for: ServiceError(.unauthenticated, "the credentials are not valid"))
        }
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let token = bytes.dropFirst(7).drop(while: isBlank)
        let end = token.lastIndex { !isBlank($0) }.map { bytes.index(after: $0) } ?? token.startIndex
        return String(Substring(header.utf8[token.startIndex..<end]))
    }

    private func sessionToken(of request: HTTPRequest) -> String? {
        for header in request.headers["cookie"] where header.utf8.count <= 4096 {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == RouteServices.sessionCookie {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}

/// Maps a service's error to an HTTP problem: its message for the caller, except that a failed
/// authentication never says which part of a credential was wrong and corrupt data is not
/// described.
func problem(for error: ServiceError) -> HTTPProblem {
    switch error.code {
    case .invalidInput: HTTPProblem.badRequest(error.message, type: .invalidField)
    case .unauthenticated:
        HTTPProblem(
            .unauthorized, type: .unauthenticated, detail: "the credentials are missing or not valid",
            headers: ["WWW-Authenticate": "Bearer"])
    case .forbidden: HTTPProblem(.forbidden, type: .forbidden, detail: error.message)
    case .notFound: HTTPProblem.notFound(error.message)
    case .conflict: HTTPProblem(.conflict, type: .conflict, detail: error.message)
    case .disabled: HTTPProblem(.forbidden, type: .featureDisabled, detail: error.message)
    case .corrupt: HTTPProblem(.internalServerError, type: .internalError, detail: "stored data could not be read")
    }
}

/// Maps what a caller can act on from a database error: an unreachable or overloaded database is
/// 503 with `Retry-After` (the request may be repeated), a computed number beyond what a column
/// stores is 400. Anything else stays a 500, logged with its request id.
func problem(for error: PostgresError) -> HTTPProblem? {
    switch error.code {
    case .connectionFailed, .connectionClosed, .poolTimeout, .poolClosed, .statementTimeout:
        return HTTPProblem(
            .serviceUnavailable, type: .databaseUnavailable,
            detail: "the database is not answering; retry in a few seconds", headers: ["Retry-After": "5"])
    case .server where error.sqlState == .numericValueOutOfRange:
        return HTTPProblem.badRequest(
            "a figure computed from this request is beyond what an amount holds (\(DecimalLimits.stored))",
            type: .invalidField)
    default:
        return nil
    }
}

/// JSON responses with the project's conventions: camelCase, ISO 8601 dates, sorted keys.
enum JSONResponse {
    /// `value` as a JSON body: keys sorted, dates in ISO 8601, identifiers in lower case.
    static func encode(_ value: some Encodable, status: HTTPStatus = .ok) throws -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: try SortedJSONEncoder().encode(value))
    }
}

/// Each tenant's feature flags and, for a white-label instance, its own request limit, read from
/// the control plane and kept for at most a second, so a change made on any host applies
/// everywhere within a second.
final class FeatureGate: Sendable {
    private struct Settings {
        var flags: [String: Bool]
        var limit: RateLimiter.Limit?
        var loaded: ContinuousClock.Instant
    }

    private let pool: PostgresConnectionPool
    private let cache = Mutex<[UUID: Settings]>([:])
    private let lifetime: Duration = .seconds(1)

    init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    func isEnabled(_ feature: Feature, for tenantID: UUID) async throws -> Bool {
        try await settings(for: tenantID).flags[feature.rawValue] ?? false
    }

    /// The instance's request limit, or nil for the platform's (`RATE_LIMIT_TENANT`).
    func requestLimit(for tenantID: UUID) async throws -> RateLimiter.Limit? {
        try await settings(for: tenantID).limit
    }

    private func settings(for tenantID: UUID) async throws -> Settings {
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[tenantID] }), now - entry.loaded < lifetime { return entry }
        let settings = Settings(
            flags: try await TenantRegistry().featureFlags(of: tenantID, from: pool),
            limit: try await WhiteLabelStore().limits(of: tenantID, from: pool)?.rateLimit, loaded: now)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[tenantID] = settings
        }
        return settings
    }
}
