public import Foundation
public import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTradFi

/// `/api/enterprise/orders`: order entry where the pre-trade check binds — refused, held for a
/// second person, or resting until filled, cancelled or expired.
public struct OrderRoutes: RouteCollection {
    let orders: OrderService
    let monitoring: MonitoringService
    let sanctions: SanctionsRegistry

    /// - Parameters:
    ///   - monitoringEnabled: Whether fills raise AML alerts as bookings do.
    ///   - rules: The pre-trade rules' thresholds.
    public init(monitoringEnabled: Bool, rules: TradeCheckRules = TradeCheckRules(), sanctions: SanctionsRegistry) {
        orders = OrderService(checks: TradeCheckService(rules: rules, credit: CreditLineService()))
        monitoring = MonitoringService(enabled: monitoringEnabled)
        self.sanctions = sanctions
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/orders", as: TenantCall.self, feature: .institutional) { orders in
            orders.post(.tradesBook, use: submit)
            orders.get(.complianceRead, use: list)
            orders.get(":id", .complianceRead, use: order)
            orders.post(":id/approve", .complianceManage, use: approve)
            orders.post(":id/decline", .complianceManage, use: decline)
            orders.post(":id/fills", .tradesBook, use: fill)
            orders.post(":id/cancel", .tradesBook, use: cancel)
        }
    }

    @Sendable func submit(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let entered = try await submit(try request.decodeJSON(OrderDraft.self), for: call)
        // Refused by the check: 422 with the decision (the order is kept, so its id is spent).
        let status: HTTPStatus =
            entered.order.status == .rejected ? .unprocessableContent : entered.created ? .created : .ok
        return try .json(encoding: entered, status: status)
    }

    /// An order as entered, with its pre-trade check's decision (none when the client order id
    /// had already been used: the order is the one entered then).
    public struct EnteredOrder: Sendable, Encodable {
        public var order: Order
        public var decision: TradeDecision?
        public var created: Bool

        enum CodingKeys: CodingKey { case order, decision }
    }

    /// Enters `draft` behind the pre-trade check, screened against the sanctions lists: what
    /// the API's `POST /api/enterprise/orders` does, for the portal too.
    public func submit(_ draft: OrderDraft, for call: TenantCall) async throws -> EnteredOrder {
        let screener = sanctions.screener()
        let (order, decision, created) = try await call.scope.withTransaction { transaction in
            try await orders.submit(
                draft, actor: call.principal.actor, screener: screener, audit: call.audit, in: transaction)
        }
        return EnteredOrder(order: order, decision: decision, created: created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        guard let account = query["accountId"].flatMap(UUID.init(uuidString:)) else {
            throw HTTPProblem.badRequest("query 'accountId': the account whose orders to list", type: .invalidField)
        }
        let status = try query.value("status", as: Order.Status.self)
        let list = try await call.scope.withTransaction { try await orders.orders(of: account, status: status, in: $0) }
        return try .json(encoding: ["orders": list])
    }

    @Sendable func order(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.orderID()
        return try .json(encoding: try await call.scope.withTransaction { try await orders.order(id, in: $0) })
    }

    @Sendable func approve(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await decide(call, approve: true)
    }

    @Sendable func decline(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await decide(call, approve: false)
    }

    private func decide(_ call: TenantCall, approve: Bool) async throws -> HTTPResponse {
        try .json(encoding: try await decide(try call.orderID(), approve: approve, for: call))
    }

    /// A second person's decision on a held order (the one who entered it may not decide).
    public func decide(_ id: UUID, approve: Bool, for call: TenantCall) async throws -> Order {
        try await call.scope.withTransaction {
            try await orders.decide(id, approve: approve, actor: call.principal.actor, audit: call.audit, in: $0)
        }
    }

    public func order(_ id: UUID, for call: TenantCall) async throws -> Order {
        try await call.scope.withTransaction(readOnly: true) { try await orders.order(id, in: $0) }
    }

    /// An account's orders, newest first.
    public func orders(of account: UUID, for call: TenantCall) async throws -> [Order] {
        try await call.scope.withTransaction(readOnly: true) {
            try await orders.orders(of: account, status: nil, in: $0)
        }
    }

    @Sendable func fill(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.orderID()
        let execution = try request.decodeJSON(Execution.self)
        let filled = try await call.scope.withTransaction { transaction in
            try await Self.refuseIfWorkedByABroker(id, booking: true, in: transaction)
            return try await orders.fill(
                id, with: execution, audit: call.audit, monitoring: monitoring, in: transaction)
        }
        return try .json(encoding: filled, status: .created)
    }

    @Sendable func cancel(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.orderID()
        return try .json(
            encoding: try await call.scope.withTransaction { transaction in
                try await Self.refuseIfWorkedByABroker(id, booking: false, in: transaction)
                return try await orders.cancel(id, audit: call.audit, in: transaction)
            })
    }

    /// An order routed to a prime broker is worked there: booking a fill here would book it twice,
    /// cancelling it here would leave it working at the broker. Refused, naming the route to use.
    static func refuseIfWorkedByABroker(
        _ id: UUID, booking: Bool, in transaction: PostgresTransaction
    )
        async throws
    {
        guard let routed = try await BrokerOrderService().routing(ofOrder: id, in: transaction) else { return }
        let path = "/api/enterprise/tradfi/orders/\(routed.id.uuidString.lowercased())"
        throw ServiceError(
            .conflict,
            "order \(id.uuidString.lowercased()) is worked by a prime broker (\(path)): "
                + (booking
                    ? "its fills are booked from the broker's execution reports, not here"
                    : "cancel it with POST \(path)/cancel"))
    }
}

extension TenantCall {
    /// The order id from the path; a malformed one is "not found", like an unknown one.
    func orderID() throws -> UUID {
        try context.identifier("id", notFound: "no order with this id")
    }
}
