import Foundation
import ScryptexAPI
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates
import Synchronization

extension PortalRoutes {
    /// The landing page: the firm's executive dashboard (AUM, P&L, risk, compliance and the
    /// other services' panels) for those who may read it where business intelligence is on,
    /// served from the dashboard cache the API uses.
    @Sendable func dashboard(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        var values: [String: TemplateValue] = [:]
        if call.principal.has(.intelligenceRead), try await services.features.isEnabled(.bi, for: call.tenant.id) {
            do {
                values["dashboard"] = try dashboards.value(
                    of: try await intelligence.dashboard(.tenant, refresh: false, for: call), for: call.tenant.id)
            } catch let problem as HTTPProblem where problem.problemType == .featureDisabled {
                values["dashboardNote"] = .string(problem.detail)
            }
        } else {
            values["dashboardNote"] =
                "Your role does not include the firm's dashboard (bi.read), or it is off for this platform."
        }
        return try await page("portal-dashboard", title: "Dashboard", section: Self.root, call: call, values: values)
    }
}

/// The last dashboard document each tenant's page rendered, parsed: while the dashboard cache
/// hands out the same bytes, the page reuses the parse instead of reading the JSON again.
final class ParsedDashboards: Sendable {
    private let entries = Mutex<[UUID: (document: [UInt8], value: TemplateValue)]>([:])

    func value(of document: [UInt8], for tenant: UUID) throws -> TemplateValue {
        if let entry = entries.withLock({ $0[tenant] }), entry.document == document { return entry.value }
        let value = try TemplateValue(json: Data(document))
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[tenant] = (document, value)
        }
        return value
    }
}
