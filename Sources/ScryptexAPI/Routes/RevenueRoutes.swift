import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
public import ScryptexRevenue
public import ScryptexTemplates
import ScryptexTenancy
public import ScryptexWhiteLabel

/// The revenue-share ledger: fee-event ingestion, period close, payouts and reconciliation for
/// platform admins; revenue, statements and payouts readable by the partner's owner and admins
/// on its own domain and by platform admins. `WHITE_LABEL_ENABLED=false` closes it with 403.
public struct RevenueRoutes: RouteCollection {
    let instances: WhiteLabelInstances
    let identity: IdentityService
    let templates: TemplateLibrary
    let enabled: HostSwitch

    /// - Parameter enabled: `WHITE_LABEL_ENABLED`.
    public init(instances: WhiteLabelInstances, templates: TemplateLibrary, enabled: Bool, services: APIServices) {
        self.instances = instances
        identity = services.identity
        self.templates = templates
        self.enabled = WhiteLabelRoutes.hostSwitch(enabled)
    }

    var pool: PostgresConnectionPool { identity.pool }

    /// `WHITE_LABEL_ENABLED`, for the console's revenue page.
    public var hostSwitch: HostSwitch { enabled }

    /// Revenue across partners: each partner's closed months, shares and payouts, and the totals
    /// per currency.
    public func platformRevenue() async throws -> PlatformRevenue {
        try await pool.withTransaction(readOnly: true) { try await RevenueReporting().platform(in: $0) }
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group(WhiteLabelRoutes.base, as: AdminCall.self, enabledBy: enabled) { ledger in
            // Fee events from the platform's trading and billing systems.
            ledger.post("fee-events", use: ingestFeeEvents)
            ledger.post("periods/:month/close", use: closePeriod)
            ledger.get("reconciliation", use: reconciliation)
            ledger.post(":id/payouts", use: createPayout)
            ledger.patch("payouts/:payout", use: movePayout)
        }
        routes.group(
            WhiteLabelRoutes.base, as: PartnerCall.self, permission: .revenueRead, feature: .whiteLabel,
            enabledBy: enabled
        ) { partner in
            partner.get(":id/revenue", use: revenue)
            partner.get(":id/statements/:month", use: statement)
            partner.get(":id/payouts", use: payouts)
        }
    }

