import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTemplates
import ScryptexTenancy

/// "Forgot your password?": an address in, a link out by mail (``MailTransport``); the link's
/// token moves at once from the address bar into a short-lived cookie, so it never sits in
/// history or a Referer; the new password is set once, ending every session.
extension PortalRoutes {
    static let resetCookie = "__Host-scryptex_reset"

    @Sendable func passwordResetPage(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        try await preSessionPage("portal-password-reset", title: "Reset your password", call)
    }

    /// A page with a pre-session form: a new form cookie and its token.
    func preSessionPage(
        _ template: String, title: String, _ call: PublicTenantCall, values extra: [String: TemplateValue] = [:],
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let nonce = Hex.encode(SecureRandom.bytes(count: 16))
        let keys = try await services.identity.keyring.keys(for: call.tenant.id, on: services.pool)
        var values = extra
        values["title"] = .string(title)
        values["brand"] = try await branding.value(for: call.tenant)
        values["csrf"] = .string(FormToken.forSignIn(nonce: nonce, keys: keys))
        var response = Self.html(try templates.render(template, .object(values)), status: status)
        response.headers.add(name: "Set-Cookie", value: FormToken.signInCookieSetting(nonce))
        return response
    }

    /// Whether a pre-session form came with its cookie and the matching token.
    func hasPreSessionToken(_ request: HTTPRequest, _ form: FormFields, _ call: PublicTenantCall) async throws -> Bool {
        guard let nonce = request.cookie(named: FormToken.signInCookie), nonce.utf8.count == 32 else { return false }
        let keys = try await services.identity.keyring.keys(for: call.tenant.id, on: services.pool)
        return (try? FormToken.check(form, expected: FormToken.forSignIn(nonce: nonce, keys: keys))) != nil
    }

    @Sendable func requestPasswordReset(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        let form = try request.formFields()
        guard try await hasPreSessionToken(request, form, call) else {
            return try await preSessionPage(
                "portal-password-reset", title: "Reset your password", call,
                values: ["error": "The form had expired. Send it again."], status: .forbidden)
        }
        try services.limiter.admit(
            "password-reset:\(call.tenant.id):\(call.context.remoteAddress)", limit: services.options.loginRateLimit,
            what: "password reset requests")
        if let (token, email) = try await services.identity.beginPasswordReset(
            email: form["email"] ?? "", tenant: call.tenant, requestID: call.context.requestID),
            let host = request.headers.first("host")
        {
            let product = try await branding.entry(for: call.tenant).branding?.productName ?? call.tenant.displayName
            let link = "https://\(host)\(Self.root)/password-reset/link/\(token)"
            let message = MailMessage(
                to: email, subject: "Reset your \(product) password",
                body: """
                    Someone (we hope you) asked to reset the password of your \(product) sign-in.

                    Open this link within 30 minutes to choose a new password; it works once:

                    \(link)

                    If it was not you, ignore this message: your password stays as it is.
                    """)
            // Sent after the answer: a relay's round trips would otherwise make a member's
            // address answer measurably later than anyone else's.
            let tenant = call.tenant
            Task { await sendQuietly(message, tenant: tenant) }
        }
        // The same answer whether or not the address is a member's.
        return try await preSessionPage(
            "portal-password-reset", title: "Reset your password", call,
            values: [
                "notice":
                    "If that address belongs to a member, a link to reset the password is on its way. It works once, for 30 minutes."
            ])
    }

    /// Sends a reset mail; a relay that fails is logged (its answer, never the link) and the
    /// asker gets the usual answer — an error only for members' addresses would tell who is one.
    func sendQuietly(_ message: MailMessage, tenant: Tenant) async {
        do {
            try await mail.send(message)
        } catch {
            services.logger.error(
                "a password reset mail could not be sent",
                ["tenant": tenant.slug.value, "error": String(describing: error)])
        }
    }

    @Sendable func openPasswordResetLink(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse
    {
        let token = try call.context.parameter("token")
        guard try await services.identity.isUsablePasswordReset(token, tenant: call.tenant) else {
            return try await preSessionPage(
                "portal-password-reset", title: "Reset your password", call,
                values: ["error": "That link is used, expired or unknown. Ask for a new one."], status: .gone)
        }
        var response = HTTPResponse.redirect(to: Self.root + "/password-reset/new")
        // Lax: the link comes from a mail client, another site; the cookie must survive that visit.
        response.headers.add(
            name: "Set-Cookie",
            value: "\(Self.resetCookie)=\(token); Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=1800")
        response.headers.add(name: "Referrer-Policy", value: "no-referrer")
        return response
    }

    @Sendable func newPasswordPage(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        try await newPasswordForm(request, call)
    }

    func newPasswordForm(
        _ request: HTTPRequest, _ call: PublicTenantCall, error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        guard let token = request.cookie(named: Self.resetCookie),
            try await services.identity.isUsablePasswordReset(token, tenant: call.tenant)
        else {
            return try await preSessionPage(
                "portal-password-reset", title: "Reset your password", call,
                values: ["error": "That link is used, expired or unknown. Ask for a new one."], status: .gone)
        }
        let keys = try await services.identity.keyring.keys(for: call.tenant.id, on: services.pool)
        var values: [String: TemplateValue] = [
            "title": "Choose a new password", "brand": try await branding.value(for: call.tenant),
            "csrf": .string(keys.lookupHash(token, purpose: "portal-password-reset-form")),
        ]
        if let error { values["error"] = .string(error) }
        return Self.html(try templates.render("portal-new-password", .object(values)), status: status)
    }

    @Sendable func setNewPassword(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        let form = try request.formFields()
        guard let token = request.cookie(named: Self.resetCookie) else {
            return try await newPasswordForm(request, call)
        }
        let keys = try await services.identity.keyring.keys(for: call.tenant.id, on: services.pool)
        guard
            (try? FormToken.check(form, expected: keys.lookupHash(token, purpose: "portal-password-reset-form"))) != nil
        else {
            return try await newPasswordForm(
                request, call, error: "The form had expired. Send it again.", status: .forbidden)
        }
        let password = form.exactly("password") ?? ""
        guard password == form.exactly("confirmation") ?? "" else {
            return try await newPasswordForm(request, call, error: "The two passwords differ.", status: .badRequest)
        }
        do {
            try await services.identity.completePasswordReset(
                token: token, newPassword: password, tenant: call.tenant, requestID: call.context.requestID)
        } catch let error as ServiceError where error.code == .invalidInput {
            return try await newPasswordForm(request, call, error: error.message, status: .badRequest)
        } catch let error as ServiceError where error.code == .unauthenticated {
            return try await newPasswordForm(request, call, error: error.message, status: .gone)
        }
        var response = HTTPResponse.redirect(to: Self.root + "/sign-in?reset=1")
        response.headers.add(
            name: "Set-Cookie", value: "\(Self.resetCookie)=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
        return response
    }
}
