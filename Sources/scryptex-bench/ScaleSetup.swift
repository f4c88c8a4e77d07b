import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy

/// Creates the tenants of the host-scale benchmark (bench/scale.sh) in a database the host
/// then serves: `count` tenants `tenant0…`, and `probe`, whose custom domain is `localhost` so a
/// load generator can reach it by name. Skips the work when they already exist.
enum ScaleSetup {
    static func run(databaseURL: String, count: Int) async throws {
        let logger = Logger(label: "bench", minimumLevel: .warning)
        let configuration = try PostgresConfiguration(url: databaseURL)
        let pool = PostgresConnectionPool(
            configuration: configuration, options: .init(maximumConnections: 3), logger: logger)
        let existing = try await pool.query("SELECT count(*) AS n FROM platform.tenants").firstRow.decode(
            "n", as: Int.self)
        let provisioner = TenantProvisioner(
            platformDomain: "bench.example", tenantSchema: SchemaPlans.tenant, logger: logger)
        if existing == 0 {
            _ = try await provisioner.create(
                .init(slug: "probe", displayName: "Probe", domains: ["localhost"]), on: pool)
        }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<3 {
                group.addTask {
                    for index in stride(from: lane, to: count, by: 3) {
                        do {
                            _ = try await provisioner.create(
                                .init(slug: "tenant\(index)", displayName: "Tenant \(index)"), on: pool)
                        } catch let error as ServiceError where error.code == .conflict {
                            continue  // made by an earlier, interrupted run
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = try await pool.query("SELECT count(*) AS n FROM platform.tenants").firstRow.decode(
            "n", as: Int.self)
        print("tenants: \(total) (created in \(Int((ContinuousClock.now - started).secondsValue)) s)")
        await pool.close()
    }
}
