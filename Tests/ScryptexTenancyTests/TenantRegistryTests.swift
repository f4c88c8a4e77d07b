import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("The tenant registry: tenants, domains and flags for the other modules")
struct TenantRegistryTests {
    @Test func tenantsAreFoundBySlugIdAndStatus() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            try await provisioner.create(.init(slug: "zenith", displayName: "Zenith"), on: pool)
            try await TenantLifecycle().setStatus(.suspended, of: "zenith", on: pool)
            let registry = TenantRegistry()
            #expect(try await registry.tenant(try TenantSlug("acme"), from: pool) == acme)
            #expect(try await registry.tenant(id: acme.id, from: pool) == acme)
            #expect(try await registry.tenant(try TenantSlug("zenith"), statuses: [.active], from: pool) == nil)
            #expect(try await registry.tenant(try TenantSlug("nobody"), from: pool) == nil)
            #expect(try await registry.tenants(statuses: [.suspended], from: pool).map(\.slug.value) == ["zenith"])
            #expect(try await registry.tenants(from: pool).map(\.slug.value) == ["acme", "zenith"])

            let summary = try #require(try await registry.summary(of: try TenantSlug("acme"), from: pool))
            #expect(summary.id == acme.id && summary.status == "active" && summary.domains == ["acme.localhost"])
            #expect(summary.features == TenantProvisioner.defaultFeatures)
            #expect(try await registry.summaries(from: pool).map(\.slug) == ["acme", "zenith"])
        }
    }

    @Test func customDomainsAndFlagsChangeInTheCallersTransaction() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let zenith = try await provisioner.create(.init(slug: "zenith", displayName: "Zenith"), on: pool)
            let registry = TenantRegistry()
            try await pool.withTransaction { transaction in
                try await registry.addCustomDomain("trade.acme.example", to: acme.id, in: transaction)
                try await registry.setFeatureFlags(["ml": false], of: acme.id, in: transaction)
            }
            let taken = await #expect(throws: ServiceError.self) {
                try await pool.withTransaction { transaction in
                    try await registry.addCustomDomain("trade.acme.example", to: zenith.id, in: transaction)
                }
            }
            #expect(taken?.code == .conflict)
            #expect(try await registry.owner(of: "trade.acme.example", from: pool) == acme.id)
            #expect(try await registry.featureFlags(of: acme.id, from: pool)["ml"] == false)
            #expect(
                try await registry.hostNames(from: pool).map(\.hostName) == [
                    "acme.localhost", "trade.acme.example", "zenith.localhost",
                ])
            try await pool.withTransaction { transaction in
                // Only custom domains go; the platform subdomain stays.
                #expect(!(try await registry.removeCustomDomain("acme.localhost", from: acme.id, in: transaction)))
                #expect(try await registry.removeCustomDomain("trade.acme.example", from: acme.id, in: transaction))
                try await registry.update(acme.id, displayName: "Acme Prime", plan: "enterprise", in: transaction)
            }
            let summary = try #require(try await registry.summary(of: acme.slug, from: pool))
            #expect(summary.domains == ["acme.localhost"])
            #expect(summary.displayName == "Acme Prime" && summary.plan == "enterprise")
        }
    }
}

@Suite("Certificate attempts: each domain's last ACME outcome, shared by every host")
struct CertificateAttemptTests {
    @Test func aFailureKeepsTheLastCertificateObtainedAndASuccessReplacesIt() async throws {
        try await withControlPlane { pool, _ in
            let store = CertificateAttempts()
            let first = Date(timeIntervalSince1970: 1_800_000_000)
            let expires = first.addingTimeInterval(90 * 86_400)
            try await pool.withTransaction {
                try await store.record(
                    .init(
                        domain: "acme.example", attemptedAt: first, error: nil, consecutiveFailures: 0, retryAt: nil,
                        obtainedAt: first, issuer: "Let's Encrypt", expiresAt: expires), in: $0)
            }
            let failed = first.addingTimeInterval(60 * 86_400)
            try await pool.withTransaction {
                try await store.record(
                    .init(
                        domain: "acme.example", attemptedAt: failed, error: "urn:ietf:params:acme:error:dns",
                        consecutiveFailures: 2, retryAt: failed.addingTimeInterval(7_200)), in: $0)
            }
            var records = try await pool.withTransaction(readOnly: true) {
                try await store.records(for: ["acme.example", "other.example"], in: $0)
            }
            #expect(records.keys.sorted() == ["acme.example"])
            let afterFailure = try #require(records["acme.example"])
            #expect(afterFailure.error == "urn:ietf:params:acme:error:dns" && afterFailure.consecutiveFailures == 2)
            #expect(afterFailure.attemptedAt == failed && afterFailure.retryAt == failed.addingTimeInterval(7_200))
            #expect(afterFailure.issuer == "Let's Encrypt" && afterFailure.expiresAt == expires)
            #expect(afterFailure.obtainedAt == first)

            let renewed = failed.addingTimeInterval(3_600)
            try await pool.withTransaction {
                try await store.record(
                    .init(
                        domain: "acme.example", attemptedAt: renewed, error: nil, consecutiveFailures: 0, retryAt: nil,
                        obtainedAt: renewed, issuer: "Pebble", expiresAt: renewed.addingTimeInterval(86_400)), in: $0)
            }
            records = try await pool.withTransaction(readOnly: true) {
                try await store.records(for: ["acme.example"], in: $0)
            }
            let afterSuccess = try #require(records["acme.example"])
            #expect(afterSuccess.error == nil && afterSuccess.retryAt == nil && afterSuccess.consecutiveFailures == 0)
            #expect(afterSuccess.issuer == "Pebble" && afterSuccess.obtainedAt == renewed)
        }
    }

