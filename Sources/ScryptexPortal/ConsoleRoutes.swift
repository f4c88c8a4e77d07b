public import Foundation
public import ScryptexAPI
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexRevenue
public import ScryptexTemplates
import ScryptexTenancy

/// The platform console: pages under `/console` on the platform domain for platform admins —
/// the tenants and their state (provision, suspend, resume), each tenant's domains, plan and
/// feature flags, the sanctions list versions, and the host's health. An admin signs in with
/// their `sxa_` key once; the browser then holds a console session (``ConsoleCookie``). Every
/// action runs the admin API's own operations (``AdminRoutes``) behind the same guard.
public struct ConsoleRoutes: RouteCollection {
    let services: APIServices
    let templates: TemplateLibrary
    let admin: AdminRoutes
    let revenue: RevenueRoutes
    let certificates: any CertificateInventory

    /// - Parameters:
    ///   - admin, revenue: The admin API's collections whose operations the console runs.
    ///   - certificates: Each domain's certificate and last ACME attempt.
    public init(
        services: APIServices, templates: TemplateLibrary, admin: AdminRoutes, revenue: RevenueRoutes,
        certificates: any CertificateInventory
    ) {
        self.services = services
        self.templates = templates
        self.admin = admin
        self.revenue = revenue
        self.certificates = certificates
    }

    public static let root = "/console"

    public func add(to routes: inout SecuredRoutes) {
        routes.group(Self.root, as: PublicPlatformCall.self) { open in
            open.get("sign-in", use: signInPage)
            open.post("sign-in", use: signIn)
            open.get("style.css", use: stylesheet)
        }
        routes.group(Self.root, as: AdminCall.self) { console in
            console.get(use: overview)
            console.post("sign-out", use: form(signOut))
            console.post("tenants", use: form(provision))
            console.get("tenants/:slug", use: tenantPage)
            console.post("tenants/:slug/suspend", use: form(suspend))
            console.post("tenants/:slug/resume", use: form(resume))
            console.post("tenants/:slug/features", use: form(setFeatures))
            console.post("tenants/:slug/export", use: form(export))
        }
        routes.group(Self.root, as: AdminCall.self, enabledBy: revenue.hostSwitch) { console in
            console.get("revenue", use: revenuePage)
        }
    }

    // MARK: Signing in

    @Sendable func signInPage(_ request: HTTPRequest, _ call: PublicPlatformCall) async throws -> HTTPResponse {
        try render("console-sign-in", title: "Platform console", values: [:])
    }

    @Sendable func signIn(_ request: HTTPRequest, _ call: PublicPlatformCall) async throws -> HTTPResponse {
        let form = try request.formFields()
        try services.limiter.admit(
            "console-sign-in:\(call.context.remoteAddress)", limit: services.options.loginRateLimit,
            what: "sign-in attempts")
        do {
            let (token, expires) = try await services.identity.signInAdmin(
                key: form.exactly("key") ?? "", requestID: call.context.requestID)
            var response = HTTPResponse.redirect(to: Self.root)
            response.headers.add(
                name: "Set-Cookie",
                value: ConsoleCookie.setting(token.text, maxAge: Int(expires.timeIntervalSinceNow)))
            return response
        } catch let error as ServiceError where error.code == .unauthenticated {
            return try render(
                "console-sign-in", title: "Platform console",
                values: ["error": "That is not a usable platform-admin key."], status: .unauthorized)
        }
    }

    func signOut(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        try await services.identity.signOutAdmin(call.admin, requestID: call.requestID)
        var response = HTTPResponse.redirect(to: Self.root + "/sign-in")
        response.headers.add(name: "Set-Cookie", value: ConsoleCookie.setting("", maxAge: 0))
        return response
    }

    @Sendable func stylesheet(_ request: HTTPRequest, _ call: PublicPlatformCall) async throws -> HTTPResponse {
        var response = HTTPResponse(
            status: .ok, contentType: "text/css; charset=utf-8", body: Array(Stylesheet.css(for: nil).utf8))
        response.headers.add(name: "Cache-Control", value: "no-cache")
        return response
    }

    // MARK: Forms

    typealias FormHandler = @Sendable (HTTPRequest, AdminCall, FormFields) async throws -> HTTPResponse

    /// Console forms carry their session's own random token; a key used directly (no session)
    /// has none and cannot post the console's forms.
    func form(_ handler: @escaping FormHandler) -> RouteGroup<AdminCall>.Handler {
        { request, call in
            let form = try request.formFields()
            guard let expected = try await services.identity.consoleFormToken(of: call.admin) else {
                throw HTTPProblem(
                    .forbidden, type: .invalidFormToken, detail: "the console's forms need a console session; sign in")
            }
            try FormToken.check(form, expected: expected)
            return try await handler(request, call, form)
        }
    }

