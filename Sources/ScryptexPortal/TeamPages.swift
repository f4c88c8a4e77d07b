import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates

/// The firm's team: who may sign in and with which role; a new member gets a first password,
/// shown once on the answer, to hand over.
extension PortalRoutes {
    @Sendable func teamPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await teamPage(call)
    }

    func teamPage(
        _ call: TenantCall, values extra: [String: TemplateValue] = [:], error: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let keys = try await call.keys()
        let (users, roles) = try await call.scope.withTransaction(readOnly: true) { transaction in
            (
                try await services.identity.users(keys: keys, in: transaction),
                try await services.identity.roles(in: transaction)
            )
        }
        var values = extra
        values["members"] = .list(
            users.map { user in
                [
                    "email": .string(user.email), "name": user.name.map { .string($0) } ?? .null,
                    "role": .string(user.role), "status": .string(user.status), "mfa": .bool(user.mfaEnabled),
                ]
            })
        values["roles"] = .list(roles.map { .string($0.name) })
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-team", title: "Team", section: Self.root + "/team", call: call, values: values, status: status)
    }

    func addMember(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let keys = try await call.keys()
        let password = IdentityService.newPassword()
        do {
            let user = try await call.scope.withTransaction { transaction in
                let user = try await services.identity.createUser(
                    .init(
                        email: form["email"] ?? "", name: form["name"], password: password, role: form["role"] ?? ""),
                    keys: keys, grantedBy: .principal(call.principal), in: transaction)
                try await call.audit.record(
                    "user.created", objectType: "user", objectID: user.id.uuidString.lowercased(), accountID: nil,
                    details: ["role": user.role, "via": "portal"], in: transaction)
                return user
            }
            return try await teamPage(
                call, values: ["created": ["email": .string(user.email), "password": .string(password)]],
                status: .created)
        } catch let error as ServiceError
            where [.invalidInput, .conflict, .forbidden].contains(error.code)
        {
            return try await teamPage(
                call, error: error.message, status: error.code == .forbidden ? .forbidden : .badRequest)
        }
    }
}
