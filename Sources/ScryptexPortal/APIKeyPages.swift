import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates

/// The tenant's API keys: the list, a new key (its token shown once, on the answer to the
/// form, never in an address), revocation.
extension PortalRoutes {
    @Sendable func apiKeyList(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await apiKeyPage(call)
    }

    func apiKeyPage(
        _ call: TenantCall, newToken: String? = nil, error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let (keys, roles) = try await call.scope.withTransaction(readOnly: true) { transaction in
            (
                try await services.identity.apiKeys(in: transaction),
                try await services.identity.roles(in: transaction)
            )
        }
        let formatter = ISO8601DateFormatter()
        var values: [String: TemplateValue] = [
            "keys": .list(
                keys.reversed().map { key in
                    [
                        "prefix": .string(key.prefix), "name": .string(key.name),
                        "roles": .string(key.roles.joined(separator: ", ")), "createdBy": .string(key.createdBy),
                        "createdAt": .string(formatter.string(from: key.createdAt)),
                        "expiresAt": key.expiresAt.map { .string(formatter.string(from: $0)) } ?? .null,
                        "lastUsedAt": key.lastUsedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                        "revoked": .bool(key.revokedAt != nil),
                    ]
                }),
            "roles": .list(roles.map { .string($0.name) }),
        ]
        if let newToken { values["newToken"] = .string(newToken) }
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-api-keys", title: "API keys", section: Self.root + "/api-keys", call: call, values: values,
            status: status)
    }

    func createAPIKey(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        do {
            guard let role = form["role"] else { throw ServiceError(.invalidInput, "field 'role': choose a role") }
            let (token, _) = try await call.scope.withTransaction { transaction in
                try await services.identity.createAPIKey(
                    name: form["name"] ?? "", roles: [role], expiresAt: nil, grantedBy: .principal(call.principal),
                    requestID: call.requestID, tenant: call.tenant, in: transaction)
            }
            return try await apiKeyPage(call, newToken: token.text, status: .created)
        } catch let error as ServiceError where error.code == .invalidInput || error.code == .forbidden {
            return try await apiKeyPage(
                call, error: error.message, status: error.code == .forbidden ? .forbidden : .badRequest)
        }
    }

    func revokeAPIKey(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let prefix = try call.parameter("prefix")
        try await call.scope.withTransaction { transaction in
            try await services.identity.revokeAPIKey(
                prefix: prefix, by: .principal(call.principal), requestID: call.requestID, tenant: call.tenant,
                in: transaction)
        }
        return .redirect(to: Self.root + "/api-keys")
    }
}