    @Test func oneHostOrdersADomainAtATimeAndAllWaitForTheNextTry() async throws {
        try await withControlPlane { pool, _ in
            let store = CertificateAttempts()
            func claim(_ host: String, until: Date = Date().addingTimeInterval(600)) async throws -> Bool {
                try await pool.withTransaction { try await store.claim("acme.example", by: host, until: until, in: $0) }
            }
            #expect(try await claim("host-a"))
            #expect(try await !claim("host-b"))
            #expect(try await claim("host-a"))  // its own claim, renewed
            try await pool.withTransaction { try await store.release("acme.example", by: "host-b", in: $0) }
            #expect(try await !claim("host-b"))  // another host's release does nothing
            try await pool.withTransaction { try await store.release("acme.example", by: "host-a", in: $0) }
            #expect(try await claim("host-b"))
            // An expired claim is taken over.
            try await pool.withTransaction { try await store.release("acme.example", by: "host-b", in: $0) }
            #expect(try await claim("host-a", until: Date().addingTimeInterval(-1)))
            #expect(try await claim("host-b"))
            try await pool.withTransaction { try await store.release("acme.example", by: "host-b", in: $0) }
            // After a failure, every host waits for its next try.
            try await pool.withTransaction {
                try await store.record(
                    .init(
                        domain: "acme.example", attemptedAt: Date(), error: "dns", consecutiveFailures: 1,
                        retryAt: Date().addingTimeInterval(3_600)), in: $0)
            }
            #expect(try await !claim("host-a"))
            #expect(try await !claim("host-b"))
            // The claim row alone is no attempt to show.
            let fresh = try await pool.withTransaction {
                try await store.claim("new.example", by: "host-a", until: Date().addingTimeInterval(600), in: $0)
            }
            #expect(fresh)
            let shown = try await pool.withTransaction(readOnly: true) {
                try await store.records(for: ["new.example"], in: $0)
            }
            #expect(shown.isEmpty)
        }
    }

    @Test func challengesArePublishedForEveryHostAndRemoved() async throws {
        try await withControlPlane { pool, _ in
            let challenges = ACMEChallenges()
            try await pool.withTransaction {
                try await challenges.publish(token: "tok_1", keyAuthorization: "tok_1.thumb", in: $0)
            }
            #expect(
                try await pool.withTransaction { try await challenges.keyAuthorization(for: "tok_1", in: $0) }
                    == "tok_1.thumb")
            try await pool.withTransaction { try await challenges.remove(token: "tok_1", in: $0) }
            #expect(
                try await pool.withTransaction { try await challenges.keyAuthorization(for: "tok_1", in: $0) } == nil)
        }
    }

    @Test func aStoredCertificateIsReplacedOnlyByOneThatLastsLonger() async throws {
        try await withControlPlane { pool, _ in
            let store = StoredCertificates()
            let expiry = Date(timeIntervalSince1970: 1_900_000_000)
            func stored(_ chain: String, _ notAfter: Date) -> StoredCertificates.Certificate {
                .init(
                    domain: "acme.example", chainPEM: chain, sealedKey: [1, 2, 3], issuer: "Pebble", notAfter: notAfter)
            }
            try await pool.withTransaction { try await store.store(stored("first", expiry), in: $0) }
            let all = try await pool.withTransaction(readOnly: true) { try await store.changed(since: nil, in: $0) }
            #expect(all.map(\.chainPEM) == ["first"] && all.first?.sealedKey == [1, 2, 3])
            let mark = try #require(all.first?.updatedAt)
            #expect(
                try await pool.withTransaction(readOnly: true) { try await store.changed(since: mark, in: $0) }.isEmpty)
            // An older one (a slower order that lost) does not replace it; a newer one does.
            try await pool.withTransaction {
                try await store.store(stored("older", expiry.addingTimeInterval(-60)), in: $0)
            }
            try await pool.withTransaction {
                try await store.store(stored("newer", expiry.addingTimeInterval(86_400)), in: $0)
            }
            let changed = try await pool.withTransaction(readOnly: true) {
                try await store.changed(since: mark, in: $0)
            }
            #expect(changed.map(\.chainPEM) == ["newer"])
            #expect(
                try await pool.withTransaction(readOnly: true) {
                    try await store.certificate(for: "acme.example", in: $0)
                }?
                .chainPEM == "newer")
            #expect(
                try await pool.withTransaction(readOnly: true) {
                    try await store.certificate(for: "none.example", in: $0)
                }
                    == nil)
        }
    }
}
