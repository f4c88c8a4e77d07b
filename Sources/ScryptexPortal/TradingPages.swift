import Foundation
import ScryptexAPI
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexTemplates

/// An account's orders on its page: entered through the pre-trade check (the API's own order
/// entry), held ones approved or declined by a second person.
extension PortalRoutes {
    func orderValues(of account: UUID, call: TenantCall) async throws -> [TemplateValue] {
        let formatter = ISO8601DateFormatter()
        return try await operations.orders.orders(of: account, for: call).prefix(100).map { order in
            [
                "id": .string(order.id.uuidString.lowercased()), "clientOrderId": .string(order.clientOrderId),
                "enteredAt": .string(formatter.string(from: order.createdAt)), "symbol": .string(order.symbol),
                "side": .string(order.side), "type": .string(order.type),
                "quantity": .string(order.quantity.description),
                "limitPrice": order.limitPrice.map { .string($0.description) } ?? .null,
                "filled": .string(order.filledQuantity.description), "status": .string(order.status.rawValue),
                "held": .bool(order.status == .held), "submittedBy": .string(order.submittedBy),
            ]
        }
    }

    /// Enters an order for the account in the address. The form carries a client order id made
    /// when the page was drawn, so a form sent twice enters one order.
    func submitOrder(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let id = try accountID(call)
        return try await submitting(
            {
                guard let quantity = try form.decimal("quantity", example: "1.5") else {
                    throw ServiceError(.invalidInput, "field 'quantity': a decimal number such as 1.5")
                }
                let draft = OrderDraft(
                    accountId: id, clientOrderId: form["clientOrderId"] ?? "", symbol: form["symbol"] ?? "",
                    side: form["side"] ?? "", type: form["type"], quantity: quantity,
                    price: try form.decimal("price", example: "64250.00"), timeInForce: form["timeInForce"],
                    venue: form["venue"])
                let entered = try await operations.orders.submit(draft, for: call)
                let order = entered.order
                var notice = "Order \(order.clientOrderId) (\(order.side) \(order.quantity) \(order.symbol)): "
                notice += order.status.rawValue
                if !entered.created { notice += " (entered before with this id: nothing new was entered)" }
                if let decision = entered.decision {
                    notice += ", notional \(decision.notional)"
                    let reasons = decision.rules.filter { $0.outcome != .pass }.map { "\($0.rule): \($0.reason)" }
                    if !reasons.isEmpty { notice += ". " + reasons.joined(separator: "; ") }
                }
                return try await accountDetail(
                    call, id: id, notice: notice, status: order.status == .rejected ? .unprocessableContent : .ok)
            },
            refused: { message, status in try await accountDetail(call, id: id, error: message, status: status) })
    }

    func approveOrder(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        try await decideOrder(call, approve: true)
    }

    func declineOrder(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        try await decideOrder(call, approve: false)
    }

    func decideOrder(_ call: TenantCall, approve: Bool) async throws -> HTTPResponse {
        let order = try call.context.identifier("orderId", notFound: "no order with this id")
        return try await onAccount(call, anchor: "#orders") { account in
            // Decided only from its own account's page.
            guard try await operations.orders.order(order, for: call).accountId == account else {
                throw ServiceError(.notFound, "no order with this id on this account")
            }
            _ = try await operations.orders.decide(order, approve: approve, for: call)
        }
    }
}
