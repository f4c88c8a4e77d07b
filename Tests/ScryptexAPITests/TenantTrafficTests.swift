import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexTenancy
import Testing

@testable import ScryptexAPI

@Suite("Per-tenant traffic")
struct TenantTrafficTests {
    static func context(_ slug: String?) throws -> RequestContext {
        var context = RequestContext(
            requestID: "r", logger: Logger(label: "test", minimumLevel: .error), serverName: nil, isSecure: true,
            remoteAddress: "127.0.0.1")
        if let slug {
            context.tenant = Tenant(id: UUID(), slug: try TenantSlug(slug), displayName: slug, status: .active)
        }
        return context
    }

    /// Two labels at most: the third tenant served is `other`, and stays so.
    @Test func labelsAreBoundedAndNeverMove() throws {
        let traffic = TenantTraffic(labelledTenants: 2)
        let request = HTTPRequest(method: .get, target: "/", headers: HTTPHeaders(), body: [])
        for slug in ["acme", "zenith", "third", "acme", "third"] {
            traffic.requestFinished(request, context: try Self.context(slug), status: 200, duration: .milliseconds(3))
        }
        traffic.requestFinished(request, context: try Self.context(nil), status: 404, duration: .milliseconds(1))
        let series = Dictionary(uniqueKeysWithValues: traffic.series.map { ($0.label, $0.series) })
        #expect(series.keys.sorted() == ["acme", "other", "platform", "zenith"])
        #expect(series["acme"]?.responses[1] == 2 && series["other"]?.responses[1] == 2)
        #expect(series["platform"]?.responses[3] == 1)
        #expect(series["acme"]?.latency.count == 2)
    }

    /// The last five minutes of one tenant: rate, share of 5xx, latency percentiles.
    @Test func recentFiguresCoverTheLastMinutes() throws {
        let traffic = TenantTraffic()
        let request = HTTPRequest(method: .get, target: "/", headers: HTTPHeaders(), body: [])
        let context = try Self.context("acme")
        for index in 0..<100 {
            traffic.requestFinished(
                request, context: context, status: index < 5 ? 503 : 200, duration: .microseconds(800))
        }
        let recent = traffic.recent("acme")
        #expect(recent.requests == 100 && recent.requestsPerSecond == 100.0 / 300)
        #expect(recent.errorRate == 0.05)
        // Every request in the (0.5 ms, 1 ms] bucket: the median interpolates to 0.75 ms.
        #expect(abs((recent.latency.quantile(0.5) ?? 0) - 0.00075) < 1e-12)
        #expect(traffic.recent("zenith").requests == 0 && traffic.recent("zenith").errorRate == nil)
        // Ten minutes on, the window has moved past them.
        #expect(traffic.recent("acme", now: Date().addingTimeInterval(600)).requests == 0)
    }
}
