import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
import ScryptexTestSupport
import Testing

/// Two partners with plans, on a fresh database.
struct LedgerFixture {
    let pool: PostgresConnectionPool
    let acme: UUID
    let zenith: UUID
    let usd: Currency

    static func with(
        acmePlan: RevenuePlan? = nil, _ body: (LedgerFixture) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresConnectionPool(
                configuration: configuration, options: .init(maximumConnections: 4), logger: TestDatabase.logger)
            do {
                try await pool.withConnection { connection in
                    try await Migrator(
                        plan: MigrationPlan([TenancyMigrations.platform, RevenueMigrations.platform]),
                        logger: TestDatabase.logger
                    ).migrate(
                        schema: PlatformSchema.name, on: connection)
                }
                let provisioner = TenantProvisioner(
                    platformDomain: "localhost", tenantSchema: TenantSchemaPlan(MigrationPlan([])),
                    logger: TestDatabase.logger)
                let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool).id
                let zenith = try await provisioner.create(.init(slug: "zenith", displayName: "Zenith"), on: pool).id
                let usd = try Currency("USD")
                try await pool.withTransaction { transaction in
                    try await RevenuePlanStore().add(
                        acmePlan ?? RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(20)),
                        effectiveMonth: "2026-01", partner: acme, createdBy: "test", in: transaction)
                    try await RevenuePlanStore().add(
                        RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(10)), effectiveMonth: "2026-01",
                        partner: zenith, createdBy: "test", in: transaction)
                }
                try await body(LedgerFixture(pool: pool, acme: acme, zenith: zenith, usd: usd))
                await pool.close()
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    /// A UTC time in a month of 2026.
    static func day(_ month: Int, _ day: Int = 15) -> Date {
        Date(
            timeIntervalSince1970: TimeInterval(
                CivilCalendar.daysSinceEpoch(year: 2026, month: month, day: day) * 86_400 + 3_600))
    }

    static func event(
        _ key: String, _ amount: String, month: Int, product: String = "trading_fees", volume: String? = nil
    ) -> FeeEvent {
        FeeEvent(
            idempotencyKey: key, product: product, amount: ExactDecimal(amount)!, currency: "USD",
            volume: volume.flatMap { ExactDecimal($0) }, occurredAt: day(month))
    }

    func ingest(_ events: [PartnerFeeEvent]) async throws -> FeeEventIngestion.Summary {
        try await pool.withTransaction { try await FeeEventIngestion().ingest(events, in: $0) }
    }

    func close(_ partner: UUID, _ month: String) async throws -> RevenueStatement {
        try await pool.withTransaction { try await PeriodClose().close(partner: partner, month: month, in: $0) }
    }

    func owed(_ partner: UUID) async throws -> ExactDecimal {
        try await pool.withTransaction {
            -(try await LedgerStore.balance(of: .partnerPayable, currency: usd, partner: partner, in: $0))
        }
    }

    func reconcile(period: String? = nil) async throws -> ReconciliationReport {
        try await pool.withTransaction { try await Reconciliation().report(period: period, in: $0) }
    }

    /// Checks that the platform view (grouped queries) says what each partner's own report says.
    func expectPlatformViewMatchesPartnerReports() async throws {
        let platform = try await pool.withTransaction { try await RevenueReporting().platform(in: $0) }
        #expect(platform.partners.map(\.slug) == ["acme", "zenith"])
        for entry in platform.partners {
            let report = try await pool.withTransaction { try await RevenueReporting().partner(entry.partner, in: $0) }
            #expect(entry.currency == report.currency)
            #expect(entry.revenue == report.closedRevenue)
            #expect(entry.partnerShare == report.partnerShare && entry.platformShare == report.platformShare)
            #expect(entry.pending == report.pending && entry.paid == report.paid)
        }
    }
}

