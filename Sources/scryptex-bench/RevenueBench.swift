import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
import ScryptexTestSupport

/// Revenue-ledger benchmark: ingest fee events for many partners in batches over a few
/// connections, replay a share of them, close the month for every partner, reconcile.
/// Run by bench/revenue.sh.
enum RevenueBench {
    /// - Parameter grouped: Each partner's events arrive together (a partner platform reporting
    ///   its own fees), instead of every batch mixing all partners (a central billing feed).
    static func run(
        events eventCount: Int, partners partnerCount: Int, batch batchSize: Int, lanes: Int, grouped: Bool
    ) async throws {
        let logger = Logger(label: "bench", minimumLevel: .warning)
        let cluster = EmbeddedPostgres(options: .init(rootDirectory: "bench/out/revenue-data"), logger: logger)
        try await cluster.start()
        var server = cluster.configuration
        server.database = "postgres"
        let admin = try await PostgresConnection.connect(configuration: server, logger: logger)
        try await admin.executeScript(
            "DROP DATABASE IF EXISTS scryptex_revenue_bench WITH (FORCE)", timeout: .seconds(1800))
        try await admin.executeScript("CREATE DATABASE scryptex_revenue_bench")
        if let threshold = ProcessInfo.processInfo.environment["BENCH_LOG_SLOW_MS"] {
            try await admin.executeScript(
                "ALTER DATABASE scryptex_revenue_bench SET log_min_duration_statement = \(Int(threshold) ?? 50)")
        }
        var configuration = server
        configuration.database = "scryptex_revenue_bench"
        let pool = PostgresConnectionPool(
            configuration: configuration, options: .init(maximumConnections: max(4, lanes)), logger: logger)
        try await pool.withConnection {
            try await Migrator(plan: SchemaPlans.platform, logger: logger).migrate(
                schema: PlatformSchema.name, on: $0)
        }

        // Partners: control-plane rows only (the ledger lives in the control plane; tenant
        // schemas play no part in it). Half on a flat 20 %, half on marginal revenue tiers.
        let usd = try Currency("USD")
        let flat = RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(20))
        let tiered = RevenuePlan(
            model: .tiered, currency: usd,
            tiers: [
                RevenueTier(from: .zero, upTo: ExactDecimal(10_000), percent: ExactDecimal(15)),
                RevenueTier(from: ExactDecimal(10_000), upTo: ExactDecimal(50_000), percent: ExactDecimal(25)),
                RevenueTier(from: ExactDecimal(50_000), upTo: nil, percent: ExactDecimal("32.5")!),
            ], tierBasis: .revenue, minimumGuarantee: ExactDecimal(100))
        var partners: [UUID] = []
        try await pool.withTransaction { transaction in
            for index in 0..<partnerCount {
                let id = try await transaction.query(
                    """
                    INSERT INTO platform.tenants (slug, display_name, status)
                    VALUES (\("partner\(index)"), \("Partner \(index)"), 'active') RETURNING id
                    """
                ).firstRow.decode("id", as: UUID.self)
                try await RevenuePlanStore().add(
                    index % 2 == 0 ? flat : tiered, effectiveMonth: "2026-01", partner: id, createdBy: "bench",
                    in: transaction)
                partners.append(id)
            }
        }

        // Events for October 2026, generated before the clock starts.
        var random = SeededGenerator(seed: 42)
        let products = RevenueProduct.allCases.map(\.rawValue)
        let october = Double(CivilCalendar.daysSinceEpoch(year: 2026, month: 10, day: 1) * 86_400)
        var batches: [[PartnerFeeEvent]] = []
        var batch: [PartnerFeeEvent] = []
        batch.reserveCapacity(batchSize)
        var expected = ExactDecimal.zero
        for index in 0..<eventCount {
            let cents = Int(random.next() % 500_000) + 1
            let amount = ExactDecimal(significand: Int128(cents), scale: 2)
            expected += amount
            batch.append(
                PartnerFeeEvent(
                    partner: grouped
                        ? partners[index * partnerCount / eventCount]
                        : partners[Int(random.next() % UInt64(partnerCount))],
                    event: FeeEvent(
                        idempotencyKey: "evt-\(index)", product: products[index % products.count], amount: amount,
                        currency: "USD", volume: ExactDecimal(cents * 40),
                        occurredAt: Date(timeIntervalSince1970: october + Double(random.next() % 2_678_400)))))
            if batch.count == batchSize {
                batches.append(batch)
                batch = []
            }
        }
        if !batch.isEmpty { batches.append(batch) }

