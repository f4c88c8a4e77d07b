import Foundation
public import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTenancy
import ScryptexTradFi

/// Traditional finance over the API (feature `tradfi`; docs/TRADFI.md): the tenant's FIX
/// sessions to its prime brokers, with where each stands and its sequence numbers.
public struct TradFiRoutes: RouteCollection {
    let service = BrokerSessionService()
    let orders: BrokerOrderService
    let credit = CreditLineService()
    let sanctions: SanctionsRegistry

    /// - Parameters:
    ///   - rules: The pre-trade rules' thresholds (the same as the compliance order book's).
    ///   - sanctions: The lists the pre-trade check screens an order's parties against.
    public init(rules: TradeCheckRules = TradeCheckRules(), sanctions: SanctionsRegistry) {
        orders = BrokerOrderService(orders: OrderService(checks: TradeCheckService(rules: rules, credit: credit)))
        self.sanctions = sanctions
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiRead, feature: .tradfi) {
            tradfi in
            tradfi.get("broker-sessions", use: list)
            tradfi.get("broker-sessions/:id", use: show)
            tradfi.get("broker-sessions/:id/positions", use: positions)
            tradfi.get("orders", use: listOrders)
            tradfi.get("orders/:id", use: showOrder)
            tradfi.get("credit-lines", use: listCreditLines)
            tradfi.get("credit-lines/:id", use: showCreditLine)
        }
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiManage, feature: .tradfi) {
            tradfi in
            tradfi.post("broker-sessions", use: create)
            tradfi.post("broker-sessions/:id/position-requests", use: requestPositions)
            tradfi.post("orders", use: submitOrder)
            tradfi.post("orders/:id/cancel", use: cancelOrder)
            tradfi.post("credit-lines", use: openCreditLine)
            tradfi.patch("credit-lines/:id", use: changeCreditLine)
            tradfi.post("credit-lines/:id/margin-calls/:call/waive", use: waiveMarginCall)
        }
    }

    // MARK: Credit lines

    @Sendable func listCreditLines(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        var account: UUID?
        if let text = QueryParameters(request)["accountId"] {
            guard let id = UUID(uuidString: text) else {
                throw ServiceError(.invalidInput, "query 'accountId': not a UUID")
            }
            account = id
        }
        return try .json(
            encoding: [
                "creditLines": try await call.scope.withTransaction(readOnly: true) {
                    try await credit.lines(ofAccount: account, in: $0)
                }
            ])
    }

    @Sendable func showCreditLine(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no credit line with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await credit.line(id, in: $0) })
    }

    /// Opens a credit line: 201 with it and what it has in use now.
    @Sendable func openCreditLine(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
        let definition = try CreditLineDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await credit.create(definition, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .created)
    }

    @Sendable func changeCreditLine(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no credit line with this id")
        try request.requireJSONBody()
        let change = try CreditLineChange.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await credit.change(id, change, actor: call.principal.actor, audit: call.audit, in: $0)
            })
    }

    @Sendable func waiveMarginCall(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let line = try call.context.identifier("id", notFound: "no credit line with this id")
        let marginCall = try call.context.identifier("call", notFound: "no margin call with this id")
        struct Waiver: Decodable { var reason: String }
        let waiver = try request.decodeJSON(Waiver.self)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await credit.waive(
                    call: marginCall, ofLine: line, reason: waiver.reason, actor: call.principal.actor,
                    audit: call.audit, in: $0)
            })
    }

    /// Asks the session's broker for its positions (RequestForPositions, sent by the session's
    /// holder): 202 with the request; the reports land in `…/positions`.
    @Sendable func requestPositions(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no broker session with this id")
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await BrokerPositionService().request(
                    session: id, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .accepted)
    }

    @Sendable func positions(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no broker session with this id")
        return try .json(
            encoding: [
                "positions": try await call.scope.withTransaction(readOnly: true) {
                    try await BrokerPositionService().positions(session: id, in: $0)
                }
            ])
    }

    /// Routes an order to a broker session: 201 with the routed order and the check's decision;
    /// refused by the check: 422 (nothing sent); the same clientOrderId again: 200 and the order.
    @Sendable func submitOrder(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let draft = try request.decodeJSON(BrokerOrderDraft.self)
        let screener = sanctions.screener()
        let (routed, order, decision, created) = try await call.scope.withTransaction { transaction in
            try await orders.submit(
                draft, actor: call.principal.actor, screener: screener, audit: call.audit, in: transaction)
        }
        struct Entered: Encodable {
            var routed: RoutedOrder?
            var order: Order
            var decision: TradeDecision?
        }
        let status: HTTPStatus = routed == nil ? .unprocessableContent : created ? .created : .ok
        return try .json(encoding: Entered(routed: routed, order: order, decision: decision), status: status)
    }

    @Sendable func cancelOrder(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no routed order with this id")
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await orders.requestCancel(id, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .accepted)
    }

    @Sendable func listOrders(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        var session: UUID?
        if let text = query["sessionId"] {
            guard let id = UUID(uuidString: text) else {
                throw ServiceError(.invalidInput, "query 'sessionId': not a UUID")
            }
            session = id
        }
        var status: RoutedOrder.Status?
        if let text = query["status"] {
            guard let value = RoutedOrder.Status(rawValue: text) else {
                throw ServiceError(
                    .invalidInput,
                    "query 'status': one of \(RoutedOrder.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = value
        }
        return try .json(
            encoding: [
                "orders": try await call.scope.withTransaction(readOnly: true) {
                    try await orders.routedOrders(session: session, status: status, in: $0)
                }
            ])
    }

    @Sendable func showOrder(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no routed order with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await orders.routed(id, in: $0) })
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
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
