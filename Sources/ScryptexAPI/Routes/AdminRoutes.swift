public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexPostgres
public import ScryptexTenancy
import Synchronization

/// The platform admin API, on the platform domain only, with platform-admin keys only:
/// provisioning (the same operations as `scryptex tenant …`), custom domains, break-glass
/// access and the control plane's trail.
public struct AdminRoutes: RouteCollection {
    /// What provisioning over HTTP needs from the host's configuration.
    public struct Options: Sendable {
        public var platformDomain: String
        /// The modules' tenant schema, for new tenants.
        public var tenantSchema: TenantSchemaPlan
        /// Where final exports of deleted tenants are written.
        public var dataDirectory: String
        /// `CUSTOM_DOMAIN_SUPPORT`: off, adding a custom domain is 403.
        public var customDomainSupport: Bool
        /// Checks custom domains' TXT records (`DNS_RESOLVER`).
        public var domainLookup: any TXTLookup
        /// Where new tenants go when the request names no cluster (`TENANT_PLACEMENT`).
        public var placement = TenantProvisioner.Placement.primary

        public init(
            platformDomain: String, tenantSchema: TenantSchemaPlan, dataDirectory: String, customDomainSupport: Bool,
            domainLookup: any TXTLookup
        ) {
            self.platformDomain = platformDomain
            self.tenantSchema = tenantSchema
            self.dataDirectory = dataDirectory
            self.customDomainSupport = customDomainSupport
            self.domainLookup = domainLookup
        }
    }

    let options: Options
    let identity: IdentityService
    let sealing: AuditSealing
    let logger: Logger

    public init(options: Options, sealing: AuditSealing, services: APIServices) {
        self.options = options
        identity = services.identity
        self.sealing = sealing
        logger = services.logger
    }