    @Sendable func ingestFeeEvents(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            struct Event: Decodable {
                var partner: String
                var idempotencyKey: String
                var product: String
                var amount: ExactDecimal
                var currency: String
                var volume: ExactDecimal?
                var occurredAt: String
            }
            var events: [Event]
        }
        let body = try request.decodeJSON(Body.self)
        guard (1...5_000).contains(body.events.count) else {
            throw HTTPProblem.badRequest("field 'events': 1 to 5,000 events per request", type: .invalidField)
        }
        var partners: [String: UUID] = [:]
        var events: [PartnerFeeEvent] = []
        for (index, event) in body.events.enumerated() {
            guard let occurredAt = Timestamp.parse(event.occurredAt) else {
                throw HTTPProblem.badRequest(
                    "field 'events[\(index)].occurredAt': an ISO 8601 time such as 2026-11-02T10:00:00Z",
                    type: .invalidField)
            }
            let partner: UUID
            if let known = partners[event.partner] {
                partner = known
            } else {
                guard let found = try? await instances.find(event.partner) else {
                    throw HTTPProblem.badRequest(
                        "field 'events[\(index)].partner': unknown or deleted partner '\(event.partner)'",
                        type: .invalidField)
                }
                partner = found.tenant
                partners[event.partner] = partner
            }
            events.append(
                PartnerFeeEvent(
                    partner: partner,
                    event: FeeEvent(
                        idempotencyKey: event.idempotencyKey, product: event.product, amount: event.amount,
                        currency: event.currency, volume: event.volume, occurredAt: occurredAt)))
        }
        let summary = try await pool.withTransaction { try await FeeEventIngestion().ingest(events, in: $0) }
        return try .json(encoding: summary)
    }

    @Sendable func closePeriod(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let month = try call.parameter("month")
        if let reference = QueryParameters(request)["partner"] {
            let partner = try await instances.find(reference)
            let statement = try await pool.withTransaction {
                try await PeriodClose().close(partner: partner.tenant, month: month, in: $0)
            }
            return try .json(encoding: statement)
        }
        let results = try await PeriodClose().closeAll(month: month, on: pool)
        return try .json(encoding: [
            "closed": results.filter { $0.outcome == "closed" }, "failed": results.filter { $0.outcome != "closed" },
        ])
    }

    @Sendable func reconciliation(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        var partner: UUID?
        if let reference = query["partner"] { partner = try await instances.find(reference).tenant }
        let report = try await pool.withTransaction {
            try await Reconciliation().report(period: query["period"], partner: partner, in: $0)
        }
        return try .json(encoding: report)
    }

    @Sendable func createPayout(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var amount: ExactDecimal
            var currency: String
            var reference: String?
        }
        let body = try request.decodeJSON(Body.self)
        let partner = try await instances.find(try call.parameter("id"))
        let currency = try Currency(body.currency)
        let payout = try await pool.withTransaction { transaction in
            let payout = try await PayoutService().create(
                partner: partner.tenant, amount: body.amount, currency: currency, reference: body.reference,
                createdBy: call.admin.actor, in: transaction)
            try await call.recordPayout(payout, in: transaction)
            return payout
        }
        return try .json(encoding: payout, status: .created)
    }

    @Sendable func movePayout(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var status: String
            var reason: String?
        }
        let body = try request.decodeJSON(Body.self)
        guard let status = Payout.Status(rawValue: body.status) else {
            throw HTTPProblem.badRequest(
                "field 'status': one of \(Payout.Status.allCases.map(\.rawValue).joined(separator: ", "))",
                type: .invalidField)
        }
        let reference = try call.parameter("payout")
        guard let id = UUID(uuidString: reference) else { throw HTTPProblem.notFound("no payout '\(reference)'") }
        let payout = try await pool.withTransaction { transaction in
            let payout = try await PayoutService().move(id, to: status, reason: body.reason, in: transaction)
            try await call.recordPayout(payout, in: transaction)
            return payout
        }
        return try .json(encoding: payout)
    }

    @Sendable func revenue(_ request: HTTPRequest, _ call: PartnerCall) async throws -> HTTPResponse {
        let reference = try call.parameter("id")
        if reference == "all" {
            guard case .platformAdmin = call else { throw HTTPProblem.notFound() }
            return try .json(encoding: try await platformRevenue())
        }
        let partner = try await self.partner(reference, call)
        guard let tenant = try await TenantRegistry().tenant(id: partner.tenant, from: pool) else {
            throw HTTPProblem.notFound("no white-label instance '\(partner.slug)'")
        }
        let activeUsers = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
            try await identity.activeUserCount(in: $0)
        }
        let report = try await pool.withTransaction {
            try await RevenueReporting().partner(partner.tenant, activeUsers: activeUsers, in: $0)
        }
        return try .json(encoding: report)
    }

    /// The calling partner's own revenue (periods, shares, payouts) and the slug its statements
    /// are addressed by; the partner portal's revenue page shows the same.
    public func partnerRevenue(for call: TenantCall) async throws -> (PartnerRevenue, slug: String) {
        guard enabled.isOn else { throw HTTPProblem(.forbidden, type: .featureDisabled, detail: enabled.detail) }
        let partner = try await instances.find(call.tenant.slug.value)
        guard partner.tenant == call.tenant.id else { throw HTTPProblem.notFound("no white-label instance here") }
        let activeUsers = try await call.scope.withTransaction { try await identity.activeUserCount(in: $0) }
        let report = try await pool.withTransaction {
            try await RevenueReporting().partner(partner.tenant, activeUsers: activeUsers, in: $0)
        }
        return (report, partner.slug)
    }

    @Sendable func statement(_ request: HTTPRequest, _ call: PartnerCall) async throws -> HTTPResponse {
        let partner = try await self.partner(try call.parameter("id"), call)
        let month = try call.parameter("month")
        guard
            let (statement, closedAt) = try await RevenueReporting().closedStatement(
                of: partner.tenant, for: month, from: pool)
        else { throw HTTPProblem.notFound("no closed statement for \(month)") }
        switch StatementFormat(request) {
        case .json:
            return try .json(encoding: statement)
        case .csv:
            var response = HTTPResponse(
                status: .ok, contentType: "text/csv; charset=utf-8", body: Array(statement.csv.utf8))
            response.headers.add(
                name: "Content-Disposition", value: "attachment; filename=\"statement-\(partner.slug)-\(month).csv\"")
            return response
        case .html:
            return HTTPResponse(
                status: .ok, contentType: "text/html; charset=utf-8",
                body: Array(try await printable(statement, closedAt: closedAt, partner: partner).utf8))
        }
    }

    /// The statement as a printable page in the partner's branding.
    private func printable(
        _ statement: RevenueStatement, closedAt: Date?, partner: WhiteLabelRecord
    ) async throws -> String {
        let branding = try await TenantBranding.load(for: partner.tenant, from: pool)
        let summary = try await TenantRegistry().summary(of: try TenantSlug(partner.slug), from: pool)
        let displayName = summary?.displayName ?? partner.slug
        let value = TemplateValue.object([
            "statement": try TemplateValue(encoding: statement),
            "products": .list(
                statement.revenueByProduct.sorted { $0.key < $1.key }.map {
                    ["product": .string($0.key), "revenue": .string($0.value)]
                }),
            "closedAt": .string(closedAt.map { Timestamp.format($0) } ?? ""),
            "partner": [
                "displayName": .string(displayName), "legalName": summary?.legalName.map { .string($0) } ?? .null,
            ],
            "branding": TenantBranding.templateValue(branding, displayName: displayName),
        ])
        return try templates.render("statement", value)
    }

    @Sendable func payouts(_ request: HTTPRequest, _ call: PartnerCall) async throws -> HTTPResponse {
        let partner = try await self.partner(try call.parameter("id"), call)
        let payouts = try await pool.withTransaction { try await PayoutService().list(partner: partner.tenant, in: $0) }
        return try .json(encoding: ["payouts": payouts])
    }

    /// The instance a partner route is about: any for a platform admin; on a tenant's domain only
    /// the tenant's own (others are 404, as if they did not exist).
    private func partner(_ reference: String, _ call: PartnerCall) async throws -> WhiteLabelRecord {
        let partner = try await instances.find(reference)
        if let tenant = call.tenant, tenant.id != partner.tenant {
            throw HTTPProblem.notFound("no white-label instance '\(reference)'")
        }
        return partner
    }

    enum StatementFormat {
        case json, csv, html

        /// `?format=` first, then the Accept header; JSON by default.
        init(_ request: HTTPRequest) {
            let accept = request.headers.first("accept") ?? ""
            switch QueryParameters(request)["format"] {
            case "csv": self = .csv
            case "html": self = .html
            case "json": self = .json
            default: self = accept.contains("text/html") ? .html : accept.contains("text/csv") ? .csv : .json
            }
        }
    }
}

extension AdminCall {
    /// Records a payout's creation or move in the control plane's trail, as this admin.
    func recordPayout(_ payout: Payout, in transaction: PostgresTransaction) async throws {
        try await AuditTrail(schema: PlatformSchema.name).append(
            AuditEvent(
                actor: admin.actor, action: "revenue.payout.\(payout.status.rawValue)", objectType: "payout",
                objectID: payout.id.uuidString.lowercased(), requestID: requestID,
                details: ["amount": payout.amount, "currency": payout.currency]),
            in: transaction)
    }
}
