import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexIdentity
import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy

/// The tenant's audit trail: pages with filters, verification against its seal, the signing key
/// and a signed export.
public struct AuditRoutes: RouteCollection {
    let sealing: AuditSealing
    let checkpointKey: [UInt8]
    let pool: PostgresConnectionPool

    public init(sealing: AuditSealing, services: APIServices) {
        self.sealing = sealing
        checkpointKey = services.identity.keyring.auditCheckpointKey
        pool = services.pool
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/audit-trail", as: TenantCall.self, permission: .auditRead) { trail in
            trail.get(use: page)
            trail.get("verify", use: verify)
            // The public key that signs seals, to pin once and verify exports with.
            trail.get("signing-key", use: signingKey)
            trail.get("export", .auditExport, use: export)
        }
        routes.group("/api/enterprise/accounts/:id/audit-trail", as: TenantCall.self, permission: .auditRead) {
            account in
            account.get(use: accountPage)
        }
    }

    @Sendable func page(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await page(request, call, accountID: nil)
    }

    @Sendable func accountPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await page(request, call, accountID: try call.accountID())
    }

    /// One page of the trail with filters from the query: `actor`, `action`, `objectType`,
    /// `objectId`, `from`, `until` (ISO 8601), `after` (cursor) and `limit` (1 to 500).
    private func page(_ request: HTTPRequest, _ call: TenantCall, accountID: UUID?) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        let after = try query.integer("after", in: 0...Int(Int64.max)) ?? 0
        let limit = try query.integer("limit", in: 1...500) ?? 100
        let filter = AuditTrail.Filter(
            actor: query["actor"], action: query["action"], objectType: query["objectType"],
            objectID: query["objectId"], accountID: accountID, from: try query.date("from"),
            until: try query.date("until"))
        let records = try await call.scope.withTransaction { transaction in
            if let accountID {
                // An unknown account is 404, not an empty page.
                _ = try await AccountService().account(accountID, in: transaction)
            }
            return try await AuditTrail(schema: call.tenant.schema).records(
                matching: filter, after: Int64(after), limit: limit, in: transaction)
        }
        struct Page: Encodable {
            var records: [AuditRecord]
            var nextCursor: Int64?
        }
        return try .json(
            encoding: Page(records: records, nextCursor: records.count == limit ? records.last?.position : nil))
    }

    @Sendable func verify(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let verification = try await call.scope.withTransaction { transaction in
            try await sealing.verify(call.tenant.schema, checkpointKey: checkpointKey, in: transaction)
        }
        return try .json(encoding: verification)
    }

    @Sendable func signingKey(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let key = sealing.publicKey
        return try .json(encoding: [
            "algorithm": "ES256", "pem": key.pem, "jwk": key.jsonWebKey, "thumbprint": key.thumbprint,
        ])
    }

    @Sendable func export(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        // Recorded and committed first: the export itself holds no transaction open.
        try await call.scope.withTransaction { transaction in
            try await call.audit.record(
                "audit.exported", objectType: "audit_trail", objectID: nil, accountID: nil, details: [:],
                in: transaction)
        }
        let (tenant, sealing, pool) = (call.tenant, sealing, pool)
        var response = HTTPResponse.streaming(contentType: "application/x-ndjson") { writer in
            try await AuditExport.write(tenant, sealing: sealing, pool: pool) { try await writer.write($0) }
        }
        response.headers.add(
            name: "Content-Disposition", value: "attachment; filename=\"audit-\(tenant.slug.value).jsonl\"")
        return response
    }
}