        let clock = ContinuousClock()
        let started = clock.now
        let recorded = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                let mine = stride(from: lane, to: batches.count, by: lanes).map { batches[$0] }
                group.addTask {
                    var recorded = 0
                    for batch in mine {
                        recorded += try await pool.withTransaction {
                            try await FeeEventIngestion().ingest(batch, in: $0)
                        }
                        .recorded
                    }
                    return recorded
                }
            }
            return try await group.reduce(0, +)
        }
        let ingestSeconds = (clock.now - started).secondsValue
        precondition(recorded == eventCount, "recorded \(recorded) of \(eventCount)")

        // Replaying the first 100,000 events changes nothing.
        let replayBatches = Array(batches.prefix(max(1, 100_000 / batchSize)))
        let replayStarted = clock.now
        var duplicates = 0
        for batch in replayBatches {
            duplicates += try await pool.withTransaction { try await FeeEventIngestion().ingest(batch, in: $0) }
                .duplicates
        }
        let replaySeconds = (clock.now - replayStarted).secondsValue

        let closeStarted = clock.now
        let results = try await PeriodClose().closeAll(month: "2026-10", concurrency: 4, on: pool)
        let closeSeconds = (clock.now - closeStarted).secondsValue
        let failures = results.filter { $0.outcome != "closed" }
        precondition(failures.isEmpty, "close failed: \(failures.first!)")

        let reconcileStarted = clock.now
        let report = try await pool.withTransaction { try await Reconciliation().report(in: $0) }
        let reconcileSeconds = (clock.now - reconcileStarted).secondsValue
        // The platform admins' view of every partner, grouped, against one full report per
        // partner (how it was built before), in the same run.
        let platformStarted = clock.now
        let platform = try await pool.withTransaction { try await RevenueReporting().platform(in: $0) }
        let platformSeconds = (clock.now - platformStarted).secondsValue
        let perPartnerStarted = clock.now
        for entry in platform.partners {
            let report = try await pool.withTransaction { try await RevenueReporting().partner(entry.partner, in: $0) }
            precondition(report.partnerShare == entry.partnerShare, "the platform view differs for \(entry.slug)")
        }
        let perPartnerSeconds = (clock.now - perPartnerStarted).secondsValue
        let ledger = try await pool.query(
            """
            SELECT (SELECT sum(amount)::text FROM platform.ledger_entries WHERE account = 'fees_receivable') AS fees,
                   (SELECT count(*) FROM platform.ledger_entries) AS lines
            """
        ).firstRow
        let fees = try ExactDecimal(parsing: try ledger.decode("fees", as: String.self))
        precondition(fees == expected, "the ledger holds \(fees) of fees, the events \(expected)")
        let lines = try ledger.decode("lines", as: Int.self)
        await pool.close()
        await admin.close()
        try await cluster.stop()

        print("| measure | result | goal |")
        print("|---|---|---|")
        print(
            String(
                format:
                    "| ingest %d fee events for %d partners, %@ (batches of %d, %d connections) | %.1f s = **%.0f events/s** | ≥ 50,000 events/s |",
                eventCount, partnerCount,
                grouped ? "each partner's events together" : "every batch mixing all partners", batchSize, lanes,
                ingestSeconds, Double(eventCount) / ingestSeconds))
        print(
            String(
                format: "| replay %d events (all duplicates, nothing posted) | %.1f s = %.0f events/s | no-op |",
                duplicates, replaySeconds, Double(duplicates) / replaySeconds))
        print(
            String(
                format: "| close 2026-10 for all %d partners (4 at a time) | **%.1f s** | ≤ 10 s |", results.count,
                closeSeconds))
        print(
            String(
                format:
                    "| reconciliation over the whole ledger (%d ledger lines) | %.1f s, %d checks, %d differences | 0 differences |",
                lines, reconcileSeconds, report.checks, report.differences.count))
        print(
            String(
                format:
                    "| every partner's revenue for platform admins (%d partners) | %.2f s (one full report per partner: %.2f s) | — |",
                platform.partners.count, platformSeconds, perPartnerSeconds))
        print("| fees on the ledger = sum of the events | \(fees) USD | exact |")
    }
}
