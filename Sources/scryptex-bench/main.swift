import Foundation
import ScryptexApp
import ScryptexCommandLine
import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexMarketData
import ScryptexPostgres
import ScryptexTenancy

// Tenancy benchmark: provisioning latency as tenants accumulate, a no-op `scryptex migrate` over
// all of them, the directory's reload time, and the catalog's size. Run by bench/tenancy.sh.

let arguments = CommandLine.arguments
if arguments.dropFirst().first == "check-trade" {
    let shared = arguments.firstIndex(of: "--shared").map { arguments[$0 + 1] } ?? "../shared/data/aml"
    let iterations = arguments.firstIndex(of: "--iterations").flatMap { Int(arguments[$0 + 1]) } ?? 20_000
    try ComplianceBench.run(sharedFolder: shared, iterations: iterations)
    exit(0)
}
if arguments.dropFirst().first == "json" {
    let iterations = arguments.firstIndex(of: "--iterations").flatMap { Int(arguments[$0 + 1]) } ?? 20_000
    try JSONBench.run(iterations: iterations, rounds: 7)
    exit(0)
}
if arguments.dropFirst().first == "backtest" {
    let bars = arguments.firstIndex(of: "--bars").flatMap { Int(arguments[$0 + 1]) } ?? 1_000_000
    let rounds = arguments.firstIndex(of: "--rounds").flatMap { Int(arguments[$0 + 1]) } ?? 7
    let csv = arguments.firstIndex(of: "--csv").map { arguments[$0 + 1] }
    try QuantBench.run(bars: bars, rounds: rounds, csvPath: csv)
    exit(0)
}
if arguments.dropFirst().first == "quote" {
    let count = arguments.firstIndex(of: "--count").flatMap { Int(arguments[$0 + 1]) } ?? 1_000_000
    try QuoteBench.run(count: count)
    exit(0)
}
if arguments.dropFirst().first == "ml" {
    let file = arguments.firstIndex(of: "--file").map { arguments[$0 + 1] } ?? ""
    let timeframe = try Timeframe.parse(arguments.firstIndex(of: "--timeframe").map { arguments[$0 + 1] } ?? "1d")
    let lags = arguments.firstIndex(of: "--lags").flatMap { Int(arguments[$0 + 1]) } ?? 10
    let models = (arguments.firstIndex(of: "--models").map { arguments[$0 + 1] } ?? "rf,svm").split(separator: ",")
        .map(String.init)
    let dataset = arguments.firstIndex(of: "--dataset").map { arguments[$0 + 1] }
    let seeds = arguments.firstIndex(of: "--seeds").flatMap { Int(arguments[$0 + 1]) } ?? 1
    try MLBench.run(
        file: file, timeframe: timeframe, lags: lags, models: models, seeds: seeds, datasetPath: dataset)
    exit(0)
}
if arguments.dropFirst().first == "scale-setup" {
    let url = arguments.firstIndex(of: "--database").map { arguments[$0 + 1] } ?? ""
    let count = arguments.firstIndex(of: "--tenants").flatMap { Int(arguments[$0 + 1]) } ?? 10_000
    try await ScaleSetup.run(databaseURL: url, count: count)
    exit(0)
}
if arguments.dropFirst().first == "revenue" {
    func option(_ name: String, _ fallback: Int) -> Int {
        arguments.firstIndex(of: name).flatMap { Int(arguments[$0 + 1]) } ?? fallback
    }
    try await RevenueBench.run(
        events: option("--events", 1_000_000), partners: option("--partners", 1_000), batch: option("--batch", 5_000),
        lanes: option("--connections", 2), grouped: arguments.contains("--grouped"))
    exit(0)
}
let tenantCount = arguments.firstIndex(of: "--tenants").flatMap { Int(arguments[$0 + 1]) } ?? 1000
let logger = Logger(label: "bench", minimumLevel: .warning)

