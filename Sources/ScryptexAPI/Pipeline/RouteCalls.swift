public import Foundation
import ScryptexCore
public import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexInstitutional
public import ScryptexPostgres
public import ScryptexTenancy

/// What a route's guard admitted: the request's tenant, its principal, or both.
public enum Admission: Sendable {
    /// A public route on a serving tenant's domain.
    case publicTenant(Tenant)
    /// A tenant principal on its tenant's domain, holding the route's permission.
    case tenantPrincipal(Tenant, Principal)
    /// A platform admin on the platform domain.
    case platformAdmin(Principal)
    /// A public route on the platform domain.
    case publicPlatform
}

/// What a handler receives besides the request: built once, by the route's guard, from what it
/// admitted. Each kind of call is a kind of access (see ``RouteAccess``).
public protocol RouteCall: Sendable {
    /// The access of a route of this kind, needing `permission` where the kind takes one.
    static func access(_ permission: Permission?) -> RouteAccess

    init(_ admission: Admission, context: RequestContext, services: APIServices) throws
}

/// A call on a tenant's domain by one of its principals: the tenant, the principal, the
/// tenant's scope for SQL and an audit sink that records as the principal.
public struct TenantCall: RouteCall {
    public let context: RequestContext
    public let tenant: Tenant
    public let principal: Principal
    public let scope: TenantScope
    public let audit: TenantAuditSink
    public let services: APIServices

    public static func access(_ permission: Permission?) -> RouteAccess {
        permission.map { .permission($0) } ?? .authenticated
    }

    public init(_ admission: Admission, context: RequestContext, services: APIServices) throws {
        guard case .tenantPrincipal(let tenant, let principal) = admission else { throw Admission.mismatch }
        self.context = context
        self.tenant = tenant
        self.principal = principal
        scope = TenantScope(tenant: tenant, pool: services.pool)
        audit = TenantAuditSink(schema: tenant.schema, actor: principal.actor, requestID: context.requestID)
        self.services = services
    }

    public var requestID: String { context.requestID }

    /// The path parameter `name`.
    public func parameter(_ name: String) throws -> String { try context.parameter(name) }

    /// The tenant's data keys, for personal data sealed at rest.
    public func keys() async throws -> Keyring.TenantKeys {
        try await services.identity.keyring.keys(for: tenant.id, on: services.pool)
    }
}

/// A call on a serving tenant's domain that needs no credential (sign-in, branding).
public struct PublicTenantCall: RouteCall {
    public let context: RequestContext
    public let tenant: Tenant

    public static func access(_ permission: Permission?) -> RouteAccess {
        precondition(permission == nil, "a public route needs no permission")
        return .publicTenant
    }

    public init(_ admission: Admission, context: RequestContext, services: APIServices) throws {
        guard case .publicTenant(let tenant) = admission else { throw Admission.mismatch }
        self.context = context
        self.tenant = tenant
    }
}

/// A call on the platform domain that needs no credential (the console's sign-in).
public struct PublicPlatformCall: RouteCall {
    public let context: RequestContext

    public static func access(_ permission: Permission?) -> RouteAccess {
        precondition(permission == nil, "a public route needs no permission")
        return .publicPlatform
    }

    public init(_ admission: Admission, context: RequestContext, services: APIServices) throws {
        guard case .publicPlatform = admission else { throw Admission.mismatch }
        self.context = context
    }
}

/// A platform admin's call, on the platform domain.
public struct AdminCall: RouteCall {
    public let context: RequestContext
    public let admin: Principal

    public static func access(_ permission: Permission?) -> RouteAccess {
        precondition(permission == nil, "platform admins hold every platform permission")
        return .platformAdmin
    }

    public init(_ admission: Admission, context: RequestContext, services: APIServices) throws {
        guard case .platformAdmin(let admin) = admission else { throw Admission.mismatch }
        self.context = context
        self.admin = admin
    }

    public var requestID: String { context.requestID }

    /// The path parameter `name`.
    public func parameter(_ name: String) throws -> String { try context.parameter(name) }
}

/// Partner reporting both sides read: a tenant principal with the permission on the tenant's
/// domain, or a platform admin on the platform domain.
public enum PartnerCall: RouteCall {
    case partner(TenantCall)
    case platformAdmin(AdminCall)

    public static func access(_ permission: Permission?) -> RouteAccess {
        guard let permission else { preconditionFailure("a partner route names the permission partners need") }
        return .partnerOrPlatformAdmin(permission)
    }

    public init(_ admission: Admission, context: RequestContext, services: APIServices) throws {
        switch admission {
        case .tenantPrincipal: self = .partner(try TenantCall(admission, context: context, services: services))
        case .platformAdmin: self = .platformAdmin(try AdminCall(admission, context: context, services: services))
        case .publicTenant, .publicPlatform: throw Admission.mismatch
        }
    }

    public var context: RequestContext {
        switch self {
        case .partner(let call): call.context
        case .platformAdmin(let call): call.context
        }
    }

    /// The partner's tenant when the caller is the partner; nil for a platform admin.
    public var tenant: Tenant? {
        if case .partner(let call) = self { return call.tenant }
        return nil
    }

    /// The path parameter `name`.
    public func parameter(_ name: String) throws -> String { try context.parameter(name) }
}

extension Admission {
    /// A guard that admitted something other than its route's kind of call: a programming error
    /// in the route table, answered as a 500.
    static let mismatch = ServiceError(.corrupt, "the route's guard admitted another kind of caller")
}

/// Appends to one tenant's trail as the request's principal.
public struct TenantAuditSink: AuditSink {
    let schema: SQLIdentifier
    let actor: String
    let requestID: String?

    public init(schema: SQLIdentifier, actor: String, requestID: String?) {
        self.schema = schema
        self.actor = actor
        self.requestID = requestID
    }

    public func record(
        _ action: String, objectType: String, objectID: String?, accountID: UUID?, details: [String: String],
        in transaction: PostgresTransaction
    ) async throws {
        try await AuditTrail(schema: schema).append(
            AuditEvent(
                actor: actor, action: action, objectType: objectType, objectID: objectID, accountID: accountID,
                requestID: requestID, details: details),
            in: transaction)
    }
}
