public import Foundation
import Synchronization

/// Computed dashboards kept for `EXECUTIVE_DASHBOARD_REFRESH` seconds, per tenant and scope.
/// Bounded: past `capacity` entries the oldest goes.
public final class DashboardCache: Sendable {
    struct Entry {
        var dashboard: Dashboard
        var computedAt: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    public let refreshSeconds: Int
    let capacity: Int

    public init(refreshSeconds: Int, capacity: Int = 10_000) {
        self.refreshSeconds = refreshSeconds
        self.capacity = capacity
    }

    /// The dashboard kept under `key`, if computed less than `refreshSeconds` ago.
    public func dashboard(_ key: String, now: Date = Date()) -> Dashboard? {
        entries.withLock { entries in
            guard let entry = entries[key], now.timeIntervalSince(entry.computedAt) < Double(refreshSeconds) else {
                return nil
            }
            var dashboard = entry.dashboard
            dashboard.cached = true
            return dashboard
        }
    }

    public func keep(_ dashboard: Dashboard, under key: String, now: Date = Date()) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil,
                let oldest = entries.min(by: { $0.value.computedAt < $1.value.computedAt })?.key
            {
                entries[oldest] = nil
            }
            entries[key] = Entry(dashboard: dashboard, computedAt: now)
        }
    }
}
