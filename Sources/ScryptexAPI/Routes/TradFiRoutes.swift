import Foundation
public import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
public import ScryptexTradFi

/// Traditional finance over the API (feature `tradfi`; docs/TRADFI.md): the tenant's FIX
/// sessions to its prime brokers, with where each stands and its sequence numbers.
public struct TradFiRoutes: RouteCollection {
    let service = BrokerSessionService()
    let orders: BrokerOrderService
    let credit = CreditLineService()
    let custody: CustodyService
    let settlement = SettlementService()
    let reconciliation = ReconciliationService()
    let sanctions: SanctionsRegistry

    /// - Parameters:
    ///   - rules: The pre-trade rules' thresholds (the same as the compliance order book's).
    ///   - sanctions: The lists the pre-trade check screens an order's parties and withdrawal
    ///     addresses against.
    ///   - custodians: The custodians withdrawals are sent to.
    public init(
        rules: TradeCheckRules = TradeCheckRules(), sanctions: SanctionsRegistry,
        custodians: Custodians = .development
    ) {
        orders = BrokerOrderService(orders: OrderService(checks: TradeCheckService(rules: rules, credit: credit)))
        custody = CustodyService(custodians: custodians)
        self.sanctions = sanctions
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiRead, feature: .tradfi) {
            tradfi in
            tradfi.get("broker-sessions", use: list)
            tradfi.get("broker-sessions/:id", use: show)
            tradfi.get("broker-sessions/:id/positions", use: positions)
            tradfi.get("broker-sessions/:id/collateral", use: collateral)
            tradfi.get("orders", use: listOrders)
            tradfi.get("orders/:id", use: showOrder)
            tradfi.get("credit-lines", use: listCreditLines)
            tradfi.get("credit-lines/:id", use: showCreditLine)
            tradfi.get("custody-accounts", use: listCustodyAccounts)
            tradfi.get("custody-accounts/:id", use: showCustodyAccount)
            tradfi.get("custody-accounts/:id/deposits", use: listDeposits)
            tradfi.get("withdrawals", use: listWithdrawals)
            tradfi.get("withdrawals/:id", use: showMovement)
            tradfi.get("settlements", use: listSettlements)
            tradfi.get("settlements/:id", use: showSettlement)
            tradfi.get("settlements/:id/pacs008", use: pacs008)
            tradfi.get("settlement-statements", use: settlementStatement)
            tradfi.get("settlement-accounts", use: listSettlementAccounts)
            tradfi.get("settlement-holidays", use: listHolidays)
            tradfi.get("reconciliations", use: listReconciliations)
            tradfi.get("reconciliations/:id", use: showReconciliation)
            tradfi.get("reconciliation-breaks", use: listBreaks)
        }
        routes.group("/api/enterprise/tradfi", as: TenantCall.self, permission: .tradfiManage, feature: .tradfi) {
            tradfi in
            tradfi.post("broker-sessions", use: create)
            tradfi.post("broker-sessions/:id/position-requests", use: requestPositions)
            tradfi.post("broker-sessions/:id/collateral-inquiries", use: inquireCollateral)
            tradfi.post("orders", use: submitOrder)
            tradfi.post("orders/:id/cancel", use: cancelOrder)
            tradfi.post("orders/:id/replace", use: replaceOrder)
            tradfi.post("credit-lines", use: openCreditLine)
            tradfi.patch("credit-lines/:id", use: changeCreditLine)
            tradfi.post("credit-lines/:id/margin-calls/:call/waive", use: waiveMarginCall)
            tradfi.post("custody-accounts", use: openCustodyAccount)
            tradfi.post("custody-accounts/:id/addresses", use: addAddress)
            tradfi.delete("custody-accounts/:id/addresses/:address", use: removeAddress)
            tradfi.post("custody-accounts/:id/deposits", use: requestDeposit)
            tradfi.post("custody-accounts/:id/deposits/:movement/approve", use: approveMovement)
            tradfi.post("custody-accounts/:id/deposits/:movement/reject", use: rejectMovement)
            tradfi.post("withdrawals", use: requestWithdrawal)
            tradfi.post("withdrawals/:id/approve", use: approveMovement)
            tradfi.post("withdrawals/:id/reject", use: rejectMovement)
            tradfi.post("settlements", use: instructSettlement)
            tradfi.post("settlements/:id/transitions", use: transitionSettlement)
            tradfi.post("settlement-notifications", use: applyNotification)
            tradfi.post("settlement-accounts", use: addSettlementAccount)
            tradfi.post("settlement-holidays", use: addHoliday)
            tradfi.post("reconciliations", use: reconcile)
            tradfi.post("reconciliation-breaks/:id/resolve", use: resolveBreak)
        }
    }

    // MARK: Reconciliation

    /// Reconciles a statement: 201 with the matches counted and every break.
    @Sendable func reconcile(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var source: String
            /// The CSV statement (broker_csv, custodian_csv).
            var statement: String?
            /// The statement's file name.
            var name: String?
            var custodian: String?
            var sessionId: UUID?
            var asOf: String?
        }
        try request.requireJSONBody(maximumDepth: 4)
        let body = try StrictJSON.decode(
            Body.self, from: request.body, fields: ["source", "statement", "name", "custodian", "sessionId", "asOf"],
            subject: "a reconciliation")
        guard let source = ReconciliationSource(rawValue: body.source) else {
            throw ServiceError(
                .invalidInput,
                "field 'source': one of \(ReconciliationSource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var asOf = PostgresDate(containing: Date())
        if let text = body.asOf {
            guard let date = PostgresDate(iso8601: text) else {
                throw ServiceError(.invalidInput, "field 'asOf': a date (YYYY-MM-DD)")
            }
            asOf = date
        }
        let done = try await call.scope.withTransaction {
            try await reconciliation.reconcile(
                source: source, sourceName: body.name ?? "statement", statement: body.statement,
                custodian: body.custodian, session: body.sessionId, asOf: asOf, actor: call.principal.actor,
                audit: call.audit, in: $0)
        }
        return try .json(encoding: done, status: .created)
    }

    @Sendable func listReconciliations(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "reconciliations": try await call.scope.withTransaction(readOnly: true) {
                    try await reconciliation.reconciliations(in: $0)
                }
            ])
    }

    @Sendable func showReconciliation(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no reconciliation with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await reconciliation.reconciliation(id, in: $0)
            })
    }

    /// The breaks report (`?status=open|resolved|superseded`), oldest first, each with its age.
    @Sendable func listBreaks(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let status = QueryParameters(request)["status"]
        return try .json(
            encoding: [
                "breaks": try await call.scope.withTransaction(readOnly: true) {
                    try await reconciliation.breaks(status: status, in: $0)
                }
            ])
    }

    @Sendable func resolveBreak(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no break with this id")
        struct Resolution: Decodable { var resolution: String }
        let resolution = try request.decodeJSON(Resolution.self)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await reconciliation.resolve(
                    id, resolution: resolution.resolution, actor: call.principal.actor, audit: call.audit, in: $0)
            })
    }

    // MARK: Settlement

    @Sendable func instructSettlement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
        let instruction = try SettlementRequest.decode(request.body)
        let (settled, created) = try await call.scope.withTransaction {
            try await settlement.instruct(instruction, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return try .json(encoding: settled, status: created ? .created : .ok)
    }

    @Sendable func transitionSettlement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no settlement with this id")
        struct Transition: Decodable {
            var to: String
            var reason: String?
        }
        let transition = try request.decodeJSON(Transition.self)
        guard let target = Settlement.Status(rawValue: transition.to) else {
            throw ServiceError(
                .invalidInput,
                "field 'to': one of \(Settlement.Status.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await settlement.transition(
                    id, to: target, reason: transition.reason, actor: call.principal.actor, audit: call.audit, in: $0)
            })
    }

    @Sendable func pacs008(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no settlement with this id")
        let document = try await call.scope.withTransaction { try await settlement.pacs008(id, in: $0) }
        return HTTPResponse(status: .ok, contentType: "application/xml", body: Array(document.utf8))
    }

    /// The bank's camt.054 (`application/xml`): 200 with what each booking came to.
    @Sendable func applyNotification(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let mediaType =
            request.headers.first("content-type")?.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        guard mediaType == "application/xml" || mediaType == "text/xml" else {
            throw HTTPProblem(
                .unsupportedMediaType, type: .unsupportedMediaType,
                detail: "the body must be a camt.054 sent as application/xml")
        }
        let outcomes = try await call.scope.withTransaction {
            try await settlement.apply(
                notification: Data(request.body), actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return try .json(encoding: ["bookings": outcomes])
    }

    @Sendable func listSettlements(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        let status = try query.value("status", as: Settlement.Status.self)
        return try .json(
            encoding: [
                "settlements": try await call.scope.withTransaction(readOnly: true) {
                    try await settlement.settlements(
                        status: status, counterparty: query["counterparty"], currency: query["currency"], in: $0)
                }
            ])
    }

    @Sendable func showSettlement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no settlement with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await settlement.settlement(id, in: $0)
            })
    }

    @Sendable func settlementStatement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        guard let from = query["from"].flatMap({ PostgresDate(iso8601: $0) }) else {
            throw ServiceError(.invalidInput, "query 'from': a date (YYYY-MM-DD)")
        }
        guard let to = query["to"].flatMap({ PostgresDate(iso8601: $0) }) else {
            throw ServiceError(.invalidInput, "query 'to': a date (YYYY-MM-DD)")
        }
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await settlement.statement(from: from, to: to, counterparty: query["counterparty"], in: $0)
            })
    }

    @Sendable func listSettlementAccounts(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "settlementAccounts": try await call.scope.withTransaction(readOnly: true) {
                    try await settlement.accounts(in: $0)
                }
            ])
    }

    @Sendable func addSettlementAccount(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
        let definition = try SettlementAccountDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await settlement.addAccount(definition, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .created)
    }

    @Sendable func listHolidays(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "holidays": try await call.scope.withTransaction(readOnly: true) {
                    try await settlement.holidays(in: $0)
                }
            ])
    }

    @Sendable func addHoliday(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Holiday: Decodable {
            var currency: String
            var day: String
            var name: String
        }
        let holiday = try request.decodeJSON(Holiday.self)
        try await call.scope.withTransaction {
            try await settlement.addHoliday(
                currency: holiday.currency, day: holiday.day, name: holiday.name, actor: call.principal.actor,
                audit: call.audit, in: $0)
        }
        return HTTPResponse(status: .noContent)
    }

    // MARK: Custody

    @Sendable func listCustodyAccounts(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: [
                "custodyAccounts": try await call.scope.withTransaction(readOnly: true) {
                    try await custody.accounts(in: $0)
                }
            ])
    }

    @Sendable func showCustodyAccount(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no custody account with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await custody.account(id, in: $0) })
    }

    @Sendable func openCustodyAccount(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
        let definition = try CustodyAccountDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await custody.open(definition, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .created)
    }

    /// A refusal by the sanctions screening: 422 with the matches (the alert it raised is kept).
    static func refused(_ refusal: SanctionsRefusal) throws -> HTTPResponse {
        try .json(encoding: ["refused": refusal], status: .unprocessableContent)
    }

    @Sendable func addAddress(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no custody account with this id")
        try request.requireJSONBody()
        let definition = try WithdrawalAddressDefinition.decode(request.body)
        let screener = sanctions.screener()
        let result = try await call.scope.withTransaction {
            try await custody.addAddress(
                definition, to: id, screener: screener, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        switch result {
        case .success(let address): return try .json(encoding: address, status: .created)
        case .failure(let refusal): return try Self.refused(refusal)
        }
    }

    @Sendable func removeAddress(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no custody account with this id")
        let address = try call.context.identifier("address", notFound: "no address with this id")
        try await call.scope.withTransaction {
            try await custody.removeAddress(address, from: id, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return HTTPResponse(status: .noContent)
    }

    @Sendable func requestDeposit(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no custody account with this id")
        try request.requireJSONBody()
        let deposit = try CustodyMovementRequest.decodeDeposit(request.body)
        let (movement, created) = try await call.scope.withTransaction {
            try await custody.requestDeposit(
                deposit, into: id, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return try .json(encoding: movement, status: created ? .created : .ok)
    }

    @Sendable func requestWithdrawal(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try request.requireJSONBody()
        let withdrawal = try CustodyMovementRequest.decodeWithdrawal(request.body)
        let screener = sanctions.screener()
        let result = try await call.scope.withTransaction {
            try await custody.requestWithdrawal(
                withdrawal, screener: screener, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        switch result {
        case .success(let (movement, created)): return try .json(encoding: movement, status: created ? .created : .ok)
        case .failure(let refusal): return try Self.refused(refusal)
        }
    }

    /// A second person approves: a deposit is credited; a withdrawal, screened once more, is sent
    /// to the custodian once approved (the answer shows it completed or failed).
    @Sendable func approveMovement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try await movementOfPath(call)
        let screener = sanctions.screener()
        let result = try await call.scope.withTransaction {
            try await custody.approve(id, screener: screener, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        switch result {
        case .success(let movement) where movement.status == .approved:
            let sent = try await custody.send([id], scope: call.scope, audit: call.audit)
            return try .json(encoding: sent.first ?? movement)
        case .success(let movement): return try .json(encoding: movement)
        case .failure(let refusal): return try Self.refused(refusal)
        }
    }

    @Sendable func rejectMovement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try await movementOfPath(call)
        struct Rejection: Decodable { var reason: String }
        let rejection = try request.decodeJSON(Rejection.self)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await custody.reject(
                    id, reason: rejection.reason, actor: call.principal.actor, audit: call.audit, in: $0)
            })
    }

    /// The movement a path names: a deposit of the custody account in the path
    /// (`custody-accounts/:id/deposits/:movement/…`) or a withdrawal (`withdrawals/:id/…`).
    private func movementOfPath(_ call: TenantCall) async throws -> UUID {
        let deposit = (try? call.context.parameter("movement")) != nil
        let kind = deposit ? "deposit" : "withdrawal"
        let custodyAccount =
            deposit ? try call.context.identifier("id", notFound: "no custody account with this id") : nil
        let id = try call.context.identifier(deposit ? "movement" : "id", notFound: "no \(kind) with this id")
        let movement = try await call.scope.withTransaction(readOnly: true) { try await custody.movement(id, in: $0) }
        guard movement.kind == kind, custodyAccount.map({ $0 == movement.custodyAccountId }) ?? true else {
            throw ServiceError(.notFound, "no \(kind) with this id here")
        }
        return id
    }

    @Sendable func showMovement(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no withdrawal with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await custody.movement(id, in: $0) })
    }

    @Sendable func listDeposits(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no custody account with this id")
        return try await movements(kind: "deposit", custodyAccount: id, request, call)
    }

    @Sendable func listWithdrawals(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try QueryParameters(request).uuid("custodyAccountId")
        return try await movements(kind: "withdrawal", custodyAccount: account, request, call)
    }

    private func movements(
        kind: String, custodyAccount: UUID?, _ request: HTTPRequest, _ call: TenantCall
    ) async throws -> HTTPResponse {
        let status = try QueryParameters(request).value("status", as: CustodyMovement.Status.self)
        return try .json(
            encoding: [
                kind + "s": try await call.scope.withTransaction(readOnly: true) {
                    try await custody.movements(kind: kind, custodyAccount: custodyAccount, status: status, in: $0)
                }
            ])
    }

    // MARK: Credit lines

    @Sendable func listCreditLines(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try QueryParameters(request).uuid("accountId")
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

    /// Asks the session's broker for the collateral it holds (CollateralInquiry): 202.
    @Sendable func inquireCollateral(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no broker session with this id")
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await BrokerCollateralService().inquire(
                    session: id, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .accepted)
    }

    @Sendable func collateral(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no broker session with this id")
        return try .json(
            encoding: [
                "collateral": try await call.scope.withTransaction(readOnly: true) {
                    try await BrokerCollateralService().collateral(session: id, in: $0)
                }
            ])
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

    /// Asks the broker to replace a working order with a new quantity or limit: 202 with the
    /// order and the check's decision on the new terms; refused by the check: 422 (nothing sent).
    @Sendable func replaceOrder(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no routed order with this id")
        try request.requireJSONBody()
        let replacement = try StrictJSON.decode(
            BrokerOrderReplacement.self, from: request.body, fields: ["quantity", "price"], subject: "a replacement")
        let screener = sanctions.screener()
        let (routed, decision) = try await call.scope.withTransaction {
            try await orders.requestReplace(
                id, replacement, actor: call.principal.actor, screener: screener, audit: call.audit, in: $0)
        }
        struct Replaced: Encodable {
            var routed: RoutedOrder
            var decision: TradeDecision
        }
        return try .json(
            encoding: Replaced(routed: routed, decision: decision),
            status: decision.decision == .approved ? .accepted : .unprocessableContent)
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
        let session = try query.uuid("sessionId")
        let status = try query.value("status", as: RoutedOrder.Status.self)
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
