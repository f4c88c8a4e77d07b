import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTemplates
import ScryptexTenancy
import ScryptexWhiteLabel

/// White-label instances (platform admins, on the platform domain) and the revenue-share
/// ledger: fee-event ingestion, period close, plans, payouts and reconciliation for platform
/// admins; revenue, statements and payouts readable by the partner's owner and admins on its own
/// domain and by platform admins. `WHITE_LABEL_ENABLED=false` closes all of it with 403.
enum WhiteLabelRoutes {
    static let base = "/api/enterprise/white-label"

    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        let keyring = services.identity.keyring
        let instances = WhiteLabelInstances(
            pool: services.pool, identity: services.identity,
            options: .init(
                platformDomain: services.configuration.platformDomain, tenantSchema: SchemaPlans.tenant,
                defaultRevenueSharePercent: services.configuration.partnerRevenueShareDefault),
            logger: services.logger
        ) { tenant, actor, requestID, transaction in
            try await TenantIdentitySetUp.setUp(
                tenant, keyring: keyring, actor: actor, requestID: requestID, in: transaction)
        }
        let partnerRead = RouteAccess.partnerOrPlatformAdmin(.revenueRead)

        routes.add(.post, base + "/instances", .platformAdmin) { request, context in
            try requireEnabled(services)
            let admin = try IdentityRoutes.principalOf(context)
            let body = try request.decodeJSON(WhiteLabelInstances.CreateRequest.self)
            let (view, ownerKey) = try await instances.create(body, admin: admin, requestID: context.requestID)
            struct Created: Encodable {
                var instance: WhiteLabelInstanceView
                var ownerKey: String
            }
            return try JSONResponse.encode(Created(instance: view, ownerKey: ownerKey), status: .created)
        }
        routes.add(.get, base + "/instances", .platformAdmin) { _, _ in
            try requireEnabled(services)
            return try JSONResponse.encode(["instances": try await instances.list()])
        }
        routes.add(.get, base + "/instances/:id", .platformAdmin) { _, context in
            try requireEnabled(services)
            return try JSONResponse.encode(
                try await instances.view(try await instances.find(try context.parameter("id")).slug))
        }
        routes.add(.patch, base + "/instances/:id", .platformAdmin) { request, context in
            try requireEnabled(services)
            let admin = try IdentityRoutes.principalOf(context)
            let body = try request.decodeJSON(WhiteLabelInstances.UpdateRequest.self)
            return try JSONResponse.encode(
                try await instances.update(
                    try context.parameter("id"), body, admin: admin, requestID: context.requestID))
        }

