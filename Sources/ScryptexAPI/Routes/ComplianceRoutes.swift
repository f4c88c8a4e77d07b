public import Foundation
public import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTradFi

/// `/api/enterprise/compliance/…`, trade booking and transfers: pre-trade checks, screening,
/// monitoring alerts, the tenant's reference data, best execution and compliance status.
public struct ComplianceRoutes: RouteCollection {
    let checks: TradeCheckService
    let referenceData = ComplianceReferenceData()
    let monitoring: MonitoringService
    let sanctions: SanctionsRegistry

    /// - Parameters:
    ///   - monitoringEnabled: Whether bookings and transfers raise AML alerts
    ///     (`COMPLIANCE_MONITORING_ENABLED`).
    ///   - rules: The pre-trade rules' thresholds (`REFERENCE_PRICE_MAX_AGE` among them).
    public init(monitoringEnabled: Bool, rules: TradeCheckRules = TradeCheckRules(), sanctions: SanctionsRegistry) {
        checks = TradeCheckService(rules: rules, credit: CreditLineService())
        monitoring = MonitoringService(enabled: monitoringEnabled)
        self.sanctions = sanctions
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/compliance", as: TenantCall.self, feature: .compliance) { compliance in
            compliance.post("check-trade", .complianceCheck, use: checkTrade)
            compliance.post("screen", .complianceCheck, use: screen)
            compliance.get("sanctions-lists", .complianceRead, use: sanctionsLists)
            compliance.get("records/:id", .complianceRead, use: record)
            compliance.post("reference-prices", .complianceManage, use: setReferencePrice)
            compliance.post("fx-rates", .complianceManage, use: setFXRate)
            compliance.post("restricted-instruments", .complianceManage, use: restrictInstrument)
            compliance.get("alerts", .complianceRead, use: alerts)
            compliance.post("alerts/:id/:action", .complianceManage, use: actOnAlert)
        }
        routes.group(
            "/api/enterprise/accounts/:id/compliance", as: TenantCall.self, permission: .complianceRead,
            feature: .compliance
        ) { account in
            account.get("best-execution", use: bestExecution)
            account.get("status", use: status)
        }
        // Booking belongs to the institutional feature: a firm books without the compliance UI.
        routes.group("/api/enterprise", as: TenantCall.self, permission: .tradesBook, feature: .institutional) {
            trading in
            trading.post("trades", use: book)
            trading.patch("trades/:id", use: amend)
            trading.post("trades/:id/cancel", use: cancel)
            trading.post("accounts/:id/transfers", use: recordTransfer)
        }
    }

    @Sendable func checkTrade(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let (id, decision) = try await checkTrade(try request.decodeJSON(TradeCheckRequest.self), for: call)
        struct View: Encodable {
            var id: String
            var decision: TradeDecision
        }
        return try .json(encoding: View(id: id.uuidString.lowercased(), decision: decision))
    }

    /// Runs the pre-trade check of `trade` for the call's principal, recorded and audited; the
    /// partner portal's check page runs the same.
    public func checkTrade(_ trade: TradeCheckRequest, for call: TenantCall) async throws -> (UUID, TradeDecision) {
        let screener = sanctions.screener()
        return try await call.scope.withTransaction { transaction in
            try await checks.check(
                trade, screener: screener, audit: call.audit, actor: call.principal.actor, in: transaction)
        }
    }

    @Sendable func screen(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var name: String?
            var address: String?
            var threshold: Double?
        }
        let body = try request.decodeJSON(Body.self)
        guard body.name != nil || body.address != nil else {
            throw HTTPProblem.badRequest("send 'name', 'address' or both", type: .invalidField)
        }
        if let name = body.name, !(1...300).contains(name.count) {
            throw HTTPProblem.badRequest("field 'name': 1 to 300 characters", type: .invalidField)
        }
        let threshold = body.threshold ?? 0.88
        guard (0.5...1).contains(threshold) else {
            throw HTTPProblem.badRequest("field 'threshold': from 0.5 to 1", type: .invalidField)
        }
        let screener = sanctions.screener()
        var candidates: [ScreeningCandidate] = []
        if let name = body.name { candidates += screener.screen(name: name, threshold: threshold) }
        if let address = body.address { candidates += screener.screen(address: address) }
        try await call.scope.withTransaction { transaction in
            try await call.audit.record(
                "sanctions.screened", objectType: "screening", objectID: nil, accountID: nil,
                details: ["candidates": String(candidates.count), "threshold": String(threshold)], in: transaction)
        }
        struct View: Encodable {
            var candidates: [ScreeningCandidate]
            var listVersions: [String: UUID]
        }
        let versions = Dictionary(uniqueKeysWithValues: screener.versions.map { ($0.key.rawValue, $0.value) })
        return try .json(encoding: View(candidates: candidates, listVersions: versions))
    }

    @Sendable func sanctionsLists(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(encoding: ["versions": try await SanctionsStore().versions(on: call.services.pool)])
    }

    @Sendable func record(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no compliance record with this id")
        guard let record = try await call.scope.withTransaction({ try await referenceData.record(id, in: $0) }) else {
            throw HTTPProblem.notFound("no compliance record with this id")
        }
        return .json(record)
    }

    @Sendable func setReferencePrice(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var symbol: String
            var price: ExactDecimal
            /// When the price held (a quarter's closing price, say); default now.
            var asOf: Date?
        }
        let body = try request.decodeJSON(Body.self)
        try await call.scope.withTransaction {
            try await referenceData.setReferencePrice(
                body.price, of: body.symbol, asOf: body.asOf, audit: call.audit, in: $0)
        }
        return .noContent
    }

    @Sendable func setFXRate(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            /// The currency valued (EUR, BTC, USDC…).
            var currency: String
            /// What one unit was worth in US dollars.
            var usdPerUnit: ExactDecimal
            /// When the rate held; default now.
            var asOf: Date?
        }
        let body = try request.decodeJSON(Body.self)
        try await call.scope.withTransaction {
            try await referenceData.setFXRate(
                body.usdPerUnit, of: body.currency, asOf: body.asOf, audit: call.audit, in: $0)
        }
        return .noContent
    }

    @Sendable func restrictInstrument(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var symbol: String
            var reason: String
        }
        let body = try request.decodeJSON(Body.self)
        try await call.scope.withTransaction {
            try await referenceData.restrict(body.symbol, reason: body.reason, audit: call.audit, in: $0)
        }
        return .noContent
    }

    @Sendable func book(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var accountId: UUID
            var symbol: String
            var side: String
            var quantity: ExactDecimal
            var price: ExactDecimal
            var venue: String?
            var counterparty: String?
            var arrivalPrice: ExactDecimal?
            /// When it was executed (RFC 3339, fractions kept to the microsecond); default now.
            var executedAt: Date?
        }
        let body = try request.decodeJSON(Body.self)
        // What reports need of the trade sits beside its economics in the same object.
        let details = try request.decodeJSON(TradeReportingDetails.self)
        let trade = TradeCheckRequest(
            accountId: body.accountId, symbol: body.symbol, side: body.side, quantity: body.quantity,
            price: body.price, venue: body.venue, counterparty: body.counterparty)
        let (id, alerts) = try await call.scope.withTransaction { transaction in
            try await checks.book(
                trade, arrivalPrice: body.arrivalPrice, executedAt: body.executedAt, details: details,
                audit: call.audit,
                monitoring: monitoring, in: transaction)
        }
        struct Booked: Encodable {
            var id: String
            var alerts: [ComplianceAlert]
        }
        return try .json(encoding: Booked(id: id.uuidString.lowercased(), alerts: alerts), status: .created)
    }

    @Sendable func amend(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let tradeID = try call.context.identifier("id", notFound: "no trade with this id")
        struct Body: Decodable {
            var quantity: ExactDecimal?
            var price: ExactDecimal?
        }
        let body = try request.decodeJSON(Body.self)
        try await call.scope.withTransaction { transaction in
            try await checks.amend(
                tradeID, quantity: body.quantity, price: body.price, audit: call.audit, in: transaction)
        }
        return .noContent
    }

    @Sendable func cancel(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let tradeID = try call.context.identifier("id", notFound: "no trade with this id")
        struct Body: Decodable {
            var reason: String
            /// `bust` (erroneous, the default) or `termination` (ended early).
            var kind: String?
        }
        let body = try request.decodeJSON(Body.self)
        guard let kind = TradeCancellation(rawValue: body.kind ?? TradeCancellation.bust.rawValue) else {
            throw HTTPProblem.badRequest(
                "field 'kind': bust (erroneous) or termination (ended early), not '\(body.kind ?? "")'",
                type: .invalidField)
        }
        try await call.scope.withTransaction { transaction in
            try await checks.cancel(tradeID, reason: body.reason, kind: kind, audit: call.audit, in: transaction)
        }
        return .noContent
    }

    @Sendable func recordTransfer(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let accountID = try call.accountID()
        let transfer = try request.decodeJSON(Transfer.self)
        let screener = sanctions.screener()
        let (id, alerts) = try await call.scope.withTransaction { transaction in
            try await monitoring.record(
                transfer, for: accountID, screener: screener, audit: call.audit, in: transaction)
        }
        struct Recorded: Encodable {
            var id: String
            var alerts: [ComplianceAlert]
        }
        return try .json(encoding: Recorded(id: id.uuidString.lowercased(), alerts: alerts), status: .created)
    }

    @Sendable func alerts(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let status = QueryParameters(request)["status"]
        if let status, !["open", "assigned", "escalated", "closed"].contains(status) {
            throw HTTPProblem.badRequest("query 'status': open, assigned, escalated or closed", type: .invalidField)
        }
        let alerts = try await call.scope.withTransaction { try await monitoring.alerts(status: status, in: $0) }
        return try .json(encoding: ["alerts": alerts])
    }

    @Sendable func actOnAlert(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let alertID = try call.context.identifier("id", notFound: "no alert with this id")
        struct Body: Decodable {
            var assignee: String?
            var reason: String?
            var note: String?
        }
        let body = request.body.isEmpty ? Body() : try request.decodeJSON(Body.self)
        let action = try call.parameter("action")
        let alert = try await call.scope.withTransaction { transaction in
            try await monitoring.act(
                on: alertID, action: action, assignee: body.assignee, note: body.reason ?? body.note,
                audit: call.audit, in: transaction)
        }
        return try .json(encoding: alert)
    }

    @Sendable func bestExecution(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let accountID = try call.accountID()
        let query = QueryParameters(request)
        let until = try query.date("until") ?? Date()
        let from = try query.date("from") ?? until.addingTimeInterval(-90 * 86_400)
        let report = try await call.scope.withTransaction { transaction in
            try await BestExecutionService().report(of: accountID, from: from, until: until, in: transaction)
        }
        return try .json(encoding: report)
    }

    @Sendable func status(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let accountID = try call.accountID()
        let status = try await call.scope.withTransaction { transaction in
            try await ComplianceStatusService().status(of: accountID, in: transaction)
        }
        return try .json(encoding: status)
    }
}