    // MARK: Pages

    func render(
        _ template: String, title: String, values: [String: TemplateValue], status: HTTPStatus = .ok
    ) throws -> HTTPResponse {
        var value = values
        value["title"] = .string(title)
        return PortalRoutes.html(try templates.render(template, .object(value)), status: status)
    }

    func page(
        _ template: String, title: String, call: AdminCall, values: [String: TemplateValue], status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        var value = values
        value["csrf"] = .string(try await services.identity.consoleFormToken(of: call.admin) ?? "")
        value["admin"] = .string(call.admin.actor)
        return try render(template, title: title, values: value, status: status)
    }

    @Sendable func overview(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        try await overviewPage(call)
    }

    func overviewPage(
        _ call: AdminCall, values extra: [String: TemplateValue] = [:], status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let pool = services.pool
        let started = ContinuousClock.now
        let tenants = try await TenantRegistry().summaries(from: pool)
        let databaseTime = ContinuousClock.now - started
        let versions = try await SanctionsStore().versions(on: pool)
        let jobs = try await TenantJobQueue(pool: pool).depthByKind()
        let formatter = ISO8601DateFormatter()
        var values = extra
        values["tenants"] = .list(
            tenants.map { tenant in
                [
                    "slug": .string(tenant.slug), "name": .string(tenant.displayName), "status": .string(tenant.status),
                    "plan": .string(tenant.plan), "domains": .string(tenant.domains.joined(separator: ", ")),
                    "features": .string(tenant.features.filter(\.value).keys.sorted().joined(separator: ", ")),
                    "active": .bool(tenant.status == "active"), "suspended": .bool(tenant.status == "suspended"),
                ]
            })
        values["counts"] = .string(
            Dictionary(grouping: tenants, by: \.status).map { "\($0.value.count) \($0.key)" }.sorted().joined(
                separator: ", "))
        values["sanctions"] = .list(
            versions.prefix(20).map { version in
                [
                    "source": .string(version.source.rawValue),
                    "loadedAt": .string(formatter.string(from: version.loadedAt)),
                    "entries": .number(String(version.entryCount)), "active": .bool(version.active),
                    "checksum": .string(String(version.checksum.prefix(16))),
                ]
            })
        values["jobs"] = .list(
            jobs.map { ["kind": .string($0.kind), "status": .string($0.status), "count": .number(String($0.count))] })
        let milliseconds =
            Double(databaseTime.components.seconds) * 1000 + Double(databaseTime.components.attoseconds) / 1e15
        values["database"] = .string("reachable; the tenant list took " + String(format: "%.1f", milliseconds) + " ms")
        values["features"] = .list(Feature.allCases.map { .string($0.rawValue) })
        if let platform = try await certificates.certificates(for: [services.options.platformDomain]).first {
            values["platformCertificate"] = Self.certificateValue(platform)
        }
        return try await page("console-overview", title: "Platform console", call: call, values: values, status: status)
    }

    func provision(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        var features: [String: Bool] = [:]
        for feature in Feature.allCases where form.isChecked("feature." + feature.rawValue) {
            features[feature.rawValue] = true
        }
        do {
            let (tenant, ownerKey) = try await admin.provision(
                .init(
                    slug: form["slug"] ?? "", displayName: form["displayName"] ?? "", legalName: form["legalName"],
                    features: features),
                ownerKeyName: "first owner (console)", for: call)
            return try await overviewPage(
                call, values: ["created": ["slug": .string(tenant.slug), "ownerKey": .string(ownerKey)]],
                status: .created)
        } catch let error as ServiceError where [.invalidInput, .conflict].contains(error.code) {
            return try await overviewPage(call, values: ["error": .string(error.message)], status: .badRequest)
        }
    }

    @Sendable func tenantPage(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let summary = try await admin.summary(try call.slug())
        let branding = try await TenantBranding.load(for: summary.id, from: services.pool)
        let warnings = BrandPalette(branding).warnings
        let domains = try await certificates.certificates(for: summary.domains)
        return try await page(
            "console-tenant", title: summary.displayName, call: call,
            values: [
                "tenant": [
                    "slug": .string(summary.slug), "name": .string(summary.displayName),
                    "legalName": summary.legalName.map { .string($0) } ?? .null, "status": .string(summary.status),
                    "plan": .string(summary.plan), "placement": .string(summary.placement),
                    "schemaVersion": .number(String(summary.schemaVersion)),
                    "domains": .list(summary.domains.map { .string($0) }),
                    "active": .bool(summary.status == "active"), "suspended": .bool(summary.status == "suspended"),
                ],
                "features": .list(
                    Feature.allCases.map { feature in
                        ["name": .string(feature.rawValue), "on": .bool(summary.features[feature.rawValue] == true)]
                    }),
                "productName": .string(branding?.productName ?? summary.displayName),
                "contrastWarnings": .list(warnings.map { .string($0) }),
                "certificates": .list(domains.map(Self.certificateValue)),
            ])
    }

