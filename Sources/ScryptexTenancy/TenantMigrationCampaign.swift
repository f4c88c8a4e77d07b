public import ScryptexPostgres

/// Migrates many tenants: canaries first, one at a time (if one fails, the rest are not touched),
/// then everyone else with bounded concurrency. One failing tenant is reported without stopping
/// the others. Each tenant's version is committed with its migration, so a crashed or stopped
/// run resumes where it was on the next run.
public struct TenantMigrationCampaign: Sendable {
    public struct Progress: Sendable {
        public var tenant: String
        public var succeeded: Bool
        public var error: String?
        public var done: Int
        public var total: Int
    }

    public struct Outcome: Sendable {
        public var migrated: [String] = []
        public var failed: [(tenant: String, error: String)] = []
        /// True when a canary failed and the other tenants were left alone.
        public var stoppedAfterCanary = false
    }

    public let runner: TenantMigrationRunner
    public let concurrency: Int
    public let canaryCount: Int

    public init(runner: TenantMigrationRunner, concurrency: Int = 4, canaryCount: Int = 1) {
        self.runner = runner
        self.concurrency = max(1, concurrency)
        self.canaryCount = max(0, canaryCount)
    }

    public func run(
        _ tenants: [TenantSlug],
        on pool: PostgresConnectionPool,
        progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async -> Outcome {
        var outcome = Outcome()
        let total = tenants.count
        var done = 0
        let canaries = tenants.prefix(canaryCount)
        for slug in canaries {
            let error = await migrate(slug, on: pool)
            done += 1
            record(slug, error: error, in: &outcome)
            progress(Progress(tenant: slug.value, succeeded: error == nil, error: error, done: done, total: total))
            if error != nil {
                outcome.stoppedAfterCanary = true
                return outcome
            }
        }
        let rest = Array(tenants.dropFirst(canaries.count))
        await withTaskGroup(of: (TenantSlug, String?).self) { group in
            var next = 0
            func startNext() {
                guard next < rest.count else { return }
                let slug = rest[next]
                next += 1
                group.addTask { (slug, await migrate(slug, on: pool)) }
            }
            for _ in 0..<min(concurrency, rest.count) { startNext() }
            while let (slug, error) = await group.next() {
                done += 1
                record(slug, error: error, in: &outcome)
                progress(Progress(tenant: slug.value, succeeded: error == nil, error: error, done: done, total: total))
                startNext()
            }
        }
        return outcome
    }

    private func migrate(_ slug: TenantSlug, on pool: PostgresConnectionPool) async -> String? {
        do {
            // On the tenant's cluster; its version is recorded in the control plane (`pool`).
            let cluster = try pool.pool(for: slug.value)
            try await cluster.withConnection {
                try await runner.migrate(slug, on: $0, recordingIn: cluster === pool ? nil : pool)
            }
            return nil
        } catch {
            return String(describing: error)
        }
    }

    private func record(_ slug: TenantSlug, error: String?, in outcome: inout Outcome) {
        if let error {
            outcome.failed.append((slug.value, error))
        } else {
            outcome.migrated.append(slug.value)
        }
    }
}
