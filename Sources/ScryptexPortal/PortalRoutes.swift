import Foundation
public import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
public import ScryptexIdentity
import ScryptexInstitutional
import ScryptexPostgres
public import ScryptexTemplates
import ScryptexTenancy

/// The partner portal: server-rendered pages on every tenant domain under `/portal`, themed by
/// the tenant's branding, each page and each form behind the same guard, permission and
/// feature flag as the API route that does the same thing, and every form carrying an
/// anti-forgery token (``FormToken``). Pages work without JavaScript and load none.
public struct PortalRoutes: RouteCollection {
    /// The API's collections whose operations the pages run (a pre-trade check, an order, a
    /// report request, a backtest, the dashboard…), so a page and an API call do exactly the
    /// same thing.
    public struct Operations: Sendable {
        public var institutional: InstitutionalRoutes
        public var compliance: ComplianceRoutes
        public var orders: OrderRoutes
        public var reports: ReportRoutes
        public var intelligence: BIRoutes
        public var revenue: RevenueRoutes
        public var quant: QuantRoutes
        public var marketMaking: MarketMakingRoutes

        public init(
            institutional: InstitutionalRoutes, compliance: ComplianceRoutes, orders: OrderRoutes,
            reports: ReportRoutes, intelligence: BIRoutes, revenue: RevenueRoutes, quant: QuantRoutes,
            marketMaking: MarketMakingRoutes
        ) {
            self.institutional = institutional
            self.compliance = compliance
            self.orders = orders
            self.reports = reports
            self.intelligence = intelligence
            self.revenue = revenue
            self.quant = quant
            self.marketMaking = marketMaking
        }
    }

    let services: APIServices
    let templates: TemplateLibrary
    let operations: Operations
    let defaultJurisdiction: String
    let mail: any MailTransport
    let accounts = AccountService()
    let branding: BrandingCache
    let dashboards = ParsedDashboards()

    var compliance: ComplianceRoutes { operations.compliance }
    var reports: ReportRoutes { operations.reports }
    var intelligence: BIRoutes { operations.intelligence }
    var revenue: RevenueRoutes { operations.revenue }

    /// - Parameters:
    ///   - operations: The API's collections whose operations the pages run.
    ///   - defaultJurisdiction: For accounts created without one (`DEFAULT_JURISDICTION`).
    ///   - mail: Where password reset links go.
    public init(
        services: APIServices, templates: TemplateLibrary, operations: Operations, defaultJurisdiction: String,
        mail: any MailTransport
    ) {
        self.mail = mail
        self.services = services
        self.templates = templates
        self.operations = operations
        self.defaultJurisdiction = defaultJurisdiction
        branding = BrandingCache(pool: services.pool)
    }

