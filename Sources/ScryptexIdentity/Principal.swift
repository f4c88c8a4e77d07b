public import Foundation

/// Who is making a request, once authenticated.
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A tenant's team member, signed in with a session cookie.
        case user
        /// A tenant's API key.
        case apiKey = "api-key"
        /// A platform admin's key (control plane only, unless a break-glass grant is active).
        case platformAdmin = "platform-admin"
    }

    public var kind: Kind
    public var id: UUID
    /// The tenant the credential belongs to; nil for platform admins.
    public var tenantID: UUID?
    public var roleNames: [String]
    public var permissions: Set<Permission>
    /// How the audit trail names this principal: `user:<id>`, `api-key:<prefix>`, …
    public var actor: String
    /// For sessions: the token prefix, so logout can end exactly this session.
    public var sessionPrefix: String?

    public init(
        kind: Kind, id: UUID, tenantID: UUID?, roleNames: [String], permissions: Set<Permission>, actor: String,
        sessionPrefix: String? = nil
    ) {
        self.kind = kind
        self.id = id
        self.tenantID = tenantID
        self.roleNames = roleNames
        self.permissions = permissions
        self.actor = actor
        self.sessionPrefix = sessionPrefix
    }

    public func has(_ permission: Permission) -> Bool { permissions.contains(permission) }
}
