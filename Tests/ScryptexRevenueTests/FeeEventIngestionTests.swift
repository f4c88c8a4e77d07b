import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Fee events into the ledger on PostgreSQL")
struct FeeEventIngestionTests {
    static func withPartner(_ body: (PostgresConnectionPool, UUID) async throws -> Void) async throws {
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
                let tenant = try await TenantProvisioner(
                    platformDomain: "localhost", tenantSchema: TenantSchemaPlan(MigrationPlan([])),
                    logger: TestDatabase.logger
                ).create(.init(slug: "acme", displayName: "Acme"), on: pool)
                try await body(pool, tenant.id)
                await pool.close()
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    static let when = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func replayingChangesNothingAndAReusedKeyWithOtherDataIsAConflict() async throws {
        try await Self.withPartner { pool, partner in
            let ingestion = FeeEventIngestion()
            let event = FeeEvent(
                idempotencyKey: "evt-1", product: "trading_fees", amount: ExactDecimal(significand: 12_345, scale: 2),
                currency: "USD", volume: ExactDecimal(1_000_000), occurredAt: Self.when)
            #expect(
                try await pool.withTransaction { try await ingestion.ingest(event, partner: partner, in: $0) }
                    == .recorded)
            #expect(
                try await pool.withTransaction { try await ingestion.ingest(event, partner: partner, in: $0) }
                    == .duplicate)
            var changed = event
            changed.amount = ExactDecimal(1)
            await #expect(throws: ServiceError.self) {
                try await pool.withTransaction { try await ingestion.ingest(changed, partner: partner, in: $0) }
            }
            let balances = try await pool.withTransaction { try await LedgerStore.balances(of: partner, in: $0) }
            #expect(balances["fees_receivable:USD"] == ExactDecimal(significand: 12_345, scale: 2))
            #expect(balances["platform_revenue:USD"] == -ExactDecimal(significand: 12_345, scale: 2))
        }
    }

    @Test func badEventsAreRefusedNamingTheFieldAndPostNothing() async throws {
        try await Self.withPartner { pool, partner in
            let ingestion = FeeEventIngestion()
            for (event, field) in [
                (
                    FeeEvent(
                        idempotencyKey: "a", product: "lottery", amount: ExactDecimal(1), currency: "USD",
                        occurredAt: Self.when), "product"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "b", product: "data", amount: ExactDecimal(-1), currency: "USD",
                        occurredAt: Self.when), "amount"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "c", product: "data", amount: ExactDecimal(1), currency: "XYZ",
                        occurredAt: Self.when), "currency"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "d", product: "data", amount: ExactDecimal(significand: 1, scale: 3),
                        currency: "USD",
                        occurredAt: Self.when), "amount"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "", product: "data", amount: ExactDecimal(1), currency: "USD",
                        occurredAt: Self.when), "idempotencyKey"
                ),
                // Issue 18: a 21-digit amount hit numeric(38, 18) and answered 500.
                (
                    FeeEvent(
                        idempotencyKey: "e", product: "data", amount: ExactDecimal("123456789012345678901")!,
                        currency: "USD", occurredAt: Self.when), "amount"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "f", product: "data", amount: ExactDecimal("1000000000000000")!,
                        currency: "USD", occurredAt: Self.when), "amount"
                ),
                (
                    FeeEvent(
                        idempotencyKey: "g", product: "data", amount: ExactDecimal(1), currency: "USD",
                        volume: ExactDecimal("123456789012345678901")!, occurredAt: Self.when), "volume"
                ),
            ] {
                do {
                    _ = try await pool.withTransaction { try await ingestion.ingest(event, partner: partner, in: $0) }
                    Issue.record("\(field) was accepted")
                } catch let error as ServiceError {
                    #expect(error.message.contains("field '\(field)'"), "\(error.message)")
                }
            }
            let count = try await pool.query("SELECT count(*) AS n FROM platform.ledger_entries")
            #expect(try count.first!.decode("n", as: Int.self) == 0)
        }
    }

    /// Issue 18: with no plan for a month, a EUR event was accepted beside USD ones, and a USD
    /// plan added later closed the month with the EUR summed in as dollars.
    @Test func aMonthsFeesShareOneCurrencyWithOrWithoutAPlan() async throws {
        try await Self.withPartner { pool, partner in
            let ingestion = FeeEventIngestion()
            func event(_ key: String, _ amount: Int, _ currency: String) -> FeeEvent {
                FeeEvent(
                    idempotencyKey: key, product: "trading_fees", amount: ExactDecimal(amount), currency: currency,
                    occurredAt: Self.when)
            }
            let month = RevenueMonth.of(Self.when)
            _ = try await pool.withTransaction {
                try await ingestion.ingest(event("u-1", 500, "USD"), partner: partner, in: $0)
            }
            // No plan yet: the month's first currency is its currency.
            do {
                _ = try await pool.withTransaction {
                    try await ingestion.ingest(event("e-1", 100, "EUR"), partner: partner, in: $0)
                }
                Issue.record("a EUR fee was booked beside USD ones")
            } catch let error as ServiceError {
                #expect(error.message.contains("field 'currency'") && error.message.contains("share one currency"))
            }
            // Within one batch too.
            do {
                _ = try await pool.withTransaction {
                    try await ingestion.ingest(
                        [
                            PartnerFeeEvent(partner: partner, event: event("u-2", 1, "USD")),
                            PartnerFeeEvent(partner: partner, event: event("e-2", 1, "EUR")),
                        ], in: $0)
                }
                Issue.record("a mixed batch was booked")
            } catch let error as ServiceError {
                #expect(error.message.contains("field 'events[1].currency'"), "\(error.message)")
            }
            // A plan whose currency contradicts what is booked is refused; the right one is taken.
            let plans = RevenuePlanStore()
            do {
                try await pool.withTransaction {
                    try await plans.add(
                        RevenuePlan(model: .flat, currency: try Currency("EUR"), percent: ExactDecimal(20)),
                        effectiveMonth: month, partner: partner, createdBy: "test", in: $0)
                }
                Issue.record("a EUR plan was added over USD fees")
            } catch let error as ServiceError {
                #expect(error.code == .conflict && error.message.contains("field 'plan.currency'"), "\(error.message)")
            }
            try await pool.withTransaction {
                try await plans.add(
                    RevenuePlan(model: .flat, currency: try Currency("USD"), percent: ExactDecimal(20)),
                    effectiveMonth: month, partner: partner, createdBy: "test", in: $0)
            }
        }
    }

    @Test func theDatabaseRefusesUnbalancedPostingsAndEdits() async throws {
        try await Self.withPartner { pool, partner in
            await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { transaction in
                    try await transaction.execute(
                        """
                        INSERT INTO platform.ledger_entries (posting_id, tenant_id, account, currency, amount, memo)
                        VALUES (gen_random_uuid(), \(partner), 'fees_receivable', 'USD', 10, 'half a posting')
                        """
                    )
                }
            }
            let event = FeeEvent(
                idempotencyKey: "evt", product: "data", amount: ExactDecimal(5), currency: "USD", occurredAt: Self.when)
            _ = try await pool.withTransaction { try await FeeEventIngestion().ingest(event, partner: partner, in: $0) }
            await #expect(throws: PostgresError.self) {
                try await pool.execute("UPDATE platform.ledger_entries SET amount = amount * 2")
            }
            await #expect(throws: PostgresError.self) { try await pool.execute("DELETE FROM platform.ledger_entries") }
        }
    }
}

