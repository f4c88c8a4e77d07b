import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres
import Synchronization

/// Verified credentials (API keys and sessions) kept in memory for a few seconds, so most
/// authenticated requests need no database round trip of their own.
///
/// An entry is keyed by the tenant's schema and the SHA-256 of the whole presented token, so only
/// the exact secret that was verified finds it. Revocation is pushed, not waited out: every change
/// that can take access away (a key revoked or expired, a session ended, a user disabled or given
/// another role, a custom role changed) fires a trigger in the tenant's schema that notifies
/// `scryptex_credentials` at commit, and every host forgets that tenant's entries as the
/// notification arrives (milliseconds; the tests hold it to 1 s across two hosts). While the
/// listening connection is down nothing is cached, since notifications could be missed.
public final class CredentialCache: Sendable {
    public static let channel = "scryptex_credentials"

    public let lifetime: Duration
    private let clock = ContinuousClock()

    private struct Entry {
        var principal: Principal
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: [String: Entry]] = [:]
        /// Caching only while a listener hears every change.
        var isTrusted = false
        /// Bumped by every invalidation: a lookup that began before one may not store its result.
        var generation: UInt64 = 0
        var count = 0
    }

    private let state = Mutex(State())
    private static let capacity = 100_000

    public init(lifetime: Duration = .seconds(5)) {
        self.lifetime = lifetime
    }

    /// The cached principal for `token` in `schema`, if verified within the lifetime.
    func principal(for token: String, schema: String) -> Principal? {
        let key = Self.key(token)
        let now = clock.now
        return state.withLock { state in
            guard state.isTrusted, let entry = state.entries[schema]?[key] else { return nil }
            guard entry.expires > now else {
                state.entries[schema]?.removeValue(forKey: key)
                state.count -= 1
                return nil
            }
            return entry.principal
        }
    }

    /// A token for `store`: taken before the database lookup.
    func beginLookup() -> UInt64 { state.withLock { $0.generation } }

    /// Keeps a principal verified against the database, unless something was invalidated since
    /// `generation` (the lookup may have read what was just revoked).
    func store(_ principal: Principal, for token: String, schema: String, generation: UInt64, validUntil: Date? = nil) {
        var expires = clock.now + lifetime
        if let validUntil {
            let remaining = validUntil.timeIntervalSinceNow
            if remaining <= 0 { return }
            expires = min(expires, clock.now + .milliseconds(Int64(remaining * 1000)))
        }
        let key = Self.key(token)
        state.withLock { state in
            guard state.isTrusted, state.generation == generation else { return }
            if state.count >= Self.capacity {
                state.entries.removeAll()
                state.count = 0
            }
            if state.entries[schema, default: [:]].updateValue(
                Entry(principal: principal, expires: expires), forKey: key) == nil
            {
                state.count += 1
            }
        }
    }

    /// Forgets every entry of one tenant.
    public func invalidate(schema: String) {
        state.withLock { state in
            state.generation += 1
            state.count -= state.entries.removeValue(forKey: schema)?.count ?? 0
        }
    }

    /// Forgets everything and caches (or stops caching) from now on.
    public func reset(trusted: Bool) {
        state.withLock { state in
            state.generation += 1
            state.entries.removeAll()
            state.count = 0
            state.isTrusted = trusted
        }
    }

    public var isTrusted: Bool { state.withLock { $0.isTrusted } }

    private static func key(_ token: String) -> String { SHA256.hexDigest(token) }

    /// Listens for credential changes and keeps the cache honest: trusted while listening,
    /// emptied and bypassed while the listening connection is lost.
    /// Runs until its task is cancelled.
    public func follow(configuration: PostgresConfiguration, logger: Logger) async throws {
        let listener = try PostgresNotificationListener(
            configuration: configuration, channels: [Self.channel], logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask { await listener.run() }
            for await event in listener.events {
                switch event {
                case .listening, .reconnected: reset(trusted: true)
                case .disconnected: reset(trusted: false)
                case .notification(let notification): invalidate(schema: notification.payload)
                }
            }
        }
        reset(trusted: false)
    }
}
