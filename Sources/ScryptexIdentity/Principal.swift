public import Foundation
import ScryptexCore

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

/// Who hands out roles and permissions (creates a key or a user, defines a role, revokes a key).
///
/// The host itself — provisioning, the white-label set-up, `scryptex apikey create` run by the
/// operator — may hand out anything. A tenant's principal may hand out only permissions it holds,
/// and only an owner may hand out, or take away, the owner role.
public enum Grantor: Sendable, Equatable {
    /// The host acting for its operator; `actor` names it in the audit trail (`operator`,
    /// `platform-admin:<prefix>`).
    case host(actor: String)
    case principal(Principal)

    /// How the audit trail names the grantor.
    public var actor: String {
        switch self {
        case .host(let actor): actor
        case .principal(let principal): principal.actor
        }
    }

    /// Whether the grantor holds the owner role (the host counts as one).
    public var isOwner: Bool {
        switch self {
        case .host: true
        case .principal(let principal): principal.roleNames.contains(Role.owner.name)
        }
    }

    /// Throws `forbidden` unless the grantor holds every one of `permissions`.
    public func checkHolds(_ permissions: Set<Permission>, granting what: String) throws {
        guard case .principal(let principal) = self else { return }
        let missing = permissions.subtracting(principal.permissions)
        guard missing.isEmpty else {
            throw ServiceError(
                .forbidden,
                "\(what) would carry permissions this credential does not hold: "
                    + missing.sorted().map(\.rawValue).joined(separator: ", "))
        }
    }
}
