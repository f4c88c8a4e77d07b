import Foundation
import Glibc
import ScryptexACME
import ScryptexAPI
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import Synchronization

/// The host's metrics in Prometheus' text exposition format (0.0.4), served on `METRICS_LISTEN`:
/// responses by status class, connections and TLS handshakes per listener, requests and their
/// latency per tenant (the first 50 tenants served by name, the rest as `other`), the database
/// pool (waits for a connection, statement round trips), tenant jobs (queued and running by kind,
/// attempts' durations and endings by kind, report generation), tenants by status, the
/// certificates' earliest expiry, and the process's CPU, memory and descriptors.
struct HostMetrics: Sendable {
    let listeners: [(name: String, server: HTTPServer)]
    let pool: PostgresConnectionPool
    let directory: TenantDirectory
    let certificates: CertificateExpiries
    var traffic = TenantTraffic()
    var jobs = TenantJobMetrics()

    /// The job kinds that generate reports (their attempts are also `report_generation`).
    static let reportKinds: Set<String> = ["bi_report", "regulatory_report"]

    func render() async -> String {
        var text = PrometheusText()
        let statistics = listeners.map { ($0.name, $0.server.statistics) }
        let secure = Set(listeners.filter(\.server.isSecure).map(\.name))
        text.family(
            "scryptex_http_responses_total", .counter, help: "Responses written, by listener and status class.",
            statistics.flatMap { name, statistics in
                statistics.responsesByStatusClass.sorted { $0.key < $1.key }.map {
                    ([("listener", name), ("class", "\($0.key)xx")], Double($0.value))
                }
            })
        text.histogram(
            "scryptex_http_response_seconds",
            help: "From a request read in full to its answer queued for writing, by listener.",
            statistics.map { ([("listener", $0.0)], $0.1.responseTimes) })
        text.family(
            "scryptex_http_open_connections", .gauge, help: "Client connections open now.",
            statistics.map { ([("listener", $0.0)], Double($0.1.openConnections)) })
        text.family(
            "scryptex_tls_handshakes_total", .counter, help: "Completed TLS handshakes, full or resumed.",
            statistics.filter { secure.contains($0.0) }.flatMap {
                [
                    ([("listener", $0.0), ("kind", "full")], Double($0.1.fullHandshakes)),
                    ([("listener", $0.0), ("kind", "resumed")], Double($0.1.resumedHandshakes)),
                ]
            })
        let tenantSeries = traffic.series
        text.family(
            "scryptex_tenant_requests_total", .counter,
            help: "Requests answered per tenant (first 50 by name, then other; platform: no tenant), by status class.",
            tenantSeries.flatMap { label, series -> [([(String, String)], Double)] in
                var samples: [([(String, String)], Double)] = []
                for (index, count) in series.responses.enumerated() where count > 0 {
                    samples.append(([("tenant", label), ("class", "\(index + 1)xx")], Double(count)))
                }
                return samples
            })
        text.histogram(
            "scryptex_tenant_request_seconds", help: "From a request routed to its answer, per tenant.",
            tenantSeries.map { ([("tenant", $0.label)], $0.series.latency) })
        // Each PostgreSQL cluster's pool: the control plane's (`primary`) and every tenant cluster's.
        let pools =
            [(name: TenantClusters.primary, pool: pool)] + ((pool.router as? TenantClusters)?.namedPools ?? [])
        text.family(
            "scryptex_database_connections", .gauge, help: "Pooled PostgreSQL connections, by cluster and state.",
            pools.flatMap { cluster in
                let statistics = cluster.pool.statistics
                return [
                    ([("cluster", cluster.name), ("state", "busy")], Double(statistics.open - statistics.idle)),
                    ([("cluster", cluster.name), ("state", "idle")], Double(statistics.idle)),
                ]
            })
        text.family(
            "scryptex_database_waiting_requests", .gauge, help: "Requests waiting for a pooled connection, by cluster.",
            pools.map { ([("cluster", $0.name)], Double($0.pool.statistics.waiting)) })
        text.histogram(
            "scryptex_database_acquire_seconds", help: "From asking the pool for a connection to having one.",
            pools.map { ([("cluster", $0.name)], $0.pool.timings.acquisitions.histogram) })
        text.histogram(
            "scryptex_database_statement_seconds",
            help: "Each request's round trip on a pooled connection (a statement, or a pipeline of them).",
            pools.map { ([("cluster", $0.name)], $0.pool.timings.statements.histogram) })
        if let depth = try? await TenantJobQueue(pool: pool).depthByKind() {
            text.family(
                "scryptex_jobs", .gauge, help: "Tenant jobs waiting or running now, by kind.",
                depth.map { ([("kind", $0.kind), ("status", $0.status)], Double($0.count)) })
        }
        let attempts = jobs.snapshot
        text.histogram(
            "scryptex_job_duration_seconds", help: "Job attempts run on this host, by kind.",
            attempts.map { ([("kind", $0.kind)], $0.figures.durations) })
        text.family(
            "scryptex_job_attempts_total", .counter, help: "Job attempts run on this host, by kind and ending.",
            attempts.flatMap { kind, figures in
                figures.outcomes.sorted { $0.key < $1.key }.map {
                    ([("kind", kind), ("outcome", $0.key)], Double($0.value))
                }
            })
        text.histogram(
            "scryptex_report_generation_seconds",
            help: "Report generation (BI and regulatory report jobs) on this host, by kind.",
            attempts.filter { Self.reportKinds.contains($0.kind) }.map { ([("kind", $0.kind)], $0.figures.durations) })
        var tenants: [String: Set<UUID>] = [:]
        for (_, tenant) in directory.hosts { tenants[tenant.status.rawValue, default: []].insert(tenant.id) }
        text.family(
            "scryptex_tenants", .gauge, help: "Tenants with at least one served domain, by status.",
            tenants.sorted { $0.key < $1.key }.map { ([("status", $0.key)], Double($0.value.count)) })
        let expiries = certificates.current()
        text.family(
            "scryptex_tls_certificates", .gauge, help: "Certificates in the certificate folder.",
            [([], Double(expiries.count))])
        if let earliest = expiries.min(by: { $0.value < $1.value }) {
            text.family(
                "scryptex_tls_certificate_earliest_expiry_timestamp_seconds", .gauge,
                help: "When the first certificate to expire expires (Unix time), and which domain it serves.",
                [([("domain", earliest.key)], earliest.value.timeIntervalSince1970.rounded())])
        }
        let process = ProcessFigures.read()
        text.family(
            "process_cpu_seconds_total", .counter, help: "User and system CPU time spent.", [([], process.cpuSeconds)])
        text.family(
            "process_resident_memory_bytes", .gauge, help: "Resident memory size.",
            [([], Double(process.residentBytes))])
        text.family(
            "process_open_fds", .gauge, help: "Open file descriptors.", [([], Double(process.openDescriptors))])
        text.family(
            "process_start_time_seconds", .gauge, help: "When the process started (Unix time).",
            [([], process.startTime.rounded())])
        return text.output
    }
}

