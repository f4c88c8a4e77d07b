import Foundation
import Glibc
import ScryptexPostgres
import ScryptexTestSupport
import Testing

/// `scryptex serve` on its embedded cluster (`primary`, the control plane) with a second,
/// independent PostgreSQL cluster for tenants (the test server's): the demo tenants are placed on
/// the second one, the walk-throughs run against them over HTTPS, and one tenant moves back to
/// `primary` with the command line while clients write through the host. (Part of the
/// walk-throughs' suite, which runs one at a time: each drives a host hard.)
extension QuantWalkthroughTests {
    @Test(.timeLimit(.minutes(10)))
    func theDemoTenantsRunOnASecondClusterAndOneMovesBackUnderLoad() async throws {
        try await TestDatabase.withFreshDatabase { second in
            let clusters = ["TENANT_CLUSTERS": "b=\(second.url())"]
            let served = try WalkthroughHost(settings: clusters.merging(["TENANT_PLACEMENT": "b"]) { $1 })
            defer { served.remove() }
            guard let host = try await served.start() else { return }
            let direct = PostgresConnectionPool(
                configuration: second, options: .init(maximumConnections: 2), logger: TestDatabase.logger)
            do {
                try await exerciseTwoClusters(served, clusters: clusters, direct: direct)
            } catch {
                Issue.record("\(error)\n\(host.output.suffix(3000))")
            }
            await direct.close()
            await served.stop(host)
        }
    }

    func exerciseTwoClusters(
        _ served: WalkthroughHost, clusters: [String: String], direct: PostgresConnectionPool
    ) async throws {
        let environment = ["SCRYPTEX_DATA_DIR": served.root, "LOG_LEVEL": "warning"].merging(clusters) { $1 }
        @Sendable func cli(_ arguments: [String]) async throws -> (Int32?, String) {
            try await ScaleOutTests.run(arguments, environment: environment)
        }
        // The demo tenants' schemas are on the second cluster, and only there.
        let placed = try await direct.query(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' ORDER BY nspname"
        ).map { try $0.decode("nspname", as: String.self) }
        #expect(placed.contains("t_acme") && placed.contains("t_zenith"), "\(placed)")
        let (listed, clustersOutput) = try await cli(["tenant", "clusters"])
        #expect(listed == 0, "\(clustersOutput)")
        #expect(clustersOutput.contains("primary  reachable  0 tenants"), "\(clustersOutput)")
        #expect(clustersOutput.contains("b  reachable  "), "\(clustersOutput)")

        // The quant suite over HTTPS against Acme on the second cluster: data import (control
        // plane), strategies, backtests as jobs (queue on the control plane, data on Acme's cluster).
        let (status, output) = try await served.run("quant-walkthrough", settings: clusters, timeout: .seconds(300))
        #expect(status == 0, "the walk-through failed:\n\(output)")
        #expect(output.contains("final equity 774781.01093") && output.contains("== done =="), "\(output)")
        // Market making (strategies, ticks, fills, simulations as jobs) and machine learning
        // (training jobs, predictions) on the same tenants.
        let (making, makingOutput) = try await served.run("market-making-walkthrough", settings: clusters)
        #expect(making == 0 && makingOutput.contains("== done =="), "the walk-through failed:\n\(makingOutput)")
        let state = served.root + "-predictions"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let (learning, learningOutput) = try await served.run(
            "ml-walkthrough", ["train", state], settings: clusters.merging(["TREES": "40", "EPOCHS": "4"]) { $1 })
        #expect(
            learning == 0 && learningOutput.contains("svm: accuracy 0.5151515151515151")
                && learningOutput.contains("== trained =="), "the walk-through failed:\n\(learningOutput)")

        // Each cluster's pool in the metrics.
        let metricsAddress = try #require(served.environment["METRICS_LISTEN"])
        let metrics = try ChildProcess("/usr/bin/curl", ["-s", "http://\(metricsAddress)/metrics"])
        _ = await metrics.waitForExit(timeout: .seconds(20))
        for cluster in ["primary", "b"] {
            #expect(
                metrics.output.contains("scryptex_database_connections{cluster=\"\(cluster)\",state=\"idle\"}"),
                "\(metrics.output.prefix(3000))")
        }

        // Acme moves back to primary while four clients create accounts through the host.
        let (keyStatus, keyOutput) = try await cli(["apikey", "create", "--tenant", "acme", "--role", "owner"])
        try #require(keyStatus == 0, "\(keyOutput)")
        let key = String(keyOutput.split(separator: "\n").last ?? "")
        let moveOutput = MoveOutput()
        let results = await ScaleOutTests.writeLoad(
            "move", workers: 4, port: served.httpsPort, key: key, from: nil, during: .seconds(2)
        ) {
            // A job of the walk-throughs may still hold Acme's tables: the move then says whose
            // work it waited for, and is tried again.
            for _ in 0..<3 {
                let moved = try? await cli(["tenant", "move", "acme", "--to", "primary"])
                await moveOutput.set(moved?.1 ?? "the move did not run")
                if moved?.0 == 0 { break }
                print("tenant move refused, tried again: \(moved?.1 ?? "")")
            }
        }
        let moved = await moveOutput.text
        #expect(moved.contains("moved tenant acme from b to primary"), "\(moved)")
        let acknowledged = results.filter { $0.status == 201 }
        let failed = results.filter { $0.status != 201 }
        #expect(acknowledged.count > 20, "only \(acknowledged.count) writes acknowledged")
        // A write caught by the freeze is refused as retryable (503), never half-done.
        #expect(failed.allSatisfy { $0.status == 503 }, "\(failed.map { "\($0.name) \($0.status)" })")
        print(
            "move through the host: \(moved.split(separator: "\n").last ?? ""); \(acknowledged.count) writes acknowledged, \(failed.count) refused (503)"
        )

        // Every acknowledged write is there, read through the host from Acme's new cluster.
        let stored = try await ScaleOutTests.accounts(port: served.httpsPort, key: key)
        let lost = acknowledged.compactMap(\.id).filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged writes missing after the move: \(lost)")
        let left = try await direct.query("SELECT to_regnamespace('t_acme') IS NULL AS gone").firstRow
        #expect(try left.decode("gone", as: Bool.self), "Acme's old schema is still on the second cluster")
        // Acme's audit trail still verifies on its new cluster.
        let (verified, verification) = try await cli(["audit", "verify", "--tenant", "acme"])
        #expect(verified == 0, "\(verification)")
    }
}

/// What the move printed (its last try).
private actor MoveOutput {
    var text = ""
    func set(_ output: String) { text = output }
}