    var pool: PostgresConnectionPool { identity.pool }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/admin/api/tenants", as: AdminCall.self) { tenants in
            tenants.post(use: create)
            tenants.get(use: list)
            tenants.get(":slug", use: tenant)
            tenants.post(":slug/suspend", use: suspend)
            tenants.post(":slug/resume", use: resume)
            tenants.get(":slug/export", use: export)
            tenants.delete(":slug", use: delete)
            tenants.post(":slug/domains", use: addDomain)
            tenants.post(":slug/domains/:hostname/verify", use: verifyDomain)
            tenants.delete(":slug/domains/:hostname", use: removeDomain)
        }
        routes.group("/admin/api", as: AdminCall.self) { admin in
            // Temporary, audited, read-only access to one tenant's data for a stated reason.
            admin.post("break-glass", use: breakGlass)
            admin.get("audit-trail/verify", use: verifyTrail)
        }
    }

    @Sendable func create(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var slug: String
            var displayName: String
            var legalName: String?
            var domains: [String]?
            var features: [String: Bool]?
            var ownerKeyName: String?
            /// The tenant cluster (`primary` or a name in `TENANT_CLUSTERS`); else `TENANT_PLACEMENT`.
            var placement: String?
        }
        let body = try request.decodeJSON(Body.self)
        let (tenant, ownerKey) = try await provision(
            TenantProvisioner.Request(
                slug: body.slug, displayName: body.displayName, legalName: body.legalName, domains: body.domains ?? [],
                features: body.features ?? [:], placement: body.placement),
            ownerKeyName: body.ownerKeyName, for: call)
        struct Created: Encodable {
            var tenant: TenantSummary
            var ownerKey: String
        }
        return try .json(encoding: Created(tenant: tenant, ownerKey: ownerKey), status: .created)
    }

    /// Provisions a tenant with a first owner API key, made inside the provisioning transaction
    /// and returned once; the platform console provisions the same way.
    public func provision(
        _ request: TenantProvisioner.Request, ownerKeyName: String?, for call: AdminCall
    ) async throws -> (TenantSummary, ownerKey: String) {
        let ownerKey = Mutex<SecretToken?>(nil)
        let (identity, keyring, actor, requestID) = (identity, identity.keyring, call.admin.actor, call.requestID)
        var provisioner = TenantProvisioner(
            platformDomain: options.platformDomain, tenantSchema: options.tenantSchema, logger: logger
        ) { tenant, transaction in
            try await TenantIdentitySetUp.setUp(
                tenant, keyring: keyring, actor: actor, requestID: requestID, in: transaction)
            try await TenantScope.run(as: tenant, in: transaction) {
                let (token, _) = try await identity.createAPIKey(
                    name: ownerKeyName ?? "first owner", roles: ["owner"], expiresAt: nil,
                    grantedBy: .host(actor: actor), requestID: requestID, tenant: tenant, in: transaction)
                ownerKey.withLock { $0 = token }
            }
        }
        provisioner.allowsCustomDomains = options.customDomainSupport
        provisioner.placement = options.placement
        let tenant = try await provisioner.create(request, on: pool)
        return (try await summary(tenant.slug), ownerKey.withLock { $0?.text } ?? "")
    }

    @Sendable func list(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try .json(encoding: ["tenants": try await TenantRegistry().summaries(from: pool)])
    }

    @Sendable func tenant(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try .json(encoding: try await summary(try call.slug()))
    }

    @Sendable func suspend(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try await setStatus(.suspended, call)
    }

    @Sendable func resume(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try await setStatus(.active, call)
    }

    private func setStatus(_ status: Tenant.Status, _ call: AdminCall) async throws -> HTTPResponse {
        try .json(encoding: try await setStatus(status, of: try call.slug(), for: call))
    }

    /// Suspends or resumes a tenant, recorded in both trails; the console does the same.
    public func setStatus(
        _ status: Tenant.Status, of slug: TenantSlug, for call: AdminCall
    ) async throws -> TenantSummary {
        try await TenantLifecycle(record: call.lifecycleRecorder).setStatus(status, of: slug.value, on: pool)
        return try await summary(slug)
    }

    /// Two steps, as on the command line: suspended first, then the slug again as `confirm`.
    @Sendable func delete(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let slug = try call.slug()
        let confirmation = QueryParameters(request)["confirm"] ?? ""
        let path = TenantExportFile.finalExportPath(for: slug.value, dataDirectory: options.dataDirectory)
        try await TenantDeletion(archive: archive, record: call.lifecycleRecorder).delete(
            slug.value, confirmation: confirmation, on: pool
        ) { lines in
            try TenantExportFile.write(lines, to: path)
        }
        identity.keyring.forget(try await tenantID(slug))
        return try .json(encoding: ["deleted": slug.value, "finalExport": path])
    }

    /// The tenant archive: schema, data and control-plane rows, data keys still wrapped.
    var archive: TenantArchive {
        TenantArchive(
            provisioner: TenantIdentitySetUp.provisioner(
                platformDomain: options.platformDomain, tenantSchema: options.tenantSchema, keyring: identity.keyring,
                logger: logger),
            participants: [DataKeyArchive(keyring: identity.keyring, columns: options.tenantSchema.sealedColumns)],
            logger: logger)
    }

    /// `GET /admin/api/tenants/:slug/export`: the tenant's archive (JSON lines, as
    /// `scryptex tenant export` writes it), recorded in the platform's trail.
    @Sendable func export(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let slug = try call.slug()
        return Self.download(try await export(slug, for: call), slug: slug)
    }

    /// The tenant's archive, with the export recorded in the platform's trail (who, how many
    /// lines); the console's export does the same.
    public func export(_ slug: TenantSlug, for call: AdminCall) async throws -> [String] {
        let lines = try await archive.export(slug.value, on: pool)
        try await pool.withTransaction { transaction in
            try await call.recordPlatformEvent(
                "tenant.exported", slug: slug, details: ["lines": String(lines.count)], in: transaction)
        }
        return lines
    }

    /// An archive as a download: never cached, named after the tenant and the time.
    public static func download(_ lines: [String], slug: TenantSlug, at time: Date = Date()) -> HTTPResponse {
        var response = HTTPResponse(
            status: .ok, contentType: "application/x-ndjson",
            body: Array((lines.joined(separator: "\n") + "\n").utf8))
        let stamp = Int(time.timeIntervalSince1970)
        response.headers.replaceOrAdd(
            name: "Content-Disposition", value: "attachment; filename=\"\(slug.value)-\(stamp).jsonl\"")
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    @Sendable func addDomain(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let slug = try call.slug()
        struct Body: Decodable { var hostname: String }
        let body = try request.decodeJSON(Body.self)
        guard options.customDomainSupport else {
            throw HTTPProblem(
                .forbidden, type: .featureDisabled, detail: "custom domains are disabled (CUSTOM_DOMAIN_SUPPORT=false)")
        }
        guard let hostname = HostName.normalized(body.hostname) else {
            throw HTTPProblem.badRequest(
                "field 'hostname': '\(body.hostname)' is not a valid host name (use punycode for IDN)",
                type: .invalidField)
        }
        if let problem = HostName.customDomainProblem(hostname, slug: slug, platformDomain: options.platformDomain) {
            throw HTTPProblem.badRequest("field 'hostname': \(problem)", type: .invalidField)
        }
        let id = try await tenantID(slug)
        try await pool.withTransaction { transaction in
            try await TenantRegistry().addCustomDomain(hostname, to: id, in: transaction)
            try await call.recordPlatformEvent(
                "domain.added", slug: slug, details: ["hostname": hostname], in: transaction)
            try await TenantChangeFeed.announce(slug.value, in: transaction)
        }
        // Served once its owner proves control of it: the TXT record to publish.
        struct Added: Encodable {
            var tenant: TenantSummary
            var domain: DomainVerification.Outcome
        }
        return try .json(
            encoding: Added(
                tenant: try await summary(slug), domain: try await DomainVerification.status(of: hostname, from: pool)),
            status: .created)
    }

    /// Checks the domain's TXT record now: verified, it is served; otherwise the answer says what
    /// is missing.
    @Sendable func verifyDomain(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let slug = try call.slug()
        let hostname = HostName.normalized(try call.parameter("hostname")) ?? ""
        let outcome = try await DomainVerification(lookup: options.domainLookup).verify(
            hostname, of: try await tenantID(slug), on: pool)
        try await pool.withTransaction { transaction in
            try await call.recordPlatformEvent(
                "domain.checked", slug: slug, details: ["hostname": hostname, "state": outcome.state.rawValue],
                in: transaction)
        }
        return try .json(encoding: outcome)
    }

    @Sendable func removeDomain(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let slug = try call.slug()
        let hostname = HostName.normalized(try call.parameter("hostname")) ?? ""
        let id = try await tenantID(slug)
        try await pool.withTransaction { transaction in
            guard try await TenantRegistry().removeCustomDomain(hostname, from: id, in: transaction) else {
                throw HTTPProblem.notFound("tenant '\(slug)' has no custom domain '\(hostname)'")
            }
            try await call.recordPlatformEvent(
                "domain.removed", slug: slug, details: ["hostname": hostname], in: transaction)
            try await TenantChangeFeed.announce(slug.value, in: transaction)
        }
        return .noContent
    }

    @Sendable func breakGlass(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var tenant: String
            var reason: String
            var minutes: Int
        }
        let body = try request.decodeJSON(Body.self)
        // Checked before any arithmetic: the grant's length is bounded by the service anyway.
        guard (1...480).contains(body.minutes) else {
            throw HTTPProblem.badRequest("field 'minutes': a grant lasts 1 to 480 minutes", type: .invalidField)
        }
        let slug: TenantSlug
        do { slug = try TenantSlug(body.tenant) } catch { throw HTTPProblem.badRequest("field 'tenant': \(error)") }
        guard var tenant = try await TenantRegistry().tenant(slug, statuses: [.active, .suspended], from: pool) else {
            throw HTTPProblem.notFound("no tenant '\(slug)'")
        }
        // Break-glass reaches a suspended tenant's data too.
        tenant.status = .active
        let grant = try await identity.grantBreakGlass(
            adminPrefix: String(call.admin.actor.dropFirst("platform-admin:".count)), tenant: tenant,
            reason: body.reason, duration: .seconds(body.minutes * 60), requestID: call.requestID)
        return try .json(encoding: ["grant": grant.uuidString.lowercased()], status: .created)
    }

    @Sendable func verifyTrail(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let checkpointKey = identity.keyring.auditCheckpointKey
        let verification = try await pool.withTransaction { transaction in
            try await sealing.verify(PlatformSchema.name, checkpointKey: checkpointKey, in: transaction)
        }
        return try .json(encoding: verification)
    }

    private func tenantID(_ slug: TenantSlug) async throws -> UUID {
        guard let tenant = try await TenantRegistry().tenant(slug, from: pool) else {
            throw HTTPProblem.notFound("no tenant has the slug '\(slug)'")
        }
        return tenant.id
    }

    /// A tenant as admins see it; 404 when there is none.
    public func summary(_ slug: TenantSlug) async throws -> TenantSummary {
        guard let summary = try await TenantRegistry().summary(of: slug, from: pool) else {
            throw HTTPProblem.notFound("no tenant has the slug '\(slug)'")
        }
        return summary
    }
}

