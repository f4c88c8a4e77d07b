import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

/// A control plane and a second database standing in for a second cluster (for SQL, another
/// database is as far away as another server: nothing crosses between them), the control plane's
/// pool routing tenants by placement.
func withTwoClusters<Result>(
    _ body: (PostgresConnectionPool, TenantProvisioner, TenantClusters, PostgresConnectionPool) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withFreshDatabase { second in
        try await withControlPlane { pool, provisioner in
            let clusters = TenantClusters(
                clusters: ["b": second], options: .init(maximumConnections: 4), logger: TestDatabase.logger)
            pool.route(through: clusters)
            try await clusters.reload(from: pool)
            let direct = PostgresConnectionPool(
                configuration: second, options: .init(maximumConnections: 2), logger: TestDatabase.logger)
            do {
                let result = try await body(pool, provisioner, clusters, direct)
                await direct.close()
                await clusters.close()
                return result
            } catch {
                await direct.close()
                await clusters.close()
                throw error
            }
        }
    }
}

@Suite("Tenants across PostgreSQL clusters")
struct TenantClusterTests {
    static func schemaExists(_ schema: String, on pool: PostgresConnectionPool) async throws -> Bool {
        try await pool.query("SELECT to_regnamespace(\(schema)) IS NOT NULL AS present").firstRow.decode(
            "present", as: Bool.self)
    }