    /// Where the portal lives on a tenant's domain.
    public static let root = "/portal"

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/", as: PublicTenantCall.self) { start in
            start.get(use: home)
        }
        routes.group(Self.root, as: PublicTenantCall.self) { open in
            open.get("sign-in", use: signInPage)
            open.post("sign-in", use: signIn)
            open.get("theme.css", use: stylesheet)
            open.get("password-reset", use: passwordResetPage)
            open.post("password-reset", use: requestPasswordReset)
            open.get("password-reset/link/:token", use: openPasswordResetLink)
            open.get("password-reset/new", use: newPasswordPage)
            open.post("password-reset/new", use: setNewPassword)
        }
        routes.group(Self.root, as: TenantCall.self) { portal in
            portal.get(use: dashboard)
            portal.post("sign-out", use: form(signOut))
            portal.get("security", use: securityPage)
            portal.post("security/authenticator", use: form(beginEnrollment))
            portal.post("security/authenticator/confirm", use: form(confirmEnrollment))
        }
        routes.group(Self.root + "/accounts", as: TenantCall.self, feature: .institutional) { pages in
            pages.get(.accountsRead, use: accountList)
            pages.post(.accountsWrite, use: form(createAccount))
            pages.get(":id", .accountsRead, use: accountPage)
            pages.post(":id/kill-switch", .riskManage, use: form(setKillSwitch))
            pages.post(":id/limits", .riskManage, use: form(setLimits))
            pages.post(":id/kyc/documents", .complianceManage, use: form(addDocument))
            pages.post(":id/kyc/submit", .accountsWrite, use: form(submitForReview))
            pages.post(":id/kyc/decision", .complianceManage, use: form(decideKYC))
            pages.post(":id/kyc/beneficial-owners", .complianceManage, use: form(addBeneficialOwner))
            pages.post(":id/orders", .tradesBook, use: form(submitOrder))
            pages.post(":id/orders/:orderId/approve", .complianceManage, use: form(approveOrder))
            pages.post(":id/orders/:orderId/decline", .complianceManage, use: form(declineOrder))
        }
        routes.group(Self.root + "/accounts/:id/reports", as: TenantCall.self, feature: .compliance) { pages in
            pages.post(.reportsGenerate, use: form(requestReport))
        }
        routes.group(Self.root + "/checks", as: TenantCall.self, permission: .complianceCheck, feature: .compliance) {
            pages in
            pages.get(use: checkPage)
            pages.post(use: form(checkTrade))
        }
        routes.group(Self.root, as: TenantCall.self, permission: .strategiesRead, feature: .quant) { pages in
            pages.get("strategies/:id", use: strategyPage)
            pages.get("backtests/:id", use: backtestPage)
        }
        routes.group(
            Self.root + "/strategies/:id/backtests", as: TenantCall.self, permission: .backtestsRun, feature: .quant
        ) {
            pages in
            pages.post(use: form(runBacktest))
        }
        routes.group(Self.root + "/models", as: TenantCall.self, feature: .ml) { pages in
            pages.get(":id", .modelsRead, use: modelPage)
            pages.post(":id/cancel", .modelsTrain, use: form(cancelModel))
        }
        routes.group(
            Self.root + "/market-making", as: TenantCall.self, feature: .marketMaking,
            enabledBy: operations.marketMaking.hostSwitch
        ) { pages in
            pages.get(":id", .marketMakingRead, use: marketMakingPage)
            pages.post(":id/pause", .marketMakingManage, use: form(pauseMarketMaking))
            pages.post(":id/resume", .marketMakingManage, use: form(resumeMarketMaking))
        }
        routes.group(Self.root + "/alerts", as: TenantCall.self, feature: .compliance) { pages in
            pages.get(.complianceRead, use: alertList)
            pages.post(":id/:action", .complianceManage, use: form(actOnAlert))
        }
        routes.group(Self.root + "/team", as: TenantCall.self, permission: .usersManage) { pages in
            pages.get(use: teamPage)
            pages.post(use: form(addMember))
        }
        routes.group(Self.root + "/revenue", as: TenantCall.self, permission: .revenueRead, feature: .whiteLabel) {
            pages in
            pages.get(use: revenuePage)
        }
        routes.group(Self.root + "/api-keys", as: TenantCall.self, permission: .apiKeysManage) { pages in
            pages.get(use: apiKeyList)
            pages.post(use: form(createAPIKey))
            pages.post(":prefix/revoke", use: form(revokeAPIKey))
        }
        routes.group(Self.root + "/audit", as: TenantCall.self, permission: .auditRead) { pages in
            pages.get(use: auditTrail)
        }
    }

    @Sendable func home(_ request: HTTPRequest, _ call: PublicTenantCall) async throws -> HTTPResponse {
        .redirect(to: Self.root)
    }

    // MARK: - Forms

    typealias FormHandler = @Sendable (HTTPRequest, TenantCall, FormFields) async throws -> HTTPResponse

    /// A form's handler behind the anti-forgery check: the form is read, its token checked
    /// against the session's, and only then handled.
    func form(_ handler: @escaping FormHandler) -> RouteGroup<TenantCall>.Handler {
        { request, call in
            let form = try request.formFields()
            try FormToken.check(form, expected: FormToken.forSession(call.principal, keys: try await call.keys()))
            return try await handler(request, call, form)
        }
    }

    /// Runs a form's operation: on success the browser is sent to `next`; when it is refused
    /// (bad input, a clash with what is stored, a rule on who may do it, a provider's refusal),
    /// `refused` shows the form's page again with the reason and the status the API would answer.
    func submitting(
        next: String, _ operation: () async throws -> Void,
        refused: (_ message: String, _ status: HTTPStatus) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        try await submitting(
            {
                try await operation()
                return .redirect(to: next)
            }, refused: refused)
    }

    /// Runs a form's operation, which answers itself; a refusal as above.
    func submitting(
        _ operation: () async throws -> HTTPResponse,
        refused: (_ message: String, _ status: HTTPStatus) async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        do {
            return try await operation()
        } catch let error as ServiceError where Self.refusals.contains(error.code) {
            return try await refused(error.message, HTTPProblem(error).status)
        } catch let problem as HTTPProblem where problem.status == .badRequest {
            return try await refused(problem.detail, problem.status)
        }
    }

    /// The refusals a form's page explains itself; others go to the error page.
    static let refusals: [ServiceError.Code] = [.invalidInput, .conflict, .forbidden, .upstreamFailed]

    // MARK: - Rendering

    /// One entry of the navigation, shown to those who hold its permission where its feature is on.
    struct Destination {
        var label: String
        var path: String
        var permission: Permission?
        var feature: Feature?
        /// Only for white-label instances (partners with a revenue share).
        var forInstances = false
    }

    static let destinations = [
        Destination(label: "Dashboard", path: root, permission: nil, feature: nil),
        Destination(label: "Accounts", path: root + "/accounts", permission: .accountsRead, feature: .institutional),
        Destination(
            label: "Pre-trade check", path: root + "/checks", permission: .complianceCheck, feature: .compliance),
        Destination(label: "Alerts", path: root + "/alerts", permission: .complianceRead, feature: .compliance),
        Destination(label: "Team", path: root + "/team", permission: .usersManage, feature: nil),
        Destination(
            label: "Revenue", path: root + "/revenue", permission: .revenueRead, feature: .whiteLabel,
            forInstances: true),
        Destination(label: "API keys", path: root + "/api-keys", permission: .apiKeysManage, feature: nil),
        Destination(label: "Audit trail", path: root + "/audit", permission: .auditRead, feature: nil),
        Destination(label: "Security", path: root + "/security", permission: nil, feature: nil),
    ]

    /// Renders `template` inside the portal's layout for the call's principal.
    func page(
        _ template: String, title: String, section: String, call: TenantCall, values: [String: TemplateValue] = [:],
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        var navigation: [TemplateValue] = []
        let brand = try await branding.entry(for: call.tenant)
        for destination in Self.destinations {
            if let permission = destination.permission, !call.principal.has(permission) { continue }
            if destination.forInstances, !brand.isWhiteLabelInstance { continue }
            if let feature = destination.feature,
                !(try await services.features.isEnabled(feature, for: call.tenant.id))
            {
                continue
            }
            navigation.append(
                [
                    "label": .string(destination.label), "href": .string(destination.path),
                    "current": .bool(destination.path == section),
                ])
        }
        var value = values
        value["title"] = .string(title)
        value["brand"] = brand.value
        value["navigation"] = .list(navigation)
        value["csrf"] = .string(FormToken.forSession(call.principal, keys: try await call.keys()))
        value["signedIn"] = ["roles": .string(call.principal.roleNames.joined(separator: ", "))]
        value["can"] = .object(
            Dictionary(
                uniqueKeysWithValues: Self.permissionKeys.map { ($0.key, .bool(call.principal.has($0.permission))) }))
        return try Self.html(templates.render(template, .object(value)), status: status)
    }

    /// Every permission with its template key, worked out once.
    static let permissionKeys = Permission.allCases.map { (permission: $0, key: key(for: $0)) }

    /// `accounts.write` as a template key: `accountsWrite`.
    static func key(for permission: Permission) -> String {
        let words = permission.rawValue.split(whereSeparator: { $0 == "." || $0 == "_" })
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }

    /// A page: the portal's own security policy (styles only from the tenant's stylesheet, no
    /// script at all, forms only to this origin, never framed) and never cached, since pages
    /// show a signed-in person's data.
    static func html(_ body: String, status: HTTPStatus = .ok) -> HTTPResponse {
        var response = HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(body.utf8))
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: securityPolicy)
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        // Same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with a
        // form post, and the guard refuses cookie-carried writes whose origin is not the page's.
        // No address of the portal holds a secret, so the referrer stays on the site only.
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        return response
    }

    static let securityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none';"
        + " base-uri 'none'"
}

extension HTTPResponse {
    /// `303 See Other` to `path` on the same site: where a form post sends the browser next.
    static func redirect(to path: String) -> HTTPResponse {
        var response = HTTPResponse(status: .seeOther)
        response.headers.add(name: "Location", value: path)
        response.headers.add(name: "Cache-Control", value: "no-store")
        return response
    }
}