    /// A domain's certificate as the console shows it: issuer, expiry and days left (a warning
    /// within 14 days), and the last ACME attempt with its error.
    static func certificateValue(_ certificate: DomainCertificate) -> TemplateValue {
        let formatter = ISO8601DateFormatter()
        let daysLeft = certificate.expiresAt.map { Int(($0.timeIntervalSinceNow / 86_400).rounded(.down)) }
        return [
            "domain": .string(certificate.domain),
            "issuer": certificate.issuer.map { .string($0) } ?? .null,
            "development": .bool(certificate.isDevelopment),
            "expiresAt": certificate.expiresAt.map { .string(formatter.string(from: $0)) } ?? .null,
            "daysLeft": daysLeft.map { .number(String($0)) } ?? .null,
            "expiring": .bool((daysLeft ?? 0) < 14 && certificate.expiresAt != nil),
            "attemptedAt": certificate.lastAttemptAt.map { .string(formatter.string(from: $0)) } ?? .null,
            "lastError": certificate.lastError.map { .string($0) } ?? .null,
            "failures": .number(String(certificate.consecutiveFailures)),
            "retryAt": certificate.retryAt.map { .string(formatter.string(from: $0)) } ?? .null,
        ]
    }

    /// The tenant's archive as a download (the admin API's export: recorded in the platform's
    /// trail).
    func export(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        let slug = try call.slug()
        return AdminRoutes.download(try await admin.export(slug, for: call), slug: slug)
    }

    /// Revenue across partners: closed months' revenue, shares and payouts by partner and by
    /// currency, as the ledger has them (`GET …/white-label/all/revenue`).
    @Sendable func revenuePage(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let report = try await revenue.platformRevenue()
        return try await page(
            "console-revenue", title: "Revenue across partners", call: call,
            values: [
                "summary": try TemplateValue(encoding: report.summary),
                "partners": try TemplateValue(encoding: report.partners),
            ])
    }

    func suspend(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        _ = try await admin.setStatus(.suspended, of: try call.slug(), for: call)
        return .redirect(to: Self.root + "/tenants/" + (try call.slug().value))
    }

    func resume(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        _ = try await admin.setStatus(.active, of: try call.slug(), for: call)
        return .redirect(to: Self.root + "/tenants/" + (try call.slug().value))
    }

    func setFeatures(_ request: HTTPRequest, _ call: AdminCall, _ form: FormFields) async throws -> HTTPResponse {
        let slug = try call.slug()
        let summary = try await admin.summary(slug)
        var flags: [String: Bool] = [:]
        for feature in Feature.allCases { flags[feature.rawValue] = form.isChecked("feature." + feature.rawValue) }
        let changed = flags.filter { summary.features[$0.key] ?? false != $0.value }
        try await services.pool.withTransaction { transaction in
            try await TenantRegistry().setFeatureFlags(changed, of: summary.id, in: transaction)
            if !changed.isEmpty {
                try await call.recordPlatformEvent(
                    "tenant.features_changed", slug: slug,
                    details: changed.mapValues { $0 ? "on" : "off" }, in: transaction)
            }
        }
        return .redirect(to: Self.root + "/tenants/" + slug.value)
    }
}

/// A domain's certificate and its last ACME attempt, for the console.
public struct DomainCertificate: Sendable {
    public var domain: String
    /// The issuer's organization; nil when no certificate is there.
    public var issuer: String?
    /// A development certificate (the host's own CA), not one browsers trust.
    public var isDevelopment: Bool
    public var expiresAt: Date?
    public var lastAttemptAt: Date?
    /// The last attempt's error; nil when it succeeded (or none was made).
    public var lastError: String?
    public var consecutiveFailures: Int
    public var retryAt: Date?

    public init(
        domain: String, issuer: String?, isDevelopment: Bool, expiresAt: Date?, lastAttemptAt: Date?,
        lastError: String?, consecutiveFailures: Int, retryAt: Date?
    ) {
        self.domain = domain
        self.issuer = issuer
        self.isDevelopment = isDevelopment
        self.expiresAt = expiresAt
        self.lastAttemptAt = lastAttemptAt
        self.lastError = lastError
        self.consecutiveFailures = consecutiveFailures
        self.retryAt = retryAt
    }
}

/// Where the console reads each domain's certificate (the certificate folder) and last ACME
/// attempt (the database).
public protocol CertificateInventory: Sendable {
    func certificates(for domains: [String]) async throws -> [DomainCertificate]
}
