import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import Synchronization

/// Provisioning over HTTP for platform admins: the same operations as `scryptex tenant …`.
enum AdminTenantRoutes {
    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        let configuration = services.configuration

        routes.add(.post, "/admin/api/tenants", .platformAdmin) { request, context in
            let admin = try IdentityRoutes.principalOf(context)
            struct Body: Decodable {
                var slug: String
                var displayName: String
                var legalName: String?
                var domains: [String]?
                var features: [String: Bool]?
                var ownerKeyName: String?
            }
            let body = try request.decodeJSON(Body.self)
            // The first owner credential is made inside the provisioning transaction and shown once.
            let ownerKey = Mutex<SecretToken?>(nil)
            let base = TenantIdentitySetUp.provisioner(
                configuration, keyring: services.identity.keyring, logger: services.logger)
            let provisioner = TenantProvisioner(
                platformDomain: base.platformDomain, tenantSchema: base.tenantSchema, logger: services.logger
            ) { tenant, transaction in
                try await TenantIdentitySetUp.setUp(
                    tenant, keyring: services.identity.keyring, actor: admin.actor, requestID: context.requestID,
                    in: transaction)
                try await TenantScope.run(as: tenant, in: transaction) {
                    let (token, _) = try await services.identity.createAPIKey(
                        name: body.ownerKeyName ?? "first owner", roles: ["owner"], expiresAt: nil,
                        grantedBy: .host(actor: admin.actor), requestID: context.requestID, tenant: tenant,
                        in: transaction)
                    ownerKey.withLock { $0 = token }
                }
            }
            let tenant = try await tenancy {
                try await provisioner.create(
                    .init(
                        slug: body.slug, displayName: body.displayName, legalName: body.legalName,
                        domains: body.domains ?? [], features: body.features ?? [:]),
                    on: services.pool)
            }
            struct Created: Encodable {
                var tenant: TenantSummary
                var ownerKey: String
            }
            return try JSONResponse.encode(
                Created(
                    tenant: try await summary(tenant.slug, pool: services.pool),
                    ownerKey: ownerKey.withLock { $0?.text } ?? ""),
                status: .created)
        }
        routes.add(.get, "/admin/api/tenants", .platformAdmin) { _, _ in
            return try JSONResponse.encode(["tenants": try await TenantRegistry().summaries(from: services.pool)])
        }
        routes.add(.get, "/admin/api/tenants/:slug", .platformAdmin) { _, context in
            let slug = try slugParameter(context)
            return try JSONResponse.encode(try await summary(slug, pool: services.pool))
        }
        for (action, status) in [("suspend", Tenant.Status.suspended), ("resume", .active)] {
            routes.add(.post, "/admin/api/tenants/:slug/\(action)", .platformAdmin) { _, context in
                let slug = try slugParameter(context)
                let admin = try IdentityRoutes.principalOf(context)
                try await tenancy {
                    try await TenantLifecycle(
                        record: TenantIdentitySetUp.lifecycleRecorder(actor: admin.actor, requestID: context.requestID)
                    ).setStatus(status, of: slug.value, on: services.pool)
                }
                return try JSONResponse.encode(try await summary(slug, pool: services.pool))
            }
        }
        // Two steps, as on the command line: suspended first, then the slug again as `confirm`.
        routes.add(.delete, "/admin/api/tenants/:slug", .platformAdmin) { request, context in
            let slug = try slugParameter(context)
            let admin = try IdentityRoutes.principalOf(context)
            let confirmation = QueryParameters(request.query)["confirm"] ?? ""
            let archive = TenantArchive(
                provisioner: TenantIdentitySetUp.provisioner(
                    configuration, keyring: services.identity.keyring, logger: services.logger),
                logger: services.logger)
            let path = TenantExportFile.finalExportPath(for: slug.value, dataDirectory: configuration.dataDirectory)
            try await tenancy {
                try await TenantDeletion(
                    archive: archive,
                    record: TenantIdentitySetUp.lifecycleRecorder(actor: admin.actor, requestID: context.requestID)
                ).delete(slug.value, confirmation: confirmation, on: services.pool) { lines in
                    try TenantExportFile.write(lines, to: path)
                }
            }
            services.identity.keyring.forget(try await tenantID(slug, pool: services.pool))
            return try JSONResponse.encode(["deleted": slug.value, "finalExport": path])
        }
        routes.add(.post, "/admin/api/tenants/:slug/domains", .platformAdmin) { request, context in
            let slug = try slugParameter(context)
            let admin = try IdentityRoutes.principalOf(context)
            struct Body: Decodable { var hostname: String }
            let body = try request.decodeJSON(Body.self)
            guard configuration.customDomainSupport else {
                throw HTTPProblem(
                    .forbidden, type: .featureDisabled,
                    detail: "custom domains are disabled (CUSTOM_DOMAIN_SUPPORT=false)")
            }
            guard let hostname = HostName.normalized(body.hostname) else {
                throw HTTPProblem.badRequest(
                    "field 'hostname': '\(body.hostname)' is not a valid host name (use punycode for IDN)",
                    type: .invalidField)
            }
            if let problem = HostName.customDomainProblem(
                hostname, slug: slug, platformDomain: configuration.platformDomain)
            {
                throw HTTPProblem.badRequest("field 'hostname': \(problem)", type: .invalidField)
            }
            let id = try await tenantID(slug, pool: services.pool)
            try await tenancy {
                try await services.pool.withTransaction { transaction in
                    try await TenantRegistry().addCustomDomain(hostname, to: id, in: transaction)
                    try await AuditTrail(schema: PlatformSchema.name).append(
                        AuditEvent(
                            actor: admin.actor, action: "domain.added", objectType: "tenant", objectID: slug.value,
                            requestID: context.requestID, details: ["hostname": hostname]), in: transaction)
                    try await TenantChangeFeed.announce(slug.value, in: transaction)
                }
            }
            return try JSONResponse.encode(try await summary(slug, pool: services.pool), status: .created)
        }
        routes.add(.delete, "/admin/api/tenants/:slug/domains/:hostname", .platformAdmin) { _, context in
            let slug = try slugParameter(context)
            let admin = try IdentityRoutes.principalOf(context)
            let hostname = HostName.normalized(try context.parameter("hostname")) ?? ""
            let id = try await tenantID(slug, pool: services.pool)
            try await services.pool.withTransaction { transaction in
                guard try await TenantRegistry().removeCustomDomain(hostname, from: id, in: transaction) else {
                    throw HTTPProblem.notFound("tenant '\(slug)' has no custom domain '\(hostname)'")
                }
                try await AuditTrail(schema: PlatformSchema.name).append(
                    AuditEvent(
                        actor: admin.actor, action: "domain.removed", objectType: "tenant", objectID: slug.value,
                        requestID: context.requestID, details: ["hostname": hostname]), in: transaction)
                try await TenantChangeFeed.announce(slug.value, in: transaction)
            }
            return HTTPResponse(status: .noContent)
        }
    }

    static func slugParameter(_ context: RequestContext) throws -> TenantSlug {
        do {
            return try TenantSlug(try context.parameter("slug"))
        } catch let error as ServiceError {
            throw HTTPProblem.badRequest(error.message, type: .invalidField)
        }
    }

    static func tenantID(_ slug: TenantSlug, pool: PostgresConnectionPool) async throws -> UUID {
        guard let tenant = try await TenantRegistry().tenant(slug, from: pool) else {
            throw HTTPProblem.notFound("no tenant has the slug '\(slug)'")
        }
        return tenant.id
    }

    /// Runs tenancy work, answering its errors as 400, 404 or 409 with their message.
    static func tenancy<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw problem(for: error)
        }
    }

    /// A tenant as admins see it; 404 when there is none.
    static func summary(_ slug: TenantSlug, pool: PostgresConnectionPool) async throws -> TenantSummary {
        guard let summary = try await TenantRegistry().summary(of: slug, from: pool) else {
            throw HTTPProblem.notFound("no tenant has the slug '\(slug)'")
        }
        return summary
    }
}

/// Final exports and exports written to the data folder, readable by the host's user only.
enum TenantExportFile {
    static func finalExportPath(for slug: String, dataDirectory: String) -> String {
        dataDirectory + "/exports/\(slug)-final-\(Int(Date().timeIntervalSince1970)).jsonl"
    }

    static func write(_ lines: [String], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw ServiceError(.invalidInput, "cannot write the export to \(path); nothing was deleted")
        }
    }
}