extension AdminCall {
    /// The tenant slug from the path (`:slug`); 400 naming what is wrong with a malformed one.
    public func slug() throws -> TenantSlug {
        do {
            return try TenantSlug(try parameter("slug"))
        } catch let error as ServiceError {
            throw HTTPProblem.badRequest(error.message, type: .invalidField)
        }
    }

    /// Records tenant lifecycle events as this admin, in the control plane's trail and the tenant's.
    var lifecycleRecorder: TenantEventRecorder {
        TenantIdentitySetUp.lifecycleRecorder(actor: admin.actor, requestID: requestID)
    }

    /// Appends an event about a tenant to the control plane's trail, as this admin.
    public func recordPlatformEvent(
        _ action: String, slug: TenantSlug, details: [String: String], in transaction: PostgresTransaction
    ) async throws {
        try await recordPlatformEvent(
            action, objectType: "tenant", objectID: slug.value, details: details, in: transaction)
    }

    /// Appends an event about anything the platform holds to the control plane's trail, as this admin.
    public func recordPlatformEvent(
        _ action: String, objectType: String, objectID: String, details: [String: String],
        in transaction: PostgresTransaction
    ) async throws {
        try await AuditTrail(schema: PlatformSchema.name).append(
            AuditEvent(
                actor: admin.actor, action: action, objectType: objectType, objectID: objectID, requestID: requestID,
                details: details), in: transaction)
    }
}
