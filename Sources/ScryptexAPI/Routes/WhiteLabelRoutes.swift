import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
public import ScryptexWhiteLabel

/// White-label instances, for platform admins on the platform domain: create, list, read and
/// change (plan, features, branding, limits, revenue share). `WHITE_LABEL_ENABLED=false` closes
/// them with 403, like the revenue routes.
public struct WhiteLabelRoutes: RouteCollection {
    static let base = "/api/enterprise/white-label"

    let instances: WhiteLabelInstances
    let enabled: HostSwitch

    /// - Parameter enabled: `WHITE_LABEL_ENABLED`.
    public init(instances: WhiteLabelInstances, enabled: Bool) {
        self.instances = instances
        self.enabled = Self.hostSwitch(enabled)
    }

    static func hostSwitch(_ enabled: Bool) -> HostSwitch {
        HostSwitch(
            isOn: enabled, detail: "the white-label API is turned off on this platform (WHITE_LABEL_ENABLED=false)")
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group(Self.base, as: AdminCall.self, enabledBy: enabled) { admin in
            admin.post("instances", use: create)
            admin.get("instances", use: list)
            admin.get("instances/:id", use: instance)
            admin.patch("instances/:id", use: update)
            admin.post(":id/plans", use: addRevenueShareVersion)
        }
    }

    @Sendable func create(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let body = try request.decodeJSON(WhiteLabelInstances.CreateRequest.self)
        let (view, ownerKey) = try await instances.create(body, admin: call.admin, requestID: call.requestID)
        struct Created: Encodable {
            var instance: WhiteLabelInstanceView
            var ownerKey: String
        }
        return try .json(encoding: Created(instance: view, ownerKey: ownerKey), status: .created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try .json(encoding: ["instances": try await instances.list()])
    }

    @Sendable func instance(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try .json(encoding: try await instances.view(try await instances.find(try call.parameter("id")).slug))
    }

    @Sendable func update(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let body = try request.decodeJSON(WhiteLabelInstances.UpdateRequest.self)
        return try .json(
            encoding: try await instances.update(
                try call.parameter("id"), body, admin: call.admin, requestID: call.requestID))
    }

    @Sendable func addRevenueShareVersion(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let body = try request.decodeJSON(WhiteLabelInstanceView.RevenueShareVersion.self)
        let view = try await instances.update(
            try call.parameter("id"), .init(revenueShare: body), admin: call.admin, requestID: call.requestID)
        return try .json(encoding: view, status: .created)
    }
}