func milliseconds(_ duration: Duration) -> Double {
    duration.secondsValue * 1000
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

let cluster = EmbeddedPostgres(options: .init(rootDirectory: "bench/out/tenancy-data"), logger: logger)
try await cluster.start()
var server = cluster.configuration
server.database = "postgres"
let admin = try await PostgresConnection.connect(configuration: server, logger: logger)
try await admin.executeScript("DROP DATABASE IF EXISTS scryptex_bench WITH (FORCE)", timeout: .seconds(1800))
let staleRoles = try await admin.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'tr\\_%'")
for row in staleRoles {
    let role = try SQLIdentifier(try row.decode("rolname", as: String.self))
    try await admin.executeScript("DROP ROLE \(role.quoted)")
}
try await admin.executeScript("CREATE DATABASE scryptex_bench")
var configuration = server
configuration.database = "scryptex_bench"
let pool = PostgresConnectionPool(configuration: configuration, options: .init(maximumConnections: 4), logger: logger)
try await pool.withConnection {
    try await Migrator(plan: SchemaPlans.platform, logger: logger).migrate(schema: PlatformSchema.name, on: $0)
}

let provisioner = TenantProvisioner(
    platformDomain: "bench.example", tenantSchema: SchemaPlans.tenant, logger: logger)
var durations: [Double] = []
let clock = ContinuousClock()
for index in 0..<tenantCount {
    let started = clock.now
    try await provisioner.create(
        .init(slug: "tenant\(index)", displayName: "Tenant \(index)", domains: ["trade\(index).partners.example"]),
        on: pool
    )
    durations.append(milliseconds(clock.now - started))
}
let last = Array(durations.suffix(max(1, tenantCount / 10)))

// With a spare schema ready, as the host keeps them (SCRYPTEX_SPARE_TENANT_SCHEMAS): the spare
// is topped up between creations (timed separately: that is the host's background work), each
// creation timed alone. These tenants come on top of the ones above.
let warmCount = max(1, min(100, tenantCount / 10))
var warmDurations: [Double] = []
var spareBuildDurations: [Double] = []
for index in 0..<warmCount {
    let buildStarted = clock.now
    try await provisioner.spares.replenish(to: 1, on: pool)
    spareBuildDurations.append(milliseconds(clock.now - buildStarted))
    let started = clock.now
    try await provisioner.create(
        .init(slug: "warm\(index)", displayName: "Warm \(index)", domains: ["warm\(index).partners.example"]),
        on: pool
    )
    warmDurations.append(milliseconds(clock.now - started))
}
let totalTenants = tenantCount + warmCount

let migrateStarted = clock.now
let program = ScryptexProgram(
    environment: ["DATABASE_URL": configuration.url(), "LOG_LEVEL": "warning"], output: { _ in }, errorOutput: { _ in }
)
let migrateStatus = await program.run(arguments: ["migrate"])
let migrateTime = milliseconds(clock.now - migrateStarted)

// One new migration over every tenant: canary first, then 4 at a time.
let extended = SchemaPlans.tenant.appending(
    MigrationSet(
        name: "bench",
        migrations: [
            Migration(
                version: 1, name: "bench_add_column",
                sql: "ALTER TABLE institutional_accounts ADD COLUMN bench_note text;")
        ]))
let campaignStarted = clock.now
let campaign = await TenantMigrationCampaign(
    runner: TenantMigrationRunner(plan: extended, logger: logger), concurrency: 4
)
.run(try (0..<tenantCount).map { try TenantSlug("tenant\($0)") }, on: pool)
let campaignTime = milliseconds(clock.now - campaignStarted)
precondition(campaign.failed.isEmpty, "the benchmark migration failed: \(campaign.failed.first!.error)")

let directory = TenantDirectory()
let reloadStarted = clock.now
try await directory.reload(from: pool)
let reloadTime = milliseconds(clock.now - reloadStarted)
let lookups = 1_000_000
let hosts = (0..<tenantCount).map { "trade\($0).partners.example" }
let lookupStarted = clock.now
var found = 0
for index in 0..<lookups where directory.tenant(forHost: hosts[index % tenantCount]) != nil { found += 1 }
precondition(found == lookups, "every host must resolve")
let lookupTime = milliseconds(clock.now - lookupStarted) * 1000 / Double(lookups)

let catalog = try await pool.query(
    "SELECT pg_database_size(current_database()) AS bytes, (SELECT count(*) FROM pg_class) AS relations"
)
let databaseBytes = try catalog.firstRow.decode("bytes", as: Int.self)
let relations = try catalog.firstRow.decode("relations", as: Int.self)
await pool.close()
await admin.close()
try await cluster.stop()

print("| measure | result | goal |")
print("|---|---|---|")
print(
    String(
        format: "| provision one tenant, p50 / p99 over all %d | %.1f ms / %.1f ms | |", tenantCount,
        percentile(durations, 0.5), percentile(durations, 0.99)))
print(
    String(
        format:
            "| provision one tenant with %d+ present (last %d), schema built on the spot, p50 / p99 | %.1f ms / %.1f ms | |",
        tenantCount - last.count, last.count, percentile(last, 0.5), percentile(last, 0.99)))
print(
    String(
        format:
            "| **provision one tenant with %d+ present, a spare schema ready** (%d tenants), p50 / p99 | **%.1f ms / %.1f ms** | ≤ 50 ms / ≤ 200 ms |",
        tenantCount, warmCount, percentile(warmDurations, 0.5), percentile(warmDurations, 0.99)))
print(
    String(
        format: "| build one spare schema (host background work), p50 / p99 | %.1f ms / %.1f ms | |",
        percentile(spareBuildDurations, 0.5), percentile(spareBuildDurations, 0.99)))
print(
    String(
        format:
            "| `scryptex migrate` with nothing pending, %d tenants (whole command) | %.0f ms (exit %d) | ≤ 5 s at 10,000 |",
        totalTenants, migrateTime, migrateStatus))
print(
    String(
        format: "| one new migration over %d tenants (canary, then 4 at a time) | %.1f s | ≤ 30 s at 1,000 |",
        tenantCount, campaignTime / 1000))
print(
    String(
        format: "| tenant directory reload, %d tenants (%d hosts) | %.1f ms | |", totalTenants, directory.count,
        reloadTime))
print(String(format: "| host → tenant lookup | %.3f µs | O(1) |", lookupTime))
print(
    String(
        format: "| database size / relations in pg_class at %d tenants | %.1f MB / %d | reported |", totalTenants,
        Double(databaseBytes) / 1_048_576, relations))