@Suite("Revenue ledger: batches, late events, payouts, reconciliation")
struct RevenueLedgerTests {
    @Test func aBatchIsAllOrNothingAndReplaysChangeNothing() async throws {
        try await LedgerFixture.with { fixture in
            let batch = [
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("a1", "100.00", month: 5)),
                PartnerFeeEvent(
                    partner: fixture.acme, event: LedgerFixture.event("a2", "0.05", month: 5, product: "data")),
                PartnerFeeEvent(partner: fixture.zenith, event: LedgerFixture.event("a1", "40", month: 5)),
            ]
            let first = try await fixture.ingest(batch)
            #expect(first.recorded == 3 && first.duplicates == 0)
            let replay = try await fixture.ingest(batch)
            #expect(replay.recorded == 0 && replay.duplicates == 3)

            // One bad event refuses the whole batch, naming it; nothing is posted.
            let before = try await fixture.pool.query("SELECT count(*) AS n FROM platform.ledger_entries")
                .first!.decode("n", as: Int.self)
            for (events, message) in [
                (
                    [
                        PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("b1", "1", month: 6)),
                        PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("b2", "-1", month: 6)),
                    ], "field 'events[1].amount'"
                ),
                (
                    [PartnerFeeEvent(partner: UUID(), event: LedgerFixture.event("b3", "1", month: 6))],
                    "field 'events[0].partner': unknown or deleted partner"
                ),
                (
                    [
                        PartnerFeeEvent(
                            partner: fixture.acme,
                            event: FeeEvent(
                                idempotencyKey: "b4", product: "data", amount: ExactDecimal(1), currency: "EUR",
                                occurredAt: LedgerFixture.day(6)))
                    ], "field 'events[0].currency': EUR is not the currency of the partner's plan"
                ),
            ] {
                do {
                    _ = try await fixture.ingest(events)
                    Issue.record("accepted: \(message)")
                } catch let error as ServiceError {
                    #expect(error.code == .invalidInput && error.message.contains(message), "\(error.message)")
                }
            }
            // A reused key with a different payload: 409, and the new events in that batch are
            // not kept either.
            do {
                _ = try await fixture.ingest([
                    PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("c1", "7", month: 6)),
                    PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("a1", "100.01", month: 5)),
                ])
                Issue.record("a changed payload was accepted")
            } catch let error as ServiceError {
                #expect(error.code == .conflict && error.message.contains("'a1'"))
            }
            // The same key twice in one batch with different payloads is a conflict too.
            await #expect(throws: ServiceError.self) {
                _ = try await fixture.ingest([
                    PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("d1", "1", month: 6)),
                    PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("d1", "2", month: 6)),
                ])
            }
            let after = try await fixture.pool.query("SELECT count(*) AS n FROM platform.ledger_entries")
                .first!.decode("n", as: Int.self)
            #expect(after == before)
            let balances = try await fixture.pool.withTransaction {
                try await LedgerStore.balances(of: fixture.acme, in: $0)
            }
            #expect(balances["fees_receivable:USD"] == ExactDecimal("100.05"))
            #expect(try await fixture.reconcile().differences.isEmpty)
        }
    }

    @Test func lateEventsPostToTheNextOpenMonthAsAdjustments() async throws {
        // Marginal tiers over revenue: 10 % up to 1,000, 20 % above.
        let tiered = RevenuePlan(
            model: .tiered, currency: try Currency("USD"),
            tiers: [
                RevenueTier(from: .zero, upTo: ExactDecimal(1_000), percent: ExactDecimal(10)),
                RevenueTier(from: ExactDecimal(1_000), upTo: nil, percent: ExactDecimal(20)),
            ], tierBasis: .revenue)
        try await LedgerFixture.with(acmePlan: tiered) { fixture in
            _ = try await fixture.ingest([
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("m1", "800", month: 5))
            ])
            let may = try await fixture.close(fixture.acme, "2026-05")
            #expect(may.share == "80.00" && may.closingPayable == "80.00")
            #expect(may.tiers.map(\.base) == ["800"])

            // 500 more for May arrives after May closed: booked in June. Together May earns
            // 10 % of 1,000 + 20 % of 300 = 160, so the true-up is 80.
            let late = try await fixture.ingest([
                PartnerFeeEvent(
                    partner: fixture.acme,
                    event: LedgerFixture.event("m2", "500", month: 5, product: "data", volume: "12500")),
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("j1", "100.01", month: 6)),
            ])
            #expect(late.recorded == 2 && late.late == 1)
            let booked = try await fixture.pool.query(
                "SELECT booked_period FROM platform.fee_events WHERE idempotency_key = 'm2'"
            ).first!.decode("booked_period", as: String.self)
            #expect(booked == "2026-06")
            // May's statement is untouched.
            let stored = try await fixture.pool.query(
                "SELECT statement ->> 'share' AS share FROM platform.revenue_periods WHERE period = '2026-05'"
            ).first!.decode("share", as: String.self)
            #expect(stored == "80.00")

            let june = try await fixture.close(fixture.acme, "2026-06")
            #expect(june.revenueTotal == "100.01" && june.eventCount == 1)
            #expect(june.share == "10.00")  // 10.001 → 10.00 (half-even), remainder booked
            #expect(june.roundingRemainder == "0.001")
            let adjustment = try #require(june.adjustments.first)
            #expect(june.adjustments.count == 1 && adjustment.period == "2026-05" && adjustment.events == 1)
            #expect(adjustment.revenue == "500.00" && adjustment.exactShare == "80" && adjustment.share == "80.00")
            #expect(june.openingPayable == "80.00" && june.closingPayable == "170.00")
            #expect(try await fixture.owed(fixture.acme) == ExactDecimal(170))
            #expect(try await fixture.reconcile().differences.isEmpty)
            // Issue 18: the partner's analytics count the late events where their revenue is
            // counted — June — by product and in volume, not only in revenue.
            let report = try await fixture.pool.withTransaction {
                try await RevenueReporting().partner(fixture.acme, in: $0)
            }
            let juneView = try #require(report.periods.first { $0.period == "2026-06" })
            #expect(juneView.revenue == "600.01" && juneView.events == 2)
            #expect(juneView.revenueByProduct["data"] == "500.00" && juneView.volume == "12500", "\(juneView)")
            #expect(report.analytics.tradingVolume == "12500")
            #expect(report.analytics.topProducts.first?.product == "trading_fees")
            #expect(report.analytics.topProducts.map(\.revenue) == ["900.01", "500.00"], "\(report.analytics)")

            // Months close in order, and only once they are over.
            _ = try await fixture.ingest([
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("a1", "1", month: 8))
            ])
            do {
                _ = try await fixture.close(fixture.acme, "2026-09")
                Issue.record("closed September before August")
            } catch let error as ServiceError {
                #expect(error.message.contains("close 2026-08 first"), "\(error.message)")
            }
            await #expect(throws: ServiceError.self) { _ = try await fixture.close(fixture.acme, "2026-06") }
            await #expect(throws: ServiceError.self) { _ = try await fixture.close(fixture.acme, "2026-04") }
            do {
                _ = try await fixture.close(fixture.acme, RevenueMonth.of(Date()))
                Issue.record("closed the current month")
            } catch let error as ServiceError {
                #expect(error.message.contains("is not over yet"))
            }
        }
    }

    @Test func payoutsMoveThroughTheirStatesPostingEachMove() async throws {
        try await LedgerFixture.with { fixture in
            _ = try await fixture.ingest([
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("e1", "1000", month: 5))
            ])
            _ = try await fixture.close(fixture.acme, "2026-05")  // 200 owed
            let payouts = PayoutService()
            func create(_ amount: String) async throws -> Payout {
                try await fixture.pool.withTransaction {
                    try await payouts.create(
                        partner: fixture.acme, amount: ExactDecimal(amount)!, currency: fixture.usd, reference: "wire",
                        createdBy: "test", in: $0)
                }
            }
            func move(_ payout: Payout, _ status: Payout.Status, reason: String? = nil) async throws -> Payout {
                try await fixture.pool.withTransaction {
                    try await payouts.move(payout.id, to: status, reason: reason, in: $0)
                }
            }
            let first = try await create("150")
            // Only 50 is left to reserve.
            do {
                _ = try await create("60")
                Issue.record("over-reserved")
            } catch let error as ServiceError {
                #expect(error.code == .conflict && error.message.contains("exceeds what can be paid out (50 USD)"))
            }
            await #expect(throws: ServiceError.self) { _ = try await create("0") }
            await #expect(throws: ServiceError.self) { _ = try await create("1.001") }
            #expect(try await fixture.owed(fixture.acme) == ExactDecimal(200))  // pending posts nothing
            _ = try await move(first, .sent)
            #expect(try await fixture.owed(fixture.acme) == ExactDecimal(50))
            _ = try await move(first, .settled)
            do {
                _ = try await move(first, .failed, reason: "bounced")
                Issue.record("a settled payout failed")
            } catch let error as ServiceError {
                #expect(error.code == .conflict)
            }
            let second = try await create("50")
            _ = try await move(second, .sent)
            await #expect(throws: ServiceError.self) { _ = try await move(second, .failed) }  // needs a reason
            let failed = try await move(second, .failed, reason: "account closed")
            #expect(failed.status == .failed && failed.failureReason == "account closed")
            #expect(try await fixture.owed(fixture.acme) == ExactDecimal(50))

            let balances = try await fixture.pool.withTransaction {
                try await LedgerStore.balances(of: fixture.acme, in: $0)
            }
            #expect(balances["partner_paid:USD"] == ExactDecimal(-150))
            #expect(balances["payouts_in_transit:USD"] == .zero)

            // June's statement shows the payout moves since May's.
            _ = try await fixture.ingest([
                PartnerFeeEvent(partner: fixture.acme, event: LedgerFixture.event("e2", "10", month: 6))
            ])
            let june = try await fixture.close(fixture.acme, "2026-06")
            #expect(june.openingPayable == "200.00")
            #expect(june.payouts.map(\.amount) == ["-150.00", "-50.00", "50.00"])
            // Issue 18: each move as it happened — the second payout was sent, then failed (it
            // read "failed" twice, its status now).
            #expect(june.payouts.map(\.status) == ["sent", "sent", "failed"], "\(june.payouts)")
            #expect(june.payoutTotal == "-150.00" && june.share == "2.00" && june.closingPayable == "52.00")
            #expect(try await fixture.reconcile().differences.isEmpty)
            let platform = try await fixture.pool.withTransaction { try await RevenueReporting().platform(in: $0) }
            let acme = platform.partners.first { $0.slug == "acme" }
            #expect(acme?.paid == "150.00" && acme?.pending == "52.00" && acme?.revenue == "1010.00")
            #expect(platform.summary.first?.paid == "150.00")
            try await fixture.expectPlatformViewMatchesPartnerReports()
        }
    }

    @Test func reconciliationListsWhatDoesNotTie() async throws {
        try await LedgerFixture.with { fixture in
            _ = try await fixture.ingest([
                PartnerFeeEvent(partner: fixture.zenith, event: LedgerFixture.event("z1", "10", month: 5))
            ])
            _ = try await fixture.close(fixture.zenith, "2026-05")
            #expect(try await fixture.reconcile(period: "2026-05").differences.isEmpty)
            // A fee event written around the ingestion service, with no posting.
            try await fixture.pool.execute(
                """
                INSERT INTO platform.fee_events (tenant_id, idempotency_key, product, amount, currency, occurred_at,
                    payload_hash, booked_period)
                VALUES (\(fixture.zenith), 'rogue', 'data', 3, 'USD', '2026-05-20', 'x', '2026-05')
                """)
            let report = try await fixture.reconcile(period: "2026-05")
            // (The share recomputed from the events, the rogue one among them, differs as well.)
            #expect(
                report.differences.map(\.check).sorted() == [
                    "fee events vs fees receivable", "statement revenue vs fee events",
                    "statement share vs share recomputed from its events",
                ])
            #expect(report.differences.allSatisfy { $0.slug == "zenith" })

            // Issue 18: a statement whose share is a cent off what its events and plan give — the
            // tables agree with each other, so only recomputing the share finds it.
            try await fixture.pool.execute(
                "DELETE FROM platform.fee_events WHERE idempotency_key = 'rogue'")
            let statement = try await fixture.pool.query(
                "SELECT statement ->> 'share' AS share FROM platform.revenue_periods WHERE tenant_id = \(fixture.zenith)"
            ).firstRow.decode("share", as: String.self)
            let offByACent = (ExactDecimal(statement)! + ExactDecimal(significand: 1, scale: 2)).description
            try await fixture.pool.execute(
                """
                UPDATE platform.revenue_periods SET statement = jsonb_set(statement, '{share}', to_jsonb(\(offByACent)::text))
                WHERE tenant_id = \(fixture.zenith)
                """)
            let recomputed = try await fixture.reconcile(period: "2026-05")
            #expect(
                recomputed.differences.map(\.check).contains("statement share vs share recomputed from its events"),
                "\(recomputed.differences)")
        }
    }

    /// Random streams of events (seeded, so a failure can be replayed): every posting balances,
    /// replay is a no-op, statements sum to the ledger, reconciliation finds nothing.
    @Test(arguments: [1, 2, 3]) func randomStreamsKeepTheLedgerWhole(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let tiered = RevenuePlan(
            model: .tiered, currency: try Currency("USD"),
            tiers: [
                RevenueTier(from: .zero, upTo: ExactDecimal(500), percent: ExactDecimal("7.5")!),
                RevenueTier(from: ExactDecimal(500), upTo: ExactDecimal(5_000), percent: ExactDecimal("12.25")!),
                RevenueTier(from: ExactDecimal(5_000), upTo: nil, percent: ExactDecimal(30)),
            ], tierBasis: .revenue, minimumGuarantee: ExactDecimal(25), cap: ExactDecimal(2_000))
        try await LedgerFixture.with(acmePlan: tiered) { fixture in
            let products = ["trading_fees", "subscriptions", "market_making", "data"]
            var all: [PartnerFeeEvent] = []
            var statements: [RevenueStatement] = []
            for month in 3...8 {
                var batch: [PartnerFeeEvent] = []
                for index in 0..<Int.random(in: 5...40, using: &random) {
                    let partner = Bool.random(using: &random) ? fixture.acme : fixture.zenith
                    // Mostly this month, sometimes an earlier (possibly closed) one.
                    let occurred =
                        Int.random(in: 0..<5, using: &random) == 0 ? Int.random(in: 3...month, using: &random) : month
                    let cents = Int.random(in: 1...250_000, using: &random)
                    batch.append(
                        PartnerFeeEvent(
                            partner: partner,
                            event: LedgerFixture.event(
                                "s\(seed)-\(month)-\(index)", "\(cents / 100).\(String(format: "%02d", cents % 100))",
                                month: occurred, product: products.randomElement(using: &random)!)))
                }
                _ = try await fixture.ingest(batch)
                all += batch
                let label = "2026-" + String(format: "%02d", month)
                statements.append(try await fixture.close(fixture.acme, label))
                statements.append(try await fixture.close(fixture.zenith, label))
            }
            let replay = try await fixture.ingest(all.shuffled(using: &random))
            #expect(replay.recorded == 0 && replay.duplicates == all.count)

            let unbalanced = try await fixture.pool.query(
                """
                SELECT count(*) AS n FROM (SELECT posting_id FROM platform.ledger_entries
                GROUP BY posting_id, currency HAVING sum(amount) <> 0) u
                """
            ).first!.decode("n", as: Int.self)
            #expect(unbalanced == 0)
            for partner in [fixture.acme, fixture.zenith] {
                let mine = statements.filter { $0.partner == partner }
                let shared = try mine.reduce(ExactDecimal.zero) {
                    $0 + (try ExactDecimal(parsing: $1.share)) + (try ExactDecimal(parsing: $1.adjustmentTotal))
                }
                #expect(try await fixture.owed(partner) == shared)
                #expect(mine.last.map { ExactDecimal($0.closingPayable) } == shared)
                let revenue = try mine.reduce(ExactDecimal.zero) { total, statement in
                    try statement.adjustments.reduce(total + (try ExactDecimal(parsing: statement.revenueTotal))) {
                        $0 + (try ExactDecimal(parsing: $1.revenue))
                    }
                }
                let events = all.filter { $0.partner == partner }.reduce(ExactDecimal.zero) { $0 + $1.event.amount }
                #expect(revenue == events)
            }
            #expect(try await fixture.reconcile().differences.isEmpty)
            try await fixture.expectPlatformViewMatchesPartnerReports()
        }
    }
}
