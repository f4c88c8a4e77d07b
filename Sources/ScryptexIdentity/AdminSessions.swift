public import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexPostgres

/// The platform console's sessions: a platform admin signs in with their key (the `sxa_`
/// token), the browser keeps a session instead, which ends with the key, on sign-out or after
/// `adminSessionLifetime`. Sign-ins, refusals and sign-outs are in the control plane's trail.
extension IdentityService {
    public static let adminSessionLifetime: TimeInterval = 8 * 3600

    /// A new console session for the admin key `key`; `unauthenticated` for anything else.
    public func signInAdmin(
        key: String, requestID: String?, now: Date = Date()
    ) async throws -> (token: SecretToken, expiresAt: Date) {
        let trail = AuditTrail(schema: SQLIdentifier(static: "platform"))
        guard let presented = SecretToken(parsing: key.trimmingCharacters(in: .whitespaces), as: .adminKey) else {
            try await pool.withTransaction { transaction in
                try await trail.append(
                    AuditEvent(
                        actor: "anonymous", action: "console.sign_in_refused", requestID: requestID,
                        details: ["reason": "malformed_key"]), in: transaction)
            }
            throw Self.unauthenticated
        }
        let admin: Principal
        do {
            admin = try await authenticateAdmin(bearer: presented.text)
        } catch {
            try await pool.withTransaction { transaction in
                try await trail.append(
                    AuditEvent(
                        actor: "anonymous", action: "console.sign_in_refused", objectType: "admin_api_key",
                        objectID: presented.prefix, requestID: requestID, details: ["reason": "unknown_or_unusable_key"]
                    ),
                    in: transaction)
            }
            throw error
        }
        let session = SecretToken.generate(.session)
        let expires = now.addingTimeInterval(Self.adminSessionLifetime)
        try await pool.withTransaction { transaction in
            try await transaction.execute(
                """
                INSERT INTO platform.admin_sessions (token_prefix, secret_hash, admin_key_id, form_token, expires_at)
                VALUES (\(session.prefix), \(session.secretHash), \(admin.id),
                        \(Base64URL.encode(SecureRandom.bytes(count: 32))), \(expires))
                """
            )
            try await trail.append(
                AuditEvent(
                    actor: admin.actor, action: "console.signed_in", objectType: "admin_session",
                    objectID: session.prefix, requestID: requestID), in: transaction)
        }
        return (session, expires)
    }

    /// The admin behind a console session token; `unauthenticated` when it is unknown, ended,
    /// or its key is no longer usable.
    func authenticateAdminSession(_ text: String) async throws -> Principal {
        guard let token = SecretToken(parsing: text, as: .session) else { throw Self.unauthenticated }
        let rows = try await pool.query(
            """
            SELECT k.id, k.prefix, s.secret_hash,
                   (s.revoked_at IS NULL AND s.expires_at > now() AND k.revoked_at IS NULL
                    AND (k.expires_at IS NULL OR k.expires_at > now())) AS usable
            FROM platform.admin_sessions s JOIN platform.admin_api_keys k ON k.id = s.admin_key_id
            WHERE s.token_prefix = \(token.prefix)
            """
        )
        guard let row = rows.first, token.matches(storedHash: try row.decode("secret_hash", as: String.self)),
            try row.decode("usable", as: Bool.self)
        else { throw Self.unauthenticated }
        return Principal(
            kind: .platformAdmin, id: try row.decode("id", as: UUID.self), tenantID: nil, roleNames: ["platform_admin"],
            permissions: [], actor: "platform-admin:" + (try row.decode("prefix", as: String.self)),
            sessionPrefix: token.prefix)
    }

    /// The console form token of an admin's session (nil for a key used directly).
    public func consoleFormToken(of admin: Principal) async throws -> String? {
        guard let prefix = admin.sessionPrefix else { return nil }
        return try await pool.query(
            "SELECT form_token FROM platform.admin_sessions WHERE token_prefix = \(prefix) AND revoked_at IS NULL"
        ).first?.decode("form_token", as: String.self)
    }

    /// Ends a console session.
    public func signOutAdmin(_ admin: Principal, requestID: String?) async throws {
        guard let prefix = admin.sessionPrefix else { return }
        try await pool.withTransaction { transaction in
            try await transaction.execute(
                "UPDATE platform.admin_sessions SET revoked_at = now() WHERE token_prefix = \(prefix) AND revoked_at IS NULL"
            )
            try await AuditTrail(schema: SQLIdentifier(static: "platform")).append(
                AuditEvent(
                    actor: admin.actor, action: "console.signed_out", objectType: "admin_session", objectID: prefix,
                    requestID: requestID), in: transaction)
        }
    }
}
