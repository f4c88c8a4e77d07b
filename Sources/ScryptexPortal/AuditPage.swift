import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates

/// The tenant's audit trail with the API's filters (actor, action, object type, a period),
/// newest page by page.
extension PortalRoutes {
    @Sendable func auditTrail(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        func day(_ name: String) throws -> Date? {
            guard let text = query[name] else { return nil }
            guard let date = Timestamp.parse(text.count == 10 ? text + "T00:00:00Z" : text) else {
                throw HTTPProblem.badRequest("query '\(name)': a day such as 2026-12-04", type: .invalidField)
            }
            return date
        }
        let filter = AuditTrail.Filter(
            actor: query["actor"], action: query["action"], objectType: query["objectType"], objectID: nil,
            accountID: nil, from: try day("from"), until: try day("until").map { $0.addingTimeInterval(86_400) })
        let after = try query.integer("after", in: 0...Int(Int64.max / 2)) ?? 0
        let records = try await call.scope.withTransaction(readOnly: true) { transaction in
            try await AuditTrail(schema: call.tenant.schema).records(
                matching: filter, after: Int64(after), limit: 100, in: transaction)
        }
        let formatter = ISO8601DateFormatter()
        var values: [String: TemplateValue] = [
            "records": .list(
                records.map { record in
                    [
                        "position": .number(String(record.position)),
                        "at": .string(
                            formatter.string(
                                from: Date(timeIntervalSince1970: Double(record.occurredAtMicroseconds) / 1_000_000))),
                        "actor": .string(record.actor), "action": .string(record.action),
                        "object": .string(
                            [record.objectType, record.objectID].compactMap { $0 }.joined(separator: " ")),
                        "details": .string(record.details == "{}" ? "" : record.details),
                    ]
                }),
            "filter": [
                "actor": query["actor"].map { .string($0) } ?? .null,
                "action": query["action"].map { .string($0) } ?? .null,
                "objectType": query["objectType"].map { .string($0) } ?? .null,
                "from": query["from"].map { .string($0) } ?? .null,
                "until": query["until"].map { .string($0) } ?? .null,
            ],
        ]
        if records.count == 100, let last = records.last {
            var next = "?after=\(last.position)"
            for name in ["actor", "action", "objectType", "from", "until"] {
                if let value = query[name] { next += "&\(name)=" + PercentEncoding.encode(value) }
            }
            values["next"] = .string(next)
        }
        return try await page(
            "portal-audit", title: "Audit trail", section: Self.root + "/audit", call: call, values: values)
    }
}