@Suite("Revenue plan versions")
struct RevenuePlanStoreTests {
    @Test func versionsApplyFromTheirMonthAndNeverIntoAClosedOne() async throws {
        try await FeeEventIngestionTests.withPartner { pool, partner in
            let usd = try Currency("USD")
            let store = RevenuePlanStore()
            let twenty = RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(20))
            let thirty = RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(30))
            try await pool.withTransaction { transaction in
                try await store.add(
                    twenty, effectiveMonth: "2026-01", partner: partner, createdBy: "admin", in: transaction)
                try await store.add(
                    thirty, effectiveMonth: "2026-07", partner: partner, createdBy: "admin", in: transaction)
            }
            let inForce = try await pool.withTransaction { transaction in
                (
                    try await store.plan(for: partner, in: "2025-12", transaction: transaction),
                    try await store.plan(for: partner, in: "2026-03", transaction: transaction),
                    try await store.plan(for: partner, in: "2026-07", transaction: transaction),
                    try await store.plan(for: partner, in: "2027-01", transaction: transaction)
                )
            }
            #expect(inForce.0 == nil)
            #expect(inForce.1 == twenty && inForce.2 == thirty && inForce.3 == thirty)

            try await pool.execute(
                "INSERT INTO platform.revenue_periods (tenant_id, period, status, closed_at) VALUES (\(partner), '2026-08', 'closed', now())"
            )
            for (month, message) in [
                ("2026-08", "is closed"), ("2026-05", "is closed"), ("2026-13", "a month such as"),
            ] {
                do {
                    try await pool.withTransaction { transaction in
                        try await store.add(
                            twenty, effectiveMonth: month, partner: partner, createdBy: "admin", in: transaction)
                    }
                    Issue.record("\(month) was accepted")
                } catch let error as ServiceError {
                    #expect(error.message.contains(message), "\(error.message)")
                }
            }
            await #expect(throws: ServiceError.self) {
                try await pool.withTransaction { transaction in
                    try await store.add(
                        RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(120)), effectiveMonth: "2026-09",
                        partner: partner, createdBy: "admin", in: transaction)
                }
            }
            try await pool.withTransaction { transaction in
                try await store.add(
                    twenty, effectiveMonth: "2026-09", partner: partner, createdBy: "admin", in: transaction)
            }
            #expect(RevenueMonth.of(Date(timeIntervalSince1970: 1_780_000_000)) == "2026-05")
        }
    }
}

