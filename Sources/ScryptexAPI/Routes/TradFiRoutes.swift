import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTenancy
import ScryptexTradFi

/// Traditional finance over the API (feature `tradfi`; docs/TRADFI.md): the tenant's FIX
/// sessions to its prime brokers, with where each stands and its sequence numbers.
public struct TradFiRoutes: RouteCollection {
    let service = BrokerSessionService()

    public init() {}

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiRead, feature: .tradfi) {
            tradfi in
            tradfi.get("broker-sessions", use: list)
            tradfi.get("broker-sessions/:id", use: show)
        }
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiManage, feature: .tradfi) {
            tradfi in
            tradfi.post("broker-sessions", use: create)
        }
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let definition = try BrokerSessionDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await service.create(definition, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "sessions": try await call.scope.withTransaction(readOnly: true) { try await service.sessions(in: $0) }
            ])
    }

    @Sendable func show(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no broker session with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await service.session(id, in: $0) })
    }
}
