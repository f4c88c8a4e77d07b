public import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexPostgres
public import ScryptexTenancy

/// A message for a person, sent through whatever the host is configured with.
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// Where the host's mail goes: a relay in production, a folder in development.
public protocol MailTransport: Sendable {
    func send(_ message: MailMessage) async throws
}

/// Development mail: each message written as an RFC 5322 file (`<time>-<random>.eml`) into a
/// folder (`.scryptex/outbox`), where a developer opens it. Nothing leaves the machine.
public struct OutboxMailTransport: MailTransport {
    public let folder: String
    let sender: String

    public init(folder: String, sender: String = "no-reply@scryptex.localhost") {
        self.folder = folder
        self.sender = sender
    }

    public func send(_ message: MailMessage) async throws {
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let name = "\(Int(Date().timeIntervalSince1970 * 1000))-\(SecureRandom.hexToken(byteCount: 4)).eml"
        let path = folder + "/" + name
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(message.rfc5322(from: sender).utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw ServiceError(.upstreamFailed, "the mail outbox \(folder) cannot be written") }
    }
}

extension MailMessage {
    /// The message as RFC 5322 text (CRLF line ends, plain UTF-8 text), from `sender`.
    public func rfc5322(from sender: String, date: Date = Date()) -> String {
        // Header values are one line each: a line break in one would start a header of its own.
        func line(_ text: String) -> String {
            String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init))
        }
        let domain = sender.split(separator: "@").last.map(String.init) ?? "scryptex.localhost"
        return "From: \(line(sender))\r\nTo: \(line(to))\r\nSubject: \(line(subject))\r\n"
            + "Date: \(Self.rfc5322Date(date))\r\nMessage-ID: <\(SecureRandom.hexToken(byteCount: 16))@\(line(domain))>\r\n"
            + "MIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// Password reset by link: a member asks with their address; if it is a member's, a link with a
/// random 256-bit token goes to it (only the token's SHA-256 is stored). The link works once,
/// for 30 minutes; a newer link supersedes older ones; using it sets the new password, lifts a
/// lock-out and ends every session of the member. Whether the address is a member's is never
/// told to the asker.
extension IdentityService {
    public static let passwordResetLifetime: TimeInterval = 30 * 60

    /// A new reset token for the member with `email`, or nil when there is none (or they are
    /// disabled). Audited either way.
    public func beginPasswordReset(
        email: String, tenant: Tenant, requestID: String?, now: Date = Date()
    ) async throws -> (token: String, email: String)? {
        guard email.utf8.count <= 254 else { return nil }
        let keys = try await keyring.keys(for: tenant.id, on: pool)
        let normalized = (try? Self.normalizedEmail(email)) ?? email.lowercased()
        let lookup = keys.lookupHash(normalized, purpose: "email")
        let token = Base64URL.encode(SecureRandom.bytes(count: 32))
        return try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            let trail = AuditTrail(schema: tenant.schema)
            guard
                let user = try await transaction.query(
                    "SELECT id FROM users WHERE email_lookup = \(lookup) AND status = 'active'"
                ).first?.decode("id", as: UUID.self)
            else {
                try await trail.append(
                    AuditEvent(
                        actor: "anonymous", action: "password_reset.refused", objectType: "user", requestID: requestID,
                        details: ["reason": "unknown_or_disabled"]), in: transaction)
                return nil
            }
            try await transaction.execute(
                "UPDATE password_resets SET used_at = now() WHERE user_id = \(user) AND used_at IS NULL")
            try await transaction.execute(
                """
                INSERT INTO password_resets (token_hash, user_id, expires_at)
                VALUES (\(SecretToken.hash(token)), \(user), \(now.addingTimeInterval(Self.passwordResetLifetime)))
                """
            )
            try await trail.append(
                AuditEvent(
                    actor: "anonymous", action: "password_reset.requested", objectType: "user",
                    objectID: user.uuidString.lowercased(), requestID: requestID), in: transaction)
            return (token, normalized)
        }
    }

    /// Whether `token` is a reset link that can still be used.
    public func isUsablePasswordReset(_ token: String, tenant: Tenant) async throws -> Bool {
        guard token.utf8.count == 43, Base64URL.decode(token)?.count == 32 else { return false }
        return try await TenantScope(tenant: tenant, pool: pool).withTransaction(readOnly: true) { transaction in
            try await transaction.query(
                """
                SELECT 1 AS found FROM password_resets
                WHERE token_hash = \(SecretToken.hash(token)) AND used_at IS NULL AND expires_at > now()
                """
            ).first != nil
        }
    }

    /// Spends `token` and sets `newPassword`; throws `invalidInput` for a password that breaks
    /// the rule and `unauthenticated` for a link that is unknown, used or expired.
    public func completePasswordReset(
        token: String, newPassword: String, tenant: Tenant, requestID: String?
    ) async throws {
        try Self.checkPassword(newPassword)
        guard token.utf8.count == 43, Base64URL.decode(token)?.count == 32 else {
            throw ServiceError(.unauthenticated, "the reset link is not valid")
        }
        let hash = await options.hasher.hash(newPassword)
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            // Spent in the same statement that finds it: two uses at once cannot both pass.
            guard
                let user = try await transaction.query(
                    """
                    UPDATE password_resets SET used_at = now()
                    WHERE token_hash = \(SecretToken.hash(token)) AND used_at IS NULL AND expires_at > now()
                    RETURNING user_id
                    """
                ).first?.decode("user_id", as: UUID.self)
            else {
                throw ServiceError(.unauthenticated, "the reset link is used, expired or unknown; ask for a new one")
            }
            try await transaction.execute(
                """
                UPDATE users SET password_hash = \(hash), failed_logins = 0, locked_until = NULL, updated_at = now()
                WHERE id = \(user)
                """
            )
            try await transaction.execute(
                "UPDATE sessions SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL")
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: "user:\(user.uuidString.lowercased())", action: "password_reset.completed",
                    objectType: "user", objectID: user.uuidString.lowercased(), requestID: requestID),
                in: transaction)
        }
        credentials.invalidate(schema: tenant.schema.name)
    }
}
