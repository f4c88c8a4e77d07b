import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity

/// The token every portal form carries against cross-site request forgery.
///
/// A signed-in form's token is a keyed hash, under the tenant's data key, of the session it was
/// rendered for: another site cannot read it (the page is same-origin) nor make it (it lacks the
/// key), and it dies with the session. The sign-in form, before any session, pairs a random
/// host-only cookie with its keyed hash in the form (a signed double submit).
enum FormToken {
    static let field = "csrf"
    /// The sign-in form's cookie: host-only, HTTPS only, not for scripts, not sent cross-site.
    static let signInCookie = "__Host-scryptex_form"

    static func forSession(_ principal: Principal, keys: Keyring.TenantKeys) -> String {
        keys.lookupHash(principal.sessionPrefix ?? principal.actor, purpose: "portal-form")
    }

    static func forSignIn(nonce: String, keys: Keyring.TenantKeys) -> String {
        keys.lookupHash(nonce, purpose: "portal-sign-in-form")
    }

    /// Refuses (403) a form whose token is missing or not `expected`.
    static func check(_ form: FormFields, expected: String) throws {
        guard let sent = form.exactly(field), ConstantTime.equals(Array(sent.utf8), Array(expected.utf8)) else {
            throw HTTPProblem(
                .forbidden, type: .invalidFormToken,
                detail: "the form's security token is missing or out of date; reload the page and send it again")
        }
    }

    static func signInCookieSetting(_ nonce: String) -> String {
        "\(signInCookie)=\(nonce); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=3600"
    }
}
