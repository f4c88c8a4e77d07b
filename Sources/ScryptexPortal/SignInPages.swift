import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexTemplates
import ScryptexTenancy

/// Signing in and out, and the tenant's stylesheet, which the sign-in page needs before anyone
/// is signed in.
extension PortalRoutes {
    @Sendable func signInPage(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        let notice =
            query["expired"] == "1"
            ? "Your session has ended. Sign in again to go on."
            : query["reset"] == "1" ? "Your password is changed. Sign in with it." : nil
        return try await signInForm(call, notice: notice)
    }

    /// The sign-in form, with a new form cookie and its token.
    func signInForm(
        _ call: PublicTenantCall, email: String? = nil, error: String? = nil, notice: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        var values: [String: TemplateValue] = [:]
        if let email { values["email"] = .string(email) }
        if let error { values["error"] = .string(error) }
        if let notice { values["notice"] = .string(notice) }
        return try await preSessionPage("portal-sign-in", title: "Sign in", call, values: values, status: status)
    }

    @Sendable func signIn(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        let form = try request.formFields()
        guard try await hasPreSessionToken(request, form, call) else {
            return try await signInForm(
                call, error: "The sign-in form had expired (or cookies are off). Sign in again.", status: .forbidden)
        }
        try services.limiter.admit(
            "login:\(call.tenant.id):\(call.context.remoteAddress)", limit: services.options.loginRateLimit,
            what: "sign-in attempts")
        let email = form["email"] ?? ""
        do {
            let outcome = try await services.identity.logIn(
                email: email, password: form.exactly("password") ?? "", code: form["code"], tenant: call.tenant,
                requestID: call.context.requestID)
            var response = HTTPResponse.redirect(to: Self.root)
            response.headers.add(
                name: "Set-Cookie",
                value: SessionCookie.setting(outcome.token.text, maxAge: Int(outcome.expiresAt.timeIntervalSinceNow)))
            response.headers.add(
                name: "Set-Cookie",
                value: "\(FormToken.signInCookie)=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
            return response
        } catch let error as ServiceError where error.code == .unauthenticated {
            return try await signInForm(
                call, email: email,
                error:
                    "The e-mail address, password or code is not right (or the account is locked for a while after too many tries).",
                status: .unauthorized)
        }
    }

    func signOut(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        try await services.identity.logOut(call.principal, tenant: call.tenant, requestID: call.requestID)
        var response = HTTPResponse.redirect(to: Self.root + "/sign-in")
        response.headers.add(name: "Set-Cookie", value: SessionCookie.setting("", maxAge: 0))
        return response
    }

    @Sendable func stylesheet(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        let entry = try await branding.entry(for: call.tenant)
        var response = HTTPResponse(
            status: .ok, contentType: "text/css; charset=utf-8", body: Array(Stylesheet.css(for: entry.branding).utf8))
        response.headers.add(name: "Cache-Control", value: "no-cache")
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        return response
    }
}
