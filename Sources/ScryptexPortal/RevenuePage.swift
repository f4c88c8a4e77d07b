import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexTemplates

/// A partner's revenue share (feature `white_label`, permission `revenue.read`): each month's
/// revenue and shares, what is pending, in transit and paid, and each closed month's statement
/// (the API's printable statement and CSV, with the same session).
extension PortalRoutes {
    @Sendable func revenuePage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let (report, slug) = try await revenue.partnerRevenue(for: call)
        let base = "/api/enterprise/white-label/" + PercentEncoding.encode(slug) + "/statements/"
        return try await page(
            "portal-revenue", title: "Revenue share", section: Self.root + "/revenue", call: call,
            values: [
                "currency": .string(report.currency), "closedRevenue": .string(report.closedRevenue),
                "partnerShare": .string(report.partnerShare), "platformShare": .string(report.platformShare),
                "pending": .string(report.pending), "inTransit": .string(report.inTransit),
                "paid": .string(report.paid),
                "periods": .list(
                    report.periods.map { period in
                        let closed = period.status == "closed"
                        return [
                            "period": .string(period.period), "status": .string(period.status),
                            "revenue": .string(period.revenue), "events": .number(String(period.events)),
                            "partnerShare": period.partnerShare.map { .string($0) } ?? .null,
                            "platformShare": period.platformShare.map { .string($0) } ?? .null,
                            "statement": closed ? .string(base + period.period + "?format=html") : .null,
                            "csv": closed ? .string(base + period.period + "?format=csv") : .null,
                        ]
                    }),
            ])
    }
}
