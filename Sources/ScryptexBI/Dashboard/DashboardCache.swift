public import Foundation
import Synchronization

/// Computed dashboards kept for `EXECUTIVE_DASHBOARD_REFRESH` seconds, per tenant and scope, as
/// the JSON a cached answer sends (written once, with `"cached": true`): serving one is a lookup
/// and a copy. Bounded: past `capacity` entries the oldest goes.
public final class DashboardCache: Sendable {
    struct Entry {
        var body: [UInt8]
        var computedAt: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    public let refreshSeconds: Int
    let capacity: Int

    public init(refreshSeconds: Int, capacity: Int = 10_000) {
        self.refreshSeconds = refreshSeconds
        self.capacity = capacity
    }

    /// The body kept under `key`, if computed less than `refreshSeconds` ago.
    public func body(_ key: String, now: Date = Date()) -> [UInt8]? {
        entries.withLock { entries in
            guard let entry = entries[key], now.timeIntervalSince(entry.computedAt) < Double(refreshSeconds) else {
                return nil
            }
            return entry.body
        }
    }

    /// Keeps `dashboard`, written by `encode` as a cached answer.
    public func keep(
        _ dashboard: Dashboard, under key: String, now: Date = Date(), encode: (Dashboard) throws -> [UInt8]
    ) rethrows {
        var cached = dashboard
        cached.cached = true
        let body = try encode(cached)
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil,
                let oldest = entries.min(by: { $0.value.computedAt < $1.value.computedAt })?.key
            {
                entries[oldest] = nil
            }
            entries[key] = Entry(body: body, computedAt: now)
        }
    }
}