@Suite("Closing a partner's month")
struct PeriodCloseTests {
    @Test func aMonthClosesOnceAndTiesToTheLedger() async throws {
        try await FeeEventIngestionTests.withPartner { pool, partner in
            let usd = try Currency("USD")
            // 12.5 % of 1,000.05 = 125.00625 → 125.01 payable, 0.00375 short (rounding account).
            try await pool.withTransaction { transaction in
                try await RevenuePlanStore().add(
                    RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(significand: 125, scale: 1)),
                    effectiveMonth: "2026-01", partner: partner, createdBy: "admin", in: transaction)
            }
            let may = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28
            for (key, cents, product) in [("a", 60_000, "trading_fees"), ("b", 40_005, "data")] {
                _ = try await pool.withTransaction { transaction in
                    try await FeeEventIngestion().ingest(
                        FeeEvent(
                            idempotencyKey: key, product: product,
                            amount: ExactDecimal(significand: Int128(cents), scale: 2),
                            currency: "USD", occurredAt: may), partner: partner, in: transaction)
                }
            }
            let statement = try await pool.withTransaction { transaction in
                try await PeriodClose().close(partner: partner, month: "2026-05", in: transaction)
            }
            #expect(statement.share == "125.01")
            #expect(statement.roundingRemainder == "-0.00375")
            #expect(statement.revenueByProduct == ["trading_fees": "600.00", "data": "400.05"])
            #expect(statement.closingPayable == "125.01")
            let balances = try await pool.withTransaction { try await LedgerStore.balances(of: partner, in: $0) }
            #expect(balances["partner_payable:USD"] == -ExactDecimal(significand: 12_501, scale: 2))
            #expect(balances.values.reduce(ExactDecimal.zero, +).isZero)
            await #expect(throws: ServiceError.self) {
                try await pool.withTransaction {
                    try await PeriodClose().close(partner: partner, month: "2026-05", in: $0)
                }
            }
            // The closed month now refuses a plan change.
            await #expect(throws: ServiceError.self) {
                try await pool.withTransaction { transaction in
                    try await RevenuePlanStore().add(
                        RevenuePlan(model: .flat, currency: usd, percent: ExactDecimal(1)), effectiveMonth: "2026-05",
                        partner: partner, createdBy: "admin", in: transaction)
                }
            }
        }
    }
}
