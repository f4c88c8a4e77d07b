public import Foundation
public import ScryptexCore
public import ScryptexHTTP
import Synchronization

/// Each tenant's requests as this host served them: counts by status class and latency, for
/// `/metrics` and the platform panel of a tenant's dashboard.
///
/// Label cardinality is bounded: the first `labelledTenants` tenants this host serves get a
/// `tenant` label of their own and every later one shares `other` (requests to no tenant, the
/// platform's own domain, are `platform`). A label, once given, is never taken back, so every
/// series only grows, as Prometheus counters must.
///
/// For the dashboard, every tenant (labelled or not) also has the last 15 minutes in one-minute
/// buckets: requests, server errors and a latency histogram, from which its rate, error rate and
/// latency percentiles over the last 5 minutes are read.
public final class TenantTraffic: HTTPRequestObserver {
    public static let other = "other"
    public static let platform = "platform"

    public struct Series: Sendable {
        /// By status class: index 0 for 1xx … 4 for 5xx.
        public var responses = [Int](repeating: 0, count: 5)
        public var latency: LatencyHistogram
    }

    /// One minute of one tenant's traffic.
    struct Minute {
        var minute: Int
        var requests = 0
        var serverErrors = 0
        var buckets: [Int]
        var sumSeconds = 0.0
    }

    struct State {
        var series: [String: Series] = [:]
        var labels: [String: String] = [:]
        var windows: [String: [Minute]] = [:]
    }

    private let state = Mutex(State())
    public let labelledTenants: Int
    /// When this host began counting (its start).
    public let since = Date()
    static let bounds = LatencyRecorder.standardBounds
    static let windowMinutes = 15

    public init(labelledTenants: Int = 50) {
        self.labelledTenants = labelledTenants
    }

    public func requestFinished(_ request: HTTPRequest, context: RequestContext, status: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        let tenant = context.tenant?.slug.value
        let bucket = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        let statusClass = min(4, max(0, status / 100 - 1))
        let minute = Int(Date().timeIntervalSince1970 / 60)
        state.withLock { state in
            let label: String
            if let tenant {
                if let known = state.labels[tenant] {
                    label = known
                } else {
                    label = state.labels.count < labelledTenants ? tenant : Self.other
                    state.labels[tenant] = label
                }
            } else {
                label = Self.platform
            }
            var series =
                state.series[label]
                ?? Series(
                    latency: LatencyHistogram(
                        upperBounds: Self.bounds, cumulativeCounts: [Int](repeating: 0, count: Self.bounds.count + 1),
                        sumSeconds: 0))
            series.responses[statusClass] += 1
            for index in bucket...Self.bounds.count { series.latency.cumulativeCounts[index] += 1 }
            series.latency.sumSeconds += seconds
            state.series[label] = series
            guard let tenant else { return }
            var window = state.windows[tenant] ?? []
            if window.last?.minute != minute {
                window.append(Minute(minute: minute, buckets: [Int](repeating: 0, count: Self.bounds.count + 1)))
                window.removeAll { $0.minute <= minute - Self.windowMinutes }
            }
            window[window.count - 1].requests += 1
            if statusClass == 4 { window[window.count - 1].serverErrors += 1 }
            window[window.count - 1].buckets[bucket] += 1
            window[window.count - 1].sumSeconds += seconds
            state.windows[tenant] = window
        }
    }

    /// Every label's series, for `/metrics`.
    public var series: [(label: String, series: Series)] {
        state.withLock { $0.series.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// A tenant's last `minutes` (at most 15): requests per second, the share of 5xx answers,
    /// and the latency histogram.
    public struct Recent: Sendable {
        public var minutes: Int
        public var requests: Int
        public var requestsPerSecond: Double
        public var errorRate: Double?
        public var latency: LatencyHistogram
    }

    public func recent(_ tenant: String, minutes: Int = 5, now: Date = Date()) -> Recent {
        let current = Int(now.timeIntervalSince1970 / 60)
        let window = state.withLock { $0.windows[tenant] ?? [] }.filter { $0.minute > current - minutes }
        var counts = [Int](repeating: 0, count: Self.bounds.count + 1)
        var sum = 0.0
        for minute in window {
            for index in counts.indices { counts[index] += minute.buckets[index] }
            sum += minute.sumSeconds
        }
        var cumulative: [Int] = []
        var running = 0
        for count in counts {
            running += count
            cumulative.append(running)
        }
        let requests = window.map(\.requests).reduce(0, +)
        let errors = window.map(\.serverErrors).reduce(0, +)
        return Recent(
            minutes: minutes, requests: requests, requestsPerSecond: Double(requests) / Double(minutes * 60),
            errorRate: requests > 0 ? Double(errors) / Double(requests) : nil,
            latency: LatencyHistogram(upperBounds: Self.bounds, cumulativeCounts: cumulative, sumSeconds: sum))
    }
}
