import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates

/// The signed-in person's own security: adding or replacing the authenticator (TOTP) that
/// signing in asks for, and the recovery codes that come with it. The secret and the codes
/// appear only on the answers to the forms, never in an address.
extension PortalRoutes {
    @Sendable func securityPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await securityPage(call)
    }

    func securityPage(
        _ call: TenantCall, values extra: [String: TemplateValue] = [:], error: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        var values = extra
        values["isUser"] = .bool(call.principal.kind == .user)
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-security", title: "Security", section: Self.root + "/security", call: call, values: values,
            status: status)
    }

    func beginEnrollment(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        do {
            let enrollment = try await services.identity.beginEnrollment(
                for: call.principal, password: form.exactly("password"), code: form["code"], tenant: call.tenant,
                requestID: call.requestID)
            return try await securityPage(
                call,
                values: [
                    "enrollment": [
                        "secret": .string(enrollment.secret), "uri": .string(enrollment.provisioningURI),
                    ]
                ])
        } catch let error as ServiceError where error.code == .invalidInput || error.code == .unauthenticated {
            return try await securityPage(
                call,
                error: error.code == .unauthenticated
                    ? "The password or the current code is not right." : error.message,
                status: error.code == .unauthenticated ? .unauthorized : .badRequest)
        }
    }

    func confirmEnrollment(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse
    {
        do {
            let codes = try await services.identity.confirmEnrollment(
                code: form["code"] ?? "", for: call.principal, tenant: call.tenant, requestID: call.requestID)
            return try await securityPage(call, values: ["recoveryCodes": .list(codes.map { .string($0) })])
        } catch let error as ServiceError where error.code == .invalidInput || error.code == .unauthenticated {
            return try await securityPage(
                call, error: "The code did not match the new authenticator: " + error.message, status: .badRequest)
        }
    }
}
