import Foundation
import ScryptexAPI
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates

extension PortalRoutes {
    /// The landing page: the firm's executive dashboard (AUM, P&L, risk, compliance and the
    /// other services' panels) for those who may read it where business intelligence is on,
    /// served from the dashboard cache the API uses.
    @Sendable func dashboard(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        var values: [String: TemplateValue] = [:]
        if call.principal.has(.intelligenceRead), try await services.features.isEnabled(.bi, for: call.tenant.id) {
            do {
                values["dashboard"] = try TemplateValue(
                    json: Data(try await intelligence.dashboard(.tenant, refresh: false, for: call)))
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
