import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// One tenant declared in `tenants/<slug>.json`.
///
/// ```json
/// {"slug": "acme", "displayName": "Acme Capital", "legalName": "Acme Capital Management LLC",
///  "domains": ["trade.acme.example"],
///  "branding": {"productName": "Acme Prime", "colors": {"primary": "#0B3D91"}, "supportEmail": "desk@acme.example"},
///  "features": {"market_making": false}, "placement": "eu"}
/// ```
public struct TenantManifest: Sendable, Decodable, Equatable {
    public var slug: String
    public var displayName: String
    public var legalName: String?
    public var domains: [String]?
    public var branding: TenantBranding?
    public var features: [String: Bool]?
    /// The partner's revenue share, a flat percentage of its fees (the host turns it into a plan
    /// version from the current month when it differs from the plan in force).
    public var revenueSharePercent: ExactDecimal?
    /// The PostgreSQL cluster a new tenant is created on (`primary` or a name in
    /// `TENANT_CLUSTERS`); nil follows `TENANT_PLACEMENT`. An existing tenant is not moved by its
    /// file: a move is `scryptex tenant move`.
    public var placement: String?

    /// Reads and checks a manifest file.
    /// - Throws: `ServiceError` naming the file, the field and the problem.
    public static func load(path: String) throws -> TenantManifest {
        let file = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServiceError(.invalidInput, "\(file): cannot be read")
        }
        let manifest: TenantManifest
        do {
            manifest = try JSONDecoder().decode(TenantManifest.self, from: data)
        } catch let error as DecodingError {
            throw ServiceError(.invalidInput, "\(file): \(DecodingErrorDescription.describe(error))")
        }
        do {
            _ = try TenantSlug(manifest.slug)
        } catch {
            throw ServiceError(.invalidInput, "\(file): field 'slug': \(error.message)")
        }
        guard (file as NSString).deletingPathExtension == manifest.slug else {
            throw ServiceError(
                .invalidInput,
                "\(file): field 'slug' is '\(manifest.slug)' but the file must be named \(manifest.slug).json")
        }
        for (index, domain) in (manifest.domains ?? []).enumerated() where HostName.normalized(domain) == nil {
            throw ServiceError(
                .invalidInput, "\(file): field 'domains[\(index)]': '\(domain)' is not a valid host name")
        }
        for (name, value) in manifest.branding?.colors ?? [:] where !TenantBranding.isHexColor(value) {
            throw ServiceError(
                .invalidInput, "\(file): field 'branding.colors.\(name)': '\(value)' is not a colour like #0B3D91"
            )
        }
        if let placement = manifest.placement, !TenantClusters.isValidName(placement) {
            throw ServiceError(
                .invalidInput,
                "\(file): field 'placement': '\(placement)' is not a cluster name (primary, or a name in TENANT_CLUSTERS)"
            )
        }
        for feature in (manifest.features ?? [:]).keys where TenantProvisioner.defaultFeatures[feature] == nil {
            throw ServiceError(.invalidInput, "\(file): field 'features.\(feature)' is not a known feature")
        }
        if let share = manifest.revenueSharePercent,
            share.isNegative || share > ExactDecimal(100) || share.significantScale > 4
        {
            throw ServiceError(
                .invalidInput,
                "\(file): field 'revenueSharePercent': a percentage from 0 to 100 with at most 4 decimals")
        }
        return manifest
    }
}

/// Applies `tenants/*.json` to the control plane: missing tenants are created, branding and
/// flags of existing ones brought in line, missing domains added. A tenant absent from the
/// folder is never deleted; it is reported. Every file is checked before anything is applied,
/// so a malformed file stops the sync with nothing of it applied.
public struct TenantSync: Sendable {
    public struct Report: Sendable, Equatable {
        public var created: [String] = []
        public var updated: [String] = []
        /// Tenants in the database with no file in the folder (left as they are).
        public var notInFolder: [String] = []

        public init(created: [String] = [], updated: [String] = [], notInFolder: [String] = []) {
            self.created = created
            self.updated = updated
            self.notInFolder = notInFolder
        }
    }

    private let provisioner: TenantProvisioner
    private let logger: Logger

    public init(provisioner: TenantProvisioner, logger: Logger) {
        self.provisioner = provisioner
        self.logger = logger
    }

    public func apply(folder: String, on pool: PostgresConnectionPool) async throws -> Report {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasSuffix(".json")
        }.sorted()
        let manifests = try files.map { try TenantManifest.load(path: folder + "/" + $0) }
        var report = Report()
        let existing = Set(try await provisioner.list(on: pool).map(\.slug.value))
        for manifest in manifests {
            if !existing.contains(manifest.slug) {
                try await provisioner.create(
                    .init(
                        slug: manifest.slug, displayName: manifest.displayName, legalName: manifest.legalName,
                        domains: manifest.domains ?? [], features: manifest.features ?? [:],
                        placement: manifest.placement
                    ),
                    on: pool
                )
                report.created.append(manifest.slug)
            } else {
                report.updated.append(manifest.slug)
                if let wanted = manifest.placement,
                    let current = try await TenantRegistry().summary(of: try TenantSlug(manifest.slug), from: pool)?
                        .placement, current != wanted
                {
                    logger.notice(
                        "tenant's file names another cluster than the one it is on; move it with scryptex tenant move",
                        ["tenant": manifest.slug, "cluster": current, "file": wanted])
                }
            }
            try await apply(manifest, on: pool)
        }
        report.notInFolder = existing.subtracting(manifests.map(\.slug)).sorted()
        for slug in report.notInFolder {
            logger.notice("tenant has no file in the tenants folder; left unchanged", ["tenant": slug])
        }
        return report
    }

    /// Brings branding, flags and domains in line with the manifest.
    private func apply(_ manifest: TenantManifest, on pool: PostgresConnectionPool) async throws {
        try await pool.withTransaction { transaction in
            let registry = TenantRegistry()
            guard let id = try await registry.tenant(try TenantSlug(manifest.slug), from: transaction)?.id
            else { throw ServiceError(.notFound, "tenant '\(manifest.slug)' disappeared during the sync") }
            try await registry.rename(
                id, displayName: manifest.displayName, legalName: manifest.legalName, in: transaction)
            if let branding = manifest.branding { try await branding.save(for: id, in: transaction) }
            try await registry.setFeatureFlags(manifest.features ?? [:], of: id, in: transaction)
            try await TenantChangeFeed.announce(manifest.slug, in: transaction)
            for domain in manifest.domains ?? [] {
                guard let hostname = HostName.normalized(domain) else { continue }
                let slug = try TenantSlug(manifest.slug)
                if hostname != slug.value + "." + provisioner.platformDomain,
                    let problem = HostName.customDomainProblem(
                        hostname, slug: slug, platformDomain: provisioner.platformDomain)
                {
                    throw ServiceError(.invalidInput, "tenant '\(manifest.slug)': field 'domains': \(problem)")
                }
                if let other = try await registry.owner(of: hostname, from: transaction) {
                    if other != id {
                        throw ServiceError(
                            .conflict, "the domain '\(hostname)' of tenant '\(manifest.slug)' belongs to another tenant"
                        )
                    }
                    continue
                }
                guard provisioner.allowsCustomDomains else { throw TenantProvisioner.customDomainsDisabled(hostname) }
                try await registry.addCustomDomain(hostname, to: id, in: transaction)
            }
        }
    }
}
