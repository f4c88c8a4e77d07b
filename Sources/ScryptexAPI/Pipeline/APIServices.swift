public import Foundation
public import ScryptexCore
public import ScryptexIdentity
public import ScryptexPostgres
public import ScryptexTenancy
import ScryptexWhiteLabel
import Synchronization

/// The settings every route's guard reads, from the host's configuration.
public struct APIOptions: Sendable {
    /// The platform's own domain: platform-admin routes answer only there.
    public var platformDomain: String
    /// A tenant's request budget (`RATE_LIMIT_TENANT`), unless its instance sets its own.
    public var tenantRateLimit: RateLimiter.Limit
    public var userRateLimit: RateLimiter.Limit
    public var apiKeyRateLimit: RateLimiter.Limit
    /// Sign-in attempts per tenant and address, and failed authentications per address.
    public var loginRateLimit: RateLimiter.Limit

    public init(
        platformDomain: String, tenantRateLimit: RateLimiter.Limit, userRateLimit: RateLimiter.Limit,
        apiKeyRateLimit: RateLimiter.Limit, loginRateLimit: RateLimiter.Limit
    ) {
        self.platformDomain = platformDomain
        self.tenantRateLimit = tenantRateLimit
        self.userRateLimit = userRateLimit
        self.apiKeyRateLimit = apiKeyRateLimit
        self.loginRateLimit = loginRateLimit
    }
}

/// What the guard and every route collection share: the identity service (and through it the
/// pool and the keyring), rate limits, feature flags, the guard's options.
public struct APIServices: Sendable {
    public let identity: IdentityService
    public let limiter: RateLimiter
    public let features: FeatureGate
    public let options: APIOptions
    public let logger: Logger

    public init(identity: IdentityService, options: APIOptions, logger: Logger, limiter: RateLimiter = RateLimiter()) {
        self.identity = identity
        self.limiter = limiter
        self.features = FeatureGate(pool: identity.pool)
        self.options = options
        self.logger = logger
    }

    public var pool: PostgresConnectionPool { identity.pool }
}

/// Each tenant's feature flags and, for a white-label instance, its own request limit, read from
/// the control plane and kept for at most a second, so a change made on any host applies
/// everywhere within a second.
public final class FeatureGate: Sendable {
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

    public func isEnabled(_ feature: Feature, for tenantID: UUID) async throws -> Bool {
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