/// The process's own figures from `/proc/self`.
struct ProcessFigures {
    var cpuSeconds: Double
    var residentBytes: Int
    var openDescriptors: Int
    var startTime: Double

    static func read() -> ProcessFigures {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = sysconf(Int32(_SC_PAGESIZE))
        // /proc/self/stat: fields after the parenthesized command name; utime and stime are the
        // 14th and 15th fields, starttime the 22nd (in ticks since boot).
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last.map { $0.split(separator: " ") } ?? []
        func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let residentPages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        let uptime =
            (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first
            .flatMap { Double($0) } ?? 0
        return ProcessFigures(
            cpuSeconds: (field(14) + field(15)) / ticks, residentBytes: residentPages * page,
            openDescriptors: descriptors,
            startTime: Date().timeIntervalSince1970 - uptime + field(22) / ticks)
    }
}

/// Prometheus' text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines, then one
/// sample per line, label values escaped.
struct PrometheusText {
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var output = ""

    mutating func family(_ name: String, _ kind: Kind, help: String, _ samples: [([(String, String)], Double)]) {
        appendHeader(name, kind, help: help)
        for (labels, value) in samples { appendSample(name, labels, value) }
    }

    private mutating func appendHeader(_ name: String, _ kind: Kind, help: String) {
        output += "# HELP \(name) \(Self.escaped(help, quotes: false))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    private mutating func appendSample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        output += name
        if !labels.isEmpty {
            output +=
                "{" + labels.map { "\($0.0)=\"\(Self.escaped($0.1, quotes: true))\"" }.joined(separator: ",") + "}"
        }
        output += " " + Self.format(value) + "\n"
    }

    /// A histogram family: cumulative `_bucket` samples with `le`, then `_sum` and `_count`.
    mutating func histogram(_ name: String, help: String, _ series: [([(String, String)], LatencyHistogram)]) {
        appendHeader(name, .histogram, help: help)
        for (labels, histogram) in series {
            for (index, count) in histogram.cumulativeCounts.enumerated() {
                let bound = index < histogram.upperBounds.count ? Self.format(histogram.upperBounds[index]) : "+Inf"
                appendSample(name + "_bucket", labels + [("le", bound)], Double(count))
            }
            appendSample(name + "_sum", labels, histogram.sumSeconds)
            appendSample(name + "_count", labels, Double(histogram.count))
        }
    }

    static func escaped(_ text: String, quotes: Bool) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\"" where quotes: escaped += "\\\""
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