        // Fee events from the platform's trading and billing systems.
        routes.add(.post, base + "/fee-events", .platformAdmin) { request, _ in
            try requireEnabled(services)
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
                if partners[event.partner] == nil {
                    guard let partner = try? await instances.find(event.partner) else {
                        throw HTTPProblem.badRequest(
                            "field 'events[\(index)].partner': unknown or deleted partner '\(event.partner)'",
                            type: .invalidField)
                    }
                    partners[event.partner] = partner.tenant
                }
                events.append(
                    PartnerFeeEvent(
                        partner: partners[event.partner]!,
                        event: FeeEvent(
                            idempotencyKey: event.idempotencyKey, product: event.product, amount: event.amount,
                            currency: event.currency, volume: event.volume, occurredAt: occurredAt)))
            }
            let summary = try await services.pool.withTransaction {
                try await FeeEventIngestion().ingest(events, in: $0)
            }
            return try JSONResponse.encode(summary)
        }
        routes.add(.post, base + "/periods/:month/close", .platformAdmin) { request, context in
            try requireEnabled(services)
            let month = try context.parameter("month")
            if let reference = QueryParameters(request.query)["partner"] {
                let partner = try await instances.find(reference)
                let statement = try await services.pool.withTransaction {
                    try await PeriodClose().close(partner: partner.tenant, month: month, in: $0)
                }
                return try JSONResponse.encode(statement)
            }
            let results = try await PeriodClose().closeAll(month: month, on: services.pool)
            return try JSONResponse.encode([
                "closed": results.filter { $0.outcome == "closed" },
                "failed": results.filter { $0.outcome != "closed" },
            ])
        }
        routes.add(.get, base + "/reconciliation", .platformAdmin) { request, _ in
            try requireEnabled(services)
            let query = QueryParameters(request.query)
            var partner: UUID?
            if let reference = query["partner"] { partner = try await instances.find(reference).tenant }
            let report = try await services.pool.withTransaction {
                try await Reconciliation().report(period: query["period"], partner: partner, in: $0)
            }
            return try JSONResponse.encode(report)
        }
        routes.add(.post, base + "/:id/plans", .platformAdmin) { request, context in
            try requireEnabled(services)
            let admin = try IdentityRoutes.principalOf(context)
            let body = try request.decodeJSON(WhiteLabelInstanceView.RevenueShareVersion.self)
            let view = try await instances.update(
                try context.parameter("id"), .init(revenueShare: body), admin: admin, requestID: context.requestID)
            return try JSONResponse.encode(view, status: .created)
        }
        routes.add(.post, base + "/:id/payouts", .platformAdmin) { request, context in
            try requireEnabled(services)
            let admin = try IdentityRoutes.principalOf(context)
            struct Body: Decodable {
                var amount: ExactDecimal
                var currency: String
                var reference: String?
            }
            let body = try request.decodeJSON(Body.self)
            let partner = try await instances.find(try context.parameter("id"))
            let currency = try Currency(body.currency)
            let payout = try await services.pool.withTransaction { transaction in
                let payout = try await PayoutService().create(
                    partner: partner.tenant, amount: body.amount, currency: currency, reference: body.reference,
                    createdBy: admin.actor, in: transaction)
                try await auditPayout(payout, admin: admin, requestID: context.requestID, in: transaction)
                return payout
            }
            return try JSONResponse.encode(payout, status: .created)
        }
        routes.add(.patch, base + "/payouts/:payout", .platformAdmin) { request, context in
            try requireEnabled(services)
            let admin = try IdentityRoutes.principalOf(context)
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
            guard let id = UUID(uuidString: try context.parameter("payout")) else {
                throw HTTPProblem.notFound("no payout '\(try context.parameter("payout"))'")
            }
            let payout = try await services.pool.withTransaction { transaction in
                let payout = try await PayoutService().move(id, to: status, reason: body.reason, in: transaction)
                try await auditPayout(payout, admin: admin, requestID: context.requestID, in: transaction)
                return payout
            }
            return try JSONResponse.encode(payout)
        }

        // Readable by the partner (owner, admin) on its own domain and by platform admins.
        routes.add(.get, base + "/:id/revenue", partnerRead, feature: .whiteLabel) { _, context in
            try requireEnabled(services)
            let reference = try context.parameter("id")
            if reference == "all" {
                guard context[TenantKey.self] == nil else { throw HTTPProblem.notFound() }
                return try JSONResponse.encode(
                    try await services.pool.withTransaction { try await RevenueReporting().platform(in: $0) })
            }
            let partner = try await partner(reference, context: context, instances: instances)
            let tenant = try await tenantOf(partner, services: services)
            let activeUsers = try await TenantScope(tenant: tenant, pool: services.pool).withTransaction {
                transaction in
                try await transaction.query(
                    """
                    SELECT (SELECT count(DISTINCT user_id) FROM sessions WHERE last_seen_at > now() - interval '30 days')
                         + (SELECT count(*) FROM api_keys WHERE last_used_at > now() - interval '30 days') AS n
                    """
                ).firstRow.decode("n", as: Int.self)
            }
            let report = try await services.pool.withTransaction {
                try await RevenueReporting().partner(partner.tenant, activeUsers: activeUsers, in: $0)
            }
            return try JSONResponse.encode(report)
        }
        routes.add(.get, base + "/:id/statements/:month", partnerRead, feature: .whiteLabel) { request, context in
            try requireEnabled(services)
            let partner = try await partner(try context.parameter("id"), context: context, instances: instances)
            let month = try context.parameter("month")
            guard
                let (statement, closedAt) = try await RevenueReporting().closedStatement(
                    of: partner.tenant, for: month, from: services.pool)
            else { throw HTTPProblem.notFound("no closed statement for \(month)") }
            switch StatementFormat(request) {
            case .json:
                return try JSONResponse.encode(statement)
            case .csv:
                var response = HTTPResponse(
                    status: .ok, contentType: "text/csv; charset=utf-8", body: Array(statement.csv.utf8))
                response.headers.add(
                    name: "Content-Disposition",
                    value: "attachment; filename=\"statement-\(partner.slug)-\(month).csv\"")
                return response
            case .html:
                let branding = try await TenantBranding.load(for: partner.tenant, from: services.pool)
                let summary = try await TenantRegistry().summary(of: try TenantSlug(partner.slug), from: services.pool)
                let displayName = summary?.displayName ?? partner.slug
                let productName = branding?.productName ?? displayName
                let value = TemplateValue.object([
                    "statement": try TemplateValue(encoding: statement),
                    "products": .list(
                        statement.revenueByProduct.sorted { $0.key < $1.key }.map {
                            ["product": .string($0.key), "revenue": .string($0.value)]
                        }),
                    "closedAt": .string(closedAt.map { Timestamp.format($0) } ?? ""),
                    "partner": [
                        "displayName": .string(displayName),
                        "legalName": summary?.legalName.map { .string($0) } ?? .null,
                    ],
                    "branding": [
                        "productName": .string(productName),
                        "logoURL": branding?.logoURL.map { .string($0) } ?? .null,
                        "legalFooter": branding?.legalFooter.map { .string($0) } ?? .null,
                        "colors": .object((branding?.colors ?? [:]).mapValues { .string($0) }),
                    ],
                ])
                return HTTPResponse(
                    status: .ok, contentType: "text/html; charset=utf-8",
                    body: Array(try services.templates.render("statement", value).utf8))
            }
        }
        routes.add(.get, base + "/:id/payouts", partnerRead, feature: .whiteLabel) { _, context in
            try requireEnabled(services)
            let partner = try await partner(try context.parameter("id"), context: context, instances: instances)
            let payouts = try await services.pool.withTransaction {
                try await PayoutService().list(partner: partner.tenant, in: $0)
            }
            return try JSONResponse.encode(["payouts": payouts])
        }
    }

    enum StatementFormat {
        case json, csv, html

        /// `?format=` first, then the Accept header; JSON by default.
        init(_ request: HTTPRequest) {
            let accept = request.headers.first("accept") ?? ""
            switch QueryParameters(request.query)["format"] {
            case "csv": self = .csv
            case "html": self = .html
            case "json": self = .json
            default:
                self = accept.contains("text/html") ? .html : accept.contains("text/csv") ? .csv : .json
            }
        }
    }

    static func requireEnabled(_ services: RouteServices) throws {
        guard services.configuration.whiteLabelEnabled else {
            throw HTTPProblem(
                .forbidden, type: .featureDisabled,
                detail: "the white-label API is turned off on this platform (WHITE_LABEL_ENABLED=false)")
        }
    }

    /// The instance a partner route is about: any for a platform admin; on a tenant's domain
    /// only the tenant's own (others are 404, as if they did not exist).
    static func partner(
        _ reference: String, context: RequestContext, instances: WhiteLabelInstances
    ) async throws -> WhiteLabelRecord {
        let partner = try await instances.find(reference)
        if let tenant = context[TenantKey.self], tenant.id != partner.tenant {
            throw HTTPProblem.notFound("no white-label instance '\(reference)'")
        }
        return partner
    }

    static func tenantOf(_ partner: WhiteLabelRecord, services: RouteServices) async throws -> Tenant {
        guard let tenant = try await TenantRegistry().tenant(id: partner.tenant, from: services.pool) else {
            throw HTTPProblem.notFound("no white-label instance '\(partner.slug)'")
        }
        return tenant
    }

    static func auditPayout(
        _ payout: Payout, admin: Principal, requestID: String, in transaction: PostgresTransaction
    ) async throws {
        try await AuditTrail(schema: PlatformSchema.name).append(
            AuditEvent(
                actor: admin.actor, action: "revenue.payout.\(payout.status.rawValue)", objectType: "payout",
                objectID: payout.id.uuidString.lowercased(), requestID: requestID,
                details: ["amount": payout.amount, "currency": payout.currency]),
            in: transaction)
    }
}
