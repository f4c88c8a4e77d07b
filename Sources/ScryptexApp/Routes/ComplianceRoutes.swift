import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy

/// `/api/enterprise/compliance/…` and trade booking: pre-trade checks, screening, the tenant's
/// reference prices and restricted list.
enum ComplianceRoutes {
    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        let checks = TradeCheckService()
        let monitoring = MonitoringService(enabled: services.configuration.complianceMonitoringEnabled)
        let feature = Feature.compliance

        routes.add(.post, "/api/enterprise/compliance/check-trade", .permission(.complianceCheck), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let body = try request.decodeJSON(TradeCheckRequest.self)
            let screener = services.sanctions.screener()
            let (id, decision) = try await call.scope.withTransaction { transaction in
                try await checks.check(
                    body, screener: screener, audit: call.audit, actor: call.principal.actor, in: transaction)
            }
            struct View: Encodable {
                var id: String
                var decision: TradeDecision
            }
            return try JSONResponse.encode(View(id: id.uuidString.lowercased(), decision: decision))
        }
        routes.add(.post, "/api/enterprise/compliance/screen", .permission(.complianceCheck), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
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
            let screener = services.sanctions.screener()
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
            return try JSONResponse.encode(
                View(
                    candidates: candidates,
                    listVersions: Dictionary(
                        uniqueKeysWithValues: screener.versions.map { ($0.key.rawValue, $0.value) })))
        }
        routes.add(.get, "/api/enterprise/compliance/sanctions-lists", .permission(.complianceRead), feature: feature) {
            _, _ in
            try JSONResponse.encode(["versions": try await SanctionsStore().versions(on: services.pool)])
        }
        routes.add(.get, "/api/enterprise/compliance/records/:id", .permission(.complianceRead), feature: feature) {
            _, context in
            let call = try TenantRequest(context, services: services)
            guard let id = UUID(uuidString: try context.parameter("id")) else {
                throw HTTPProblem.notFound("no compliance record with this id")
            }
            let row = try await call.scope.withTransaction { transaction in
                try await transaction.query(
                    """
                    SELECT id, account_id, kind, decision, request::text AS request, outcome::text AS outcome, checked_by,
                           created_at FROM compliance_records WHERE id = \(id)
                    """
                ).first
            }
            guard let row else { throw HTTPProblem.notFound("no compliance record with this id") }
            let text =
                "{\"id\":\(JSONString.quoted(id.uuidString.lowercased())),\"kind\":\(JSONString.quoted(try row.decode("kind", as: String.self))),"
                + "\"decision\":\(JSONString.quoted(try row.decode("decision", as: String.self))),"
                + "\"checkedBy\":\(JSONString.quoted(try row.decode("checked_by", as: String.self))),"
                + "\"request\":\(try row.decode("request", as: String.self)),\"outcome\":\(try row.decode("outcome", as: String.self))}"
            return .json(text)
        }
        routes.add(
            .post, "/api/enterprise/compliance/reference-prices", .permission(.complianceManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            struct Body: Decodable {
                var symbol: String
                var price: ExactDecimal
            }
            let body = try request.decodeJSON(Body.self)
            guard body.price > .zero else {
                throw HTTPProblem.badRequest("field 'price': must be greater than 0", type: .invalidField)
            }
            try await call.scope.withTransaction { transaction in
                guard try await TradeCheckService.instrumentExists(body.symbol, in: transaction) else {
                    throw ServiceError(.invalidInput, "field 'symbol': unknown instrument '\(body.symbol)'")
                }
                try await transaction.execute(
                    """
                    INSERT INTO reference_prices (symbol, price) VALUES (\(body.symbol), \(body.price))
                    ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, as_of = now()
                    """
                )
                try await call.audit.record(
                    "compliance.reference_price_set", objectType: "instrument", objectID: body.symbol, accountID: nil,
                    details: ["price": body.price.description], in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }
        routes.add(
            .post, "/api/enterprise/compliance/restricted-instruments", .permission(.complianceManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            struct Body: Decodable {
                var symbol: String
                var reason: String
            }
            let body = try request.decodeJSON(Body.self)
            guard (3...300).contains(body.reason.count) else {
                throw HTTPProblem.badRequest("field 'reason': 3 to 300 characters", type: .invalidField)
            }
            try await call.scope.withTransaction { transaction in
                guard try await TradeCheckService.instrumentExists(body.symbol, in: transaction) else {
                    throw ServiceError(.invalidInput, "field 'symbol': unknown instrument '\(body.symbol)'")
                }
                try await transaction.execute(
                    """
                    INSERT INTO restricted_instruments (symbol, reason) VALUES (\(body.symbol), \(body.reason))
                    ON CONFLICT (symbol) DO UPDATE SET reason = EXCLUDED.reason, added_at = now()
                    """
                )
                try await call.audit.record(
                    "compliance.instrument_restricted", objectType: "instrument", objectID: body.symbol, accountID: nil,
                    details: ["reason": body.reason], in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }
        routes.add(.post, "/api/enterprise/trades", .permission(.tradesBook), feature: .institutional) {
            request, context in
            let call = try TenantRequest(context, services: services)
            struct Body: Decodable {
                var accountId: UUID
                var symbol: String
                var side: String
                var quantity: ExactDecimal
                var price: ExactDecimal
                var venue: String?
                var counterparty: String?
                var arrivalPrice: ExactDecimal?
            }
            let body = try request.decodeJSON(Body.self)
            let trade = TradeCheckRequest(
                accountId: body.accountId, symbol: body.symbol, side: body.side, quantity: body.quantity,
                price: body.price, venue: body.venue, counterparty: body.counterparty)
            let (id, alerts) = try await call.scope.withTransaction { transaction in
                try await checks.book(
                    trade, arrivalPrice: body.arrivalPrice, audit: call.audit, monitoring: monitoring, in: transaction)
            }
            struct Booked: Encodable {
                var id: String
                var alerts: [ComplianceAlert]
            }
            return try JSONResponse.encode(Booked(id: id.uuidString.lowercased(), alerts: alerts), status: .created)
        }
        routes.add(.patch, "/api/enterprise/trades/:id", .permission(.tradesBook), feature: .institutional) {
            request, context in
            let call = try TenantRequest(context, services: services)
            guard let tradeID = UUID(uuidString: try context.parameter("id")) else {
                throw HTTPProblem.notFound("no trade with this id")
            }
            struct Body: Decodable {
                var quantity: ExactDecimal?
                var price: ExactDecimal?
            }
            let body = try request.decodeJSON(Body.self)
            try await call.scope.withTransaction { transaction in
                try await checks.amend(
                    tradeID, quantity: body.quantity, price: body.price, audit: call.audit, in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }
        routes.add(.post, "/api/enterprise/trades/:id/cancel", .permission(.tradesBook), feature: .institutional) {
            request, context in
            let call = try TenantRequest(context, services: services)
            guard let tradeID = UUID(uuidString: try context.parameter("id")) else {
                throw HTTPProblem.notFound("no trade with this id")
            }
            struct Body: Decodable { var reason: String }
            let body = try request.decodeJSON(Body.self)
            try await call.scope.withTransaction { transaction in
                try await checks.cancel(tradeID, reason: body.reason, audit: call.audit, in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }
        routes.add(.post, "/api/enterprise/accounts/:id/transfers", .permission(.tradesBook), feature: .institutional) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let accountID = try InstitutionalRoutes.accountID(context)
            let transfer = try request.decodeJSON(Transfer.self)
            let screener = services.sanctions.screener()
            let (id, alerts) = try await call.scope.withTransaction { transaction in
                try await monitoring.record(
                    transfer, for: accountID, screener: screener, audit: call.audit, in: transaction)
            }
            struct Recorded: Encodable {
                var id: String
                var alerts: [ComplianceAlert]
            }
            return try JSONResponse.encode(Recorded(id: id.uuidString.lowercased(), alerts: alerts), status: .created)
        }
        routes.add(.get, "/api/enterprise/compliance/alerts", .permission(.complianceRead), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let status = QueryParameters(request.query)["status"]
            if let status, !["open", "assigned", "escalated", "closed"].contains(status) {
                throw HTTPProblem.badRequest(
                    "query 'status': open, assigned, escalated or closed", type: .invalidField)
            }
            let alerts = try await call.scope.withTransaction { try await monitoring.alerts(status: status, in: $0) }
            return try JSONResponse.encode(["alerts": alerts])
        }
        routes.add(
            .post, "/api/enterprise/compliance/alerts/:id/:action", .permission(.complianceManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            guard let alertID = UUID(uuidString: try context.parameter("id")) else {
                throw HTTPProblem.notFound("no alert with this id")
            }
            struct Body: Decodable {
                var assignee: String?
                var reason: String?
                var note: String?
            }
            let body = request.body.isEmpty ? Body() : try request.decodeJSON(Body.self)
            let alert = try await call.scope.withTransaction { transaction in
                try await monitoring.act(
                    on: alertID, action: try context.parameter("action"), assignee: body.assignee,
                    note: body.reason ?? body.note, audit: call.audit, in: transaction)
            }
            return try JSONResponse.encode(alert)
        }
        routes.add(
            .get, "/api/enterprise/accounts/:id/compliance/best-execution", .permission(.complianceRead),
            feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            let accountID = try InstitutionalRoutes.accountID(context)
            let query = QueryParameters(request.query)
            func date(_ name: String, default fallback: Date) throws -> Date {
                guard let text = query[name] else { return fallback }
                guard let date = ISO8601DateFormatter().date(from: text) else {
                    throw HTTPProblem.badRequest(
                        "query '\(name)': not an ISO 8601 time like 2026-01-31T00:00:00Z", type: .invalidField)
                }
                return date
            }
            let until = try date("until", default: Date())
            let from = try date("from", default: until.addingTimeInterval(-90 * 86_400))
            let report = try await call.scope.withTransaction { transaction in
                try await BestExecutionService().report(of: accountID, from: from, until: until, in: transaction)
            }
            return try JSONResponse.encode(report)
        }
        routes.add(
            .get, "/api/enterprise/accounts/:id/compliance/status", .permission(.complianceRead), feature: feature
        ) {
            _, context in
            let call = try TenantRequest(context, services: services)
            let accountID = try InstitutionalRoutes.accountID(context)
            let status = try await call.scope.withTransaction { transaction in
                try await ComplianceStatusService().status(of: accountID, in: transaction)
            }
            return try JSONResponse.encode(status)
        }
    }
}
