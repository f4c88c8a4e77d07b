public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A partner firm's isolated instance: its row in the control plane, its schema and its role.
public struct Tenant: Sendable, Equatable {
    public enum Status: String, Sendable {
        case provisioning, active, suspended, deleting, deleted
    }

    public var id: UUID
    public var slug: TenantSlug
    public var displayName: String
    public var status: Status

    public init(id: UUID, slug: TenantSlug, displayName: String, status: Status) {
        self.id = id
        self.slug = slug
        self.displayName = displayName
        self.status = status
    }

    /// Decodes a tenant from a row with `id`, `slug`, `display_name` and `status` columns, each
    /// name preceded by `prefix` when the query had to rename them.
    init(row: PostgresRow, prefix: String = "") throws {
        self.init(
            id: try row.decode(prefix + "id", as: UUID.self),
            slug: try TenantSlug(try row.decode(prefix + "slug", as: String.self)),
            displayName: try row.decode(prefix + "display_name", as: String.self),
            status: Status(rawValue: try row.decode(prefix + "status", as: String.self)) ?? .suspended
        )
    }

    /// The tenant's schema, `t_<slug>`.
    public var schema: SQLIdentifier { slug.schema }
}

/// A validated tenant slug: a lowercase letter, then 1 to 39 lowercase letters, digits or
/// underscores. It names the tenant's schema (`t_<slug>`) and role, so nothing else is allowed.
public struct TenantSlug: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public static let rule = "a lowercase letter followed by 1 to 39 lowercase letters, digits or underscores"

    /// - Throws: `ServiceError` with code `.invalidInput` naming the rule.
    public init(_ value: String) throws(ServiceError) {
        let bytes = Array(value.utf8)
        guard (2...40).contains(bytes.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0]),
            bytes.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_")
            })
        else {
            throw ServiceError(.invalidInput, "the slug '\(value)' is not valid: use \(Self.rule)")
        }
        self.value = value
    }

    public var schema: SQLIdentifier {
        // Valid by construction: "t_" plus at most 40 identifier characters.
        try! SQLIdentifier("t_" + value)
    }

    public var description: String { value }
}

/// The tenant router's rule for custom domains (the name type itself is ScryptexCore's).
extension HostName {
    /// Why `hostname` (already normalized) cannot be a custom domain of the tenant `slug`, or nil
    /// when it can. The platform domain answers the admin API and the platform's own pages, and
    /// every name under it is the platform's to give: a tenant gets `<slug>.<platform domain>`
    /// automatically, may add names under that, and no other. An IP address is not a domain (no certificate names it by SNI).
    public static func customDomainProblem(_ hostname: String, slug: TenantSlug, platformDomain: String) -> String? {
        let platform = platformDomain.lowercased()
        if hostname == platform {
            return "'\(hostname)' is the platform's own domain"
        }
        let own = slug.value + "." + platform
        if hostname == own {
            return "'\(hostname)' is the tenant's platform subdomain already"
        }
        if hostname.hasSuffix("." + platform), !hostname.hasSuffix("." + own) {
            return "'\(hostname)' is under the platform's domain, where only '\(own)' and names under it"
                + " belong to this tenant"
        }
        if let last = hostname.split(separator: ".").last, last.allSatisfy(\.isNumber) {
            return "'\(hostname)' is an IP address, not a domain name"
        }
        return nil
    }
}