    static func addAccounts(_ count: Int, to tenant: Tenant, on pool: PostgresConnectionPool) async throws {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            let parent = try await transaction.query(
                """
                INSERT INTO institutional_accounts (account_name, account_type, legal_name, jurisdiction, total_aum)
                VALUES ('Root', 'fund', 'Root Fund Ltd', 'GB', 1234567.89) RETURNING id
                """
            ).firstRow.decode("id", as: UUID.self)
            try await transaction.execute(
                """
                INSERT INTO institutional_accounts (parent_id, account_name, account_type, legal_name, jurisdiction, total_aum)
                SELECT \(parent), 'Sub ' || n, 'fund', 'Sub ' || n || ' Ltd', 'DE', n * 1000.01
                FROM generate_series(1, \(count)) AS n
                """
            )
            try await transaction.execute(
                """
                INSERT INTO institutional_team_members (account_id, email_hash, role)
                SELECT id, md5(id::text), 'trader' FROM institutional_accounts
                """
            )
            try await TenantScope.asHost(in: transaction) {
                try await transaction.execute(
                    """
                    INSERT INTO audit_records (actor, action, details)
                    SELECT 'user:' || n, 'account.created', jsonb_build_object('n', n, 'note', 'é ✓ "quoted"')
                    FROM generate_series(1, \(count)) AS n
                    """
                )
            }
        }
    }

    @Test func clusterListsAreCheckedWithoutShowingTheirPasswords() throws {
        let parsed = try TenantClusters.parse(
            "eu=postgres://scryptex:s3cret@db-eu/scryptex; us=postgres://scryptex@db-us:5433/scryptex?sslmode=require")
        #expect(parsed.keys.sorted() == ["eu", "us"])
        #expect(parsed["us"]?.port == 5433 && parsed["eu"]?.password == "s3cret")
        for (text, expected) in [
            ("postgres://scryptex:s3cret@db-eu/scryptex", "entry 1 is not name=postgres://"),
            ("eu=postgres://a@x/db eu=postgres://b@y/db", "the cluster 'eu' is named twice"),
            ("primary=postgres://a@x/db", "'primary' is not a cluster name"),
            ("EU=postgres://a@x/db", "'EU' is not a cluster name"),
            ("eu=mysql://s3cret@x/db", "the URL of cluster 'eu'"),
        ] {
            let error = #expect(throws: ServiceError.self) { try TenantClusters.parse(text) }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("s3cret") == false, "\(error?.message ?? "")")
        }
    }

    @Test func aTenantIsPlacedOnItsClusterAndEveryTransactionGoesThere() async throws {
        try await withTwoClusters { pool, provisioner, clusters, direct in
            let zenith = try await provisioner.create(
                .init(slug: "zenith", displayName: "Zenith", placement: "b"), on: pool)
            try await clusters.reload(from: pool)
            #expect(clusters.placement(of: "zenith") == "b")
            #expect(try await Self.schemaExists("t_zenith", on: direct))
            #expect(try await !Self.schemaExists("t_zenith", on: pool), "the primary kept a copy")
            try await Self.addAccounts(3, to: zenith, on: pool)
            let counted = try await direct.query("SELECT count(*) AS n FROM t_zenith.institutional_accounts")
            #expect(try counted.firstRow.decode("n", as: Int.self) == 4)
            // The tenant's role on the second cluster owns its tables, the trail belongs to the host.
            let owners = try await direct.query(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 't_zenith' ORDER BY tablename")
            let byTable = try Dictionary(
                uniqueKeysWithValues: owners.map {
                    (try $0.decode("tablename", as: String.self), try $0.decode("tableowner", as: String.self))
                })
            #expect(byTable["institutional_accounts"]?.hasSuffix("_zenith") == true, "\(byTable)")
            #expect(byTable["audit_records"]?.hasSuffix("_zenith") == false, "\(byTable)")

            // A cluster nobody configured: refused before anything is made, naming the known ones.
            let unknown = await #expect(throws: ServiceError.self) {
                try await provisioner.create(.init(slug: "orion", displayName: "Orion", placement: "eu"), on: pool)
            }
            #expect(unknown?.message.contains("'eu' is not configured") == true, "\(unknown?.message ?? "")")
            #expect(unknown?.message.contains("primary, b") == true)
            #expect(try await TenantRegistry().tenant(try TenantSlug("orion"), from: pool) == nil)

            // Least loaded: zenith is on b, nothing on primary, so acme goes to primary; then a
            // tie, won by the first in order (primary); then b has fewer.
            var balanced = provisioner
            balanced.placement = .leastLoaded(among: ["primary", "b"])
            for slug in ["acme", "bravo", "charlie"] {
                _ = try await balanced.create(.init(slug: slug, displayName: slug.capitalized), on: pool)
            }
            try await clusters.reload(from: pool)
            #expect(clusters.placement(of: "acme") == "primary")
            #expect(clusters.placement(of: "bravo") == "primary")
            #expect(clusters.placement(of: "charlie") == "b")

            // Migrations and the drift check reach each tenant on its own cluster.
            let campaign = TenantMigrationCampaign(
                runner: TenantMigrationRunner(plan: TenancyFixture.tenant, logger: TestDatabase.logger))
            let outcome = await campaign.run(try ["acme", "bravo", "charlie", "zenith"].map(TenantSlug.init), on: pool)
            #expect(outcome.failed.isEmpty, "\(outcome.failed)")
            let drift = try await TenantSchemaDrift(plan: TenancyFixture.tenant, logger: TestDatabase.logger).check(
                try ["acme", "bravo", "charlie", "zenith"].map(TenantSlug.init), on: pool)
            #expect(drift.isEmpty, "\(drift)")

            // A tenant file may name the cluster its tenant is created on.
            let folder = "/tmp/scryptex-manifests-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try #"{"slug": "delta", "displayName": "Delta", "placement": "b"}"#.write(
                toFile: folder + "/delta.json", atomically: true, encoding: .utf8)
            let synced = try await TenantSync(provisioner: provisioner, logger: TestDatabase.logger).apply(
                folder: folder, on: pool)
            #expect(synced.created == ["delta"])
            #expect(try await Self.schemaExists("t_delta", on: direct))
            try #"{"slug": "delta", "displayName": "Delta", "placement": "EU!"}"#.write(
                toFile: folder + "/delta.json", atomically: true, encoding: .utf8)
            let badFile = await #expect(throws: ServiceError.self) {
                try await TenantSync(provisioner: provisioner, logger: TestDatabase.logger).apply(
                    folder: folder, on: pool)
            }
            #expect(badFile?.message.contains("delta.json: field 'placement': 'EU!' is not a cluster name") == true)

            // Suspending works across clusters; so does deleting (the schema goes from b).
            try await TenantLifecycle().setStatus(.suspended, of: "zenith", on: pool)
            try await TenantDeletion(archive: TenantArchive(provisioner: provisioner, logger: TestDatabase.logger))
                .delete("zenith", confirmation: "zenith", on: pool) { _ in }
            #expect(try await !Self.schemaExists("t_zenith", on: direct))
        }
    }

    @Test func aMoveCopiesEveryRowExactlyAndTheSourceGoes() async throws {
        try await withTwoClusters { pool, provisioner, clusters, direct in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            try await Self.addAccounts(2500, to: acme, on: pool)
            let digest: PostgresQuery = """
                SELECT (SELECT md5(string_agg(r::text, '|' ORDER BY r.id)) FROM t_acme.institutional_accounts r) AS accounts,
                       (SELECT md5(string_agg(r::text, '|' ORDER BY r.sequence)) FROM t_acme.audit_records r) AS trail
                """
            // Rendered in one time zone on both sides.
            let before = try await pool.withTransaction { transaction in
                try await transaction.execute("SET LOCAL TimeZone TO 'UTC'")
                return try await transaction.query(digest).firstRow
            }

            let report = try await TenantMove(plan: TenancyFixture.tenant, logger: TestDatabase.logger).move(
                "acme", to: "b", on: pool)
            #expect(report.from == "primary" && report.to == "b")
            #expect(report.tables.first { $0.name == "institutional_accounts" }?.rows == 2501)
            #expect(report.tables.first { $0.name == "audit_records" }?.rows == 2500)
            #expect(report.sequences == 1)
            #expect(try await !Self.schemaExists("t_acme", on: pool), "the source was not dropped")
            let retired = try await pool.query(
                "SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'scryptex_moved_%'")
            #expect(try retired.firstRow.decode("n", as: Int.self) == 0)
            try await clusters.reload(from: pool)
            #expect(clusters.placement(of: "acme") == "b")

            // Independently of the move's own checksums: the same rows, the trail's positions kept.
            let after = try await direct.withTransaction { transaction in
                try await transaction.execute("SET LOCAL TimeZone TO 'UTC'")
                return try await transaction.query(digest).firstRow
            }
            #expect(try before.decode("accounts", as: String.self) == after.decode("accounts", as: String.self))
            #expect(try before.decode("trail", as: String.self) == after.decode("trail", as: String.self))

            // The trail goes on where it stopped: the next record is position 2501, and the
            // identity continues past the copied values.
            try await TenantScope(tenant: acme, pool: pool).withTransaction { transaction in
                try await TenantScope.asHost(in: transaction) {
                    try await transaction.execute("INSERT INTO audit_records (actor, action) VALUES ('me', 'after')")
                }
            }
            let last = try await direct.query(
                "SELECT sequence, chain_position FROM t_acme.audit_records ORDER BY sequence DESC LIMIT 1"
            ).firstRow
            #expect(try last.decode("chain_position", as: Int64.self) == 2501)
            #expect(try last.decode("sequence", as: Int64.self) == 2501)
            // The tenant's role still cannot write its trail on the new cluster.
            let refused = await #expect(throws: PostgresError.self) {
                try await TenantScope(tenant: acme, pool: pool).withTransaction { transaction in
                    try await transaction.execute("INSERT INTO audit_records (actor, action) VALUES ('me', 'forged')")
                }
            }
            #expect(refused?.sqlState == .insufficientPrivilege)

            // Back again, and a second time to where it is: refused.
            try await TenantMove(plan: TenancyFixture.tenant, logger: TestDatabase.logger).move(
                "acme", to: "primary", on: pool)
            #expect(try await Self.schemaExists("t_acme", on: pool))
            #expect(try await !Self.schemaExists("t_acme", on: direct))
            let again = await #expect(throws: ServiceError.self) {
                try await TenantMove(plan: TenancyFixture.tenant, logger: TestDatabase.logger).move(
                    "acme", to: "primary", on: pool)
            }
            #expect(again?.message == "tenant 'acme' is already on cluster 'primary'")
            let nowhere = await #expect(throws: ServiceError.self) {
                try await TenantMove(plan: TenancyFixture.tenant, logger: TestDatabase.logger).move(
                    "acme", to: "mars", on: pool)
            }
            #expect(nowhere?.message.contains("'mars' is not configured") == true)
        }
    }

    @Test func aCopyThatDoesNotVerifySwitchesNothing() async throws {
        try await withTwoClusters { pool, provisioner, clusters, direct in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            try await Self.addAccounts(10, to: acme, on: pool)
            // A target whose schema differs from the source's (drift): a narrower amount column
            // rounds what is loaded, so the checksums cannot match.
            let drifted = TenancyFixture.tenant.migrations.appending(
                MigrationSet(
                    name: "drift",
                    migrations: [
                        Migration(
                            version: 1, name: "round_amounts",
                            sql: "ALTER TABLE institutional_accounts ALTER COLUMN total_aum TYPE numeric(38, 0);")
                    ]))
            let plan = TenantSchemaPlan(drifted, extensions: [AppendOnlyTrail()])
            let failed = await #expect(throws: ServiceError.self) {
                try await TenantMove(plan: plan, logger: TestDatabase.logger).move("acme", to: "b", on: pool)
            }
            #expect(failed?.code == .corrupt, "\(String(describing: failed))")
            #expect(failed?.message.contains("institutional_accounts did not copy exactly") == true)
            try await clusters.reload(from: pool)
            #expect(clusters.placement(of: "acme") == "primary")
            #expect(try await Self.schemaExists("t_acme", on: pool))
            #expect(try await !Self.schemaExists("t_acme", on: direct), "the failed copy was left on the target")
            let rows = try await TenantScope(tenant: acme, pool: pool).withTransaction {
                try await $0.query("SELECT count(*) AS n FROM institutional_accounts").firstRow.decode(
                    "n", as: Int.self)
            }
            #expect(rows == 11)
        }
    }

    /// Writers keep writing through the routing pool while the tenant moves: every write that
    /// was acknowledged is on the new cluster afterwards; the ones that failed did so during the
    /// freeze, with a retryable error.
    @Test(arguments: [true, false])
    func noAcknowledgedWriteIsLostWhileATenantMoves(online: Bool) async throws {
        try await withTwoClusters { pool, provisioner, clusters, direct in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            try await Self.addAccounts(3000, to: acme, on: pool)
            let load = WriteLoad()
            let writers = (0..<3).map { writer in
                Task {
                    var n = 0
                    while !load.stopped.withLock({ $0 }) {
                        n += 1
                        let name = "w\(writer)-\(n)"
                        do {
                            try await TenantScope(tenant: acme, pool: pool).withTransaction { transaction in
                                try await transaction.execute(
                                    """
                                    INSERT INTO institutional_accounts (account_name, account_type, legal_name, jurisdiction)
                                    VALUES (\(name), 'fund', 'Load Ltd', 'GB')
                                    """
                                )
                            }
                            load.acknowledged.withLock { $0.append(name) }
                        } catch {
                            load.failures.withLock { $0.append(String(describing: error)) }
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            // The host follows placements through notifications; here the test reloads right after.
            var move = TenantMove(plan: TenancyFixture.tenant, logger: TestDatabase.logger)
            move.online = online
            let report = try await move.move("acme", to: "b", on: pool)
            #expect(report.online == online)
            if online {
                // The copy went on while the writers wrote; only their last changes crossed
                // under the freeze.
                #expect(!report.roundsBeforeFreeze.isEmpty)
                #expect(report.changesUnderFreeze < report.rows / 2, "\(report)")
            }
            try await clusters.reload(from: pool)
            try await Task.sleep(for: .milliseconds(300))
            load.stopped.withLock { $0 = true }
            for writer in writers { await writer.value }

            let written = Set(
                try await direct.query(
                    "SELECT account_name FROM t_acme.institutional_accounts WHERE legal_name = 'Load Ltd'"
                )
                .map { try $0.decode("account_name", as: String.self) })
            let lost = Set(load.acknowledged.withLock { $0 }).subtracting(written)
            #expect(lost.isEmpty, "acknowledged but not on the new cluster: \(lost.sorted().prefix(10))")
            #expect(load.acknowledged.withLock { $0.count } > 20, "the load never got going")
            // Writes after the switch went to the new cluster.
            #expect(written.count >= load.acknowledged.withLock { $0.count })
            for failure in load.failures.withLock({ $0 }) {
                #expect(
                    failure.contains("not available on this database") || failure.contains("moved to another database"),
                    "an unexpected failure: \(failure)")
            }
            print(
                "move under load (\(online ? "online" : "offline")): \(report.rows) rows, rounds \(report.roundsBeforeFreeze), \(report.changesUnderFreeze) under the freeze, writes held \(report.writeFreezeMilliseconds) ms, "
                    + "\(load.acknowledged.withLock { $0.count }) writes acknowledged, \(load.failures.withLock { $0.count }) failed"
            )
        }
    }
}

/// What the writers of a load saw, shared with the test.
final class WriteLoad: Sendable {
    let acknowledged = Mutex<[String]>([])
    let failures = Mutex<[String]>([])
    let stopped = Mutex(false)
}
