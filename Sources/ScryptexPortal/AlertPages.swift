import Foundation
import ScryptexAPI
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexTemplates

/// Compliance alerts (AML monitoring, sanctions, margin): the case list by status, and the
/// case workflow — assign, escalate, close with a reason — each step audited.
extension PortalRoutes {
    static let alertStatuses = ["open", "assigned", "escalated", "closed"]

    @Sendable func alertList(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let status = QueryParameters(request)["status"]
        if let status, !Self.alertStatuses.contains(status) {
            throw HTTPProblem.badRequest("query 'status': open, assigned, escalated or closed", type: .invalidField)
        }
        return try await alertPage(call, status: status)
    }

    func alertPage(
        _ call: TenantCall, status: String?, error: String? = nil, httpStatus: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let alerts = try await call.scope.withTransaction(readOnly: true) {
            try await MonitoringService().alerts(status: status, in: $0)
        }
        let formatter = ISO8601DateFormatter()
        var values: [String: TemplateValue] = [
            "alerts": .list(
                alerts.map { alert in
                    [
                        "id": .string(alert.id.uuidString.lowercased()), "kind": .string(alert.kind),
                        "severity": .string(alert.severity), "status": .string(alert.status),
                        "assignee": alert.assignee.map { .string($0) } ?? .null, "summary": .string(alert.summary),
                        "closeReason": alert.closeReason.map { .string($0) } ?? .null,
                        "createdAt": .string(formatter.string(from: alert.createdAt)),
                        "account": alert.accountId.map { .string($0.uuidString.lowercased()) } ?? .null,
                        "isOpen": .bool(alert.status != "closed"), "canEscalate": .bool(alert.status == "assigned"),
                    ]
                }),
            "statuses": .list(
                ([nil] + Self.alertStatuses).map { name in
                    [
                        "label": .string(name ?? "all"),
                        "href": .string(Self.root + "/alerts" + (name.map { "?status=" + $0 } ?? "")),
                        "current": .bool(name == status),
                    ]
                }),
        ]
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-alerts", title: "Compliance alerts", section: Self.root + "/alerts", call: call, values: values,
            status: httpStatus)
    }

    func actOnAlert(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no alert with this id")
        let action = try call.parameter("action")
        do {
            _ = try await call.scope.withTransaction { transaction in
                try await MonitoringService().act(
                    on: id, action: action, assignee: form["assignee"], note: form["reason"], audit: call.audit,
                    in: transaction)
            }
            return .redirect(to: Self.root + "/alerts")
        } catch let error as ServiceError where error.code == .invalidInput {
            return try await alertPage(call, status: nil, error: error.message, httpStatus: .badRequest)
        }
    }
}
