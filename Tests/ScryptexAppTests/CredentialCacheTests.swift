import Foundation
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Verified credentials are kept in memory for a few seconds, and a revocation reaches every host
/// through the database's notifications: two hosts (two identity services with caches of their
/// own, each listening) on one database.
@Suite("Credential cache across hosts")
struct CredentialCacheTests {
    @Test func aRevokedKeyIsRefusedByEveryHostLongBeforeItsCachedEntryWouldExpire() async throws {
        try await RouteHarness.with { harness in
            let tenant = harness.tenant
            // Entries kept for a minute: a refusal within the test's window can only come from
            // the revocation's notification, not from the entry running out. (How fast it comes
            // on a loaded machine is not a unit test's business; it is typically milliseconds.)
            let hostA = IdentityService(
                pool: harness.pool, keyring: harness.keyring, credentials: CredentialCache(lifetime: .seconds(60)))
            let hostB = IdentityService(
                pool: harness.pool, keyring: harness.keyring, credentials: CredentialCache(lifetime: .seconds(60)))
            let followers = [hostA, hostB].map { host in
                Task {
                    try await host.credentials.follow(
                        configuration: harness.pool.configuration, logger: TestDatabase.logger)
                }
            }
            defer { followers.forEach { $0.cancel() } }
            try await waitUntil { hostA.credentials.isTrusted && hostB.credentials.isTrusted }

            let (token, _) = try await TenantScope(tenant: tenant, pool: harness.pool).withTransaction {
                try await hostA.createAPIKey(
                    name: "desk", roles: ["trader"], expiresAt: nil, grantedBy: .host(actor: "operator"),
                    requestID: nil, tenant: tenant, in: $0)
            }
            let bearer = token.text
            let first = try await hostB.authenticate(bearer: bearer, sessionToken: nil, tenant: tenant)
            #expect(first.roleNames == ["trader"])

            // Host B answers from memory now: even with the tenant's schema out of reach it knows
            // the key (the database path would fail).
            try await harness.pool.execute("ALTER SCHEMA t_acme RENAME TO t_acme_away")
            let cached = try await hostB.authenticate(bearer: bearer, sessionToken: nil, tenant: tenant)
            #expect(cached == first)
            try await harness.pool.execute("ALTER SCHEMA t_acme_away RENAME TO t_acme")
            // A wrong secret with the same prefix never matches a cached entry.
            let forged = String(bearer.dropLast()) + (bearer.last == "a" ? "b" : "a")
            await #expect(throws: ServiceError.self) {
                try await hostB.authenticate(bearer: forged, sessionToken: nil, tenant: tenant)
            }

            // Revoked through host A: host B hears of it and refuses it.
            try await TenantScope(tenant: tenant, pool: harness.pool).withTransaction {
                try await hostA.revokeAPIKey(
                    prefix: token.prefix, by: .host(actor: "operator"), requestID: nil, tenant: tenant, in: $0)
            }
            let revokedAt = ContinuousClock.now
            var refusedAfter: Duration?
            while ContinuousClock.now - revokedAt < .seconds(20) {
                do {
                    _ = try await hostB.authenticate(bearer: bearer, sessionToken: nil, tenant: tenant)
                    try await Task.sleep(for: .milliseconds(10))
                } catch is ServiceError {
                    refusedAfter = ContinuousClock.now - revokedAt
                    break
                }
            }
            _ = try #require(refusedAfter, "host B still took the revoked key after 20 s")
        }
    }

    @Test func nothingIsCachedWhileTheListenerIsDown() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring, credentials: CredentialCache())
            #expect(!identity.credentials.isTrusted)
            let follower = Task {
                try await identity.credentials.follow(
                    configuration: harness.pool.configuration, logger: TestDatabase.logger)
            }
            try await waitUntil { identity.credentials.isTrusted }
            follower.cancel()
            try await follower.value
            try await waitUntil { !identity.credentials.isTrusted }
        }
    }

    private func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        let start = ContinuousClock.now
        while !condition() {
            guard ContinuousClock.now - start < .seconds(10) else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
