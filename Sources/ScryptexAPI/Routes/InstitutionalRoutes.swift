public import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy

extension Keyring.TenantKeys: PersonalDataSealer {}

/// `/api/enterprise/accounts…`: institutional accounts, limits and kill switch, KYC and team
/// members.
public struct InstitutionalRoutes: RouteCollection {
    let accounts: AccountService
    let defaultJurisdiction: String
    let identity: IdentityService
    let screening: (any KYCNameScreening)?
    let pool: PostgresConnectionPool

    /// - Parameters:
    ///   - defaultJurisdiction: For accounts created without one (`DEFAULT_JURISDICTION`).
    ///   - screening: Screens the legal name and beneficial owners when an account is submitted
    ///     for KYC (the compliance module's sanctions screening).
    ///   - kycProvider: Where accounts go for KYC (`INSTITUTIONAL_KYC_PROVIDER`).
    public init(
        defaultJurisdiction: String, services: APIServices, screening: (any KYCNameScreening)? = nil,
        kycProvider: any KYCProvider = ManualKYCProvider()
    ) {
        self.defaultJurisdiction = defaultJurisdiction
        identity = services.identity
        self.screening = screening
        pool = services.pool
        accounts = AccountService(kycProvider: kycProvider)
    }

    /// Where a tenant receives its KYC provider's notifications, on its own domain.
    public static let notificationPath = "/api/webhooks/kyc"

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/accounts", as: TenantCall.self, feature: .institutional) { accounts in
            accounts.post(.accountsWrite, use: create)
            accounts.get(.accountsRead, use: list)
            accounts.get(":id", .accountsRead, use: account)
            accounts.patch(":id", .accountsWrite, use: update)
            accounts.put(":id/limits", .riskManage, use: setLimits)
            accounts.post(":id/kill-switch", .riskManage, use: setKillSwitch)
            accounts.post(":id/kyc/submit", .accountsWrite, use: submitForReview)
            accounts.post(":id/kyc/decision", .complianceManage, use: decideKYC)
            accounts.get(":id/kyc/beneficial-owners", .complianceRead, use: beneficialOwners)
            accounts.post(":id/kyc/beneficial-owners", .complianceManage, use: addBeneficialOwner)
            accounts.get(":id/kyc/documents", .complianceRead, use: documents)
            accounts.post(":id/kyc/documents", .complianceManage, use: addDocument)
        }
        routes.group(Self.notificationPath, as: PublicTenantCall.self, feature: .institutional) { webhooks in
            webhooks.post(use: receiveProviderNotification)
        }
        routes.group("/api/enterprise/accounts/:id/members", as: TenantCall.self, feature: .institutional) {
            members in
            members.get(.membersRead, use: self.members)
            members.post(.membersManage, use: addMember)
            members.patch(":memberId", .membersManage, use: changeMemberRole)
            members.delete(":memberId", .membersManage, use: removeMember)
        }
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let draft = try request.decodeJSON(AccountDraft.self)
        let account = try await call.scope.withTransaction { transaction in
            try await accounts.create(
                draft, defaultJurisdiction: defaultJurisdiction, audit: call.audit, in: transaction)
        }
        return try .json(encoding: account, status: .created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        let parent = try query["parentId"].map { try Self.uuid($0, field: "parentId") }
        let cursor = try query["after"].map { try Self.uuid($0, field: "after") }
        let limit = try query.integer("limit", in: 1...AccountService.largestPage) ?? 100
        let page = try await call.scope.withTransaction(readOnly: true) {
            try await accounts.accounts(parent: parent, after: cursor, limit: limit, in: $0)
        }
        struct Page: Encodable {
            var accounts: [InstitutionalAccount]
            /// Pass as `after` for the next page; absent on the last.
            var nextCursor: String?
        }
        return try .json(encoding: Page(accounts: page.accounts, nextCursor: page.next?.uuidString.lowercased()))
    }

    @Sendable func account(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await accounts.account(id, in: $0) })
    }

    @Sendable func update(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let changes = try request.decodeJSON(AccountChanges.self)
        let account = try await call.scope.withTransaction {
            try await accounts.update(id, with: changes, audit: call.audit, in: $0)
        }
        return try .json(encoding: account)
    }

    @Sendable func setLimits(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let limits = try request.decodeJSON(TradingLimits.self)
        let account = try await call.scope.withTransaction {
            try await accounts.setLimits(limits, of: id, audit: call.audit, in: $0)
        }
        return try .json(encoding: account)
    }

    @Sendable func setKillSwitch(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        struct Body: Decodable {
            var engaged: Bool
            var reason: String
        }
        let body = try request.decodeJSON(Body.self)
        let account = try await call.scope.withTransaction {
            try await accounts.setKillSwitch(
                engaged: body.engaged, reason: body.reason, of: id, audit: call.audit, in: $0)
        }
        return try .json(encoding: account)
    }

    @Sendable func submitForReview(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let host = request.headers.first("Host") ?? ""  // present: the tenant was resolved by it
        return try .json(encoding: try await submitForReview(try call.accountID(), host: host, for: call))
    }

    /// Sends the account `id` to the KYC provider (which notifies `https://host/api/webhooks/kyc`)
    /// and screens its names: what the API's `POST …/kyc/submit` does, for the portal too.
    public func submitForReview(_ id: UUID, host: String, for call: TenantCall) async throws -> InstitutionalAccount {
        let keys = try await call.keys()
        // The provider is asked between two transactions, so none waits on the network; the
        // second checks the state again under the row's lock.
        let ready = try await call.scope.withTransaction(readOnly: true) {
            try await accounts.accountReadyForReview(id, in: $0)
        }
        let submission = try await accounts.kycProvider.submit(
            ready, notificationURL: "https://\(host)\(Self.notificationPath)")
        return try await call.scope.withTransaction { transaction in
            let account = try await accounts.recordSubmission(
                submission, of: id, actor: call.principal.actor, audit: call.audit, in: transaction)
            // The names are screened as they are submitted; a match raises an alert with it.
            if let screening {
                try await screening.screen(
                    account,
                    beneficialOwners: try await accounts.beneficialOwners(of: id, sealer: keys, in: transaction),
                    audit: call.audit, in: transaction)
            }
            return account
        }
    }

    /// `POST /api/webhooks/kyc` on the tenant's domain: the provider's notification, checked by
    /// the provider's adapter (its signature, or its API), applied to the account it names in
    /// this tenant. 200 with the account's KYC state, or `{"ignored": …}` for a notification that
    /// reports no outcome; 401 unsigned or forged; 404 for a reference no account here holds.
    @Sendable func receiveProviderNotification(
        _ request: HTTPRequest, _ call: PublicTenantCall
    ) async throws
        -> HTTPResponse
    {
        let headers = request.headers
        let notification = KYCNotification(body: request.body) { headers.first($0) }
        guard let outcome = try await accounts.kycProvider.outcome(of: notification) else {
            return .json(#"{"ignored":"the notification reports no outcome"}"#)
        }
        let provider = accounts.kycProvider.name
        let audit = TenantAuditSink(
            schema: call.tenant.schema, actor: "kyc-provider:\(provider)", requestID: call.context.requestID)
        let account = try await TenantScope(tenant: call.tenant, pool: pool).withTransaction {
            try await accounts.applyOutcome(outcome, audit: audit, in: $0)
        }
        struct Applied: Encodable {
            var accountId: UUID
            var kycStatus: KYCStatus
            var decision: String
        }
        return try .json(
            encoding: Applied(accountId: account.id, kycStatus: account.kycStatus, decision: outcome.decision.rawValue))
    }

    @Sendable func decideKYC(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        struct Body: Decodable {
            var status: String
            var reason: String
            var reviewDue: Date?
        }
        let body = try request.decodeJSON(Body.self)
        guard let status = KYCStatus(rawValue: body.status) else {
            throw HTTPProblem.badRequest(
                "field 'status': one of \(KYCStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                type: .invalidField)
        }
        let account = try await call.scope.withTransaction {
            try await accounts.transition(
                id, to: status, reason: body.reason, reviewDue: body.reviewDue, actor: call.principal.actor,
                audit: call.audit, in: $0)
        }
        return try .json(encoding: account)
    }

    @Sendable func beneficialOwners(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let keys = try await call.keys()
        let owners = try await call.scope.withTransaction {
            try await accounts.beneficialOwners(of: id, sealer: keys, in: $0)
        }
        return try .json(encoding: ["beneficialOwners": owners])
    }

    @Sendable func addBeneficialOwner(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let owner = try request.decodeJSON(AccountService.BeneficialOwner.self)
        let keys = try await call.keys()
        let added = try await call.scope.withTransaction {
            try await accounts.addBeneficialOwner(owner, to: id, sealer: keys, audit: call.audit, in: $0)
        }
        return try .json(encoding: added, status: .created)
    }

    @Sendable func documents(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let documents = try await call.scope.withTransaction { try await accounts.documents(of: id, in: $0) }
        return try .json(encoding: ["documents": documents])
    }

    @Sendable func addDocument(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let document = try request.decodeJSON(KYCDocument.self)
        let stored = try await call.scope.withTransaction {
            try await accounts.addDocument(document, to: id, audit: call.audit, in: $0)
        }
        return try .json(encoding: stored, status: .created)
    }

    @Sendable func members(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let keys = try await call.keys()
        let members = try await call.scope.withTransaction(readOnly: true) {
            try await accounts.members(of: id, sealer: keys, in: $0)
        }
        return try .json(encoding: ["members": members])
    }

    @Sendable func addMember(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        struct Body: Decodable {
            var email: String
            var name: String?
            var role: String
        }
        let body = try request.decodeJSON(Body.self)
        let keys = try await call.keys()
        let member = try await call.scope.withTransaction { transaction in
            try await accounts.addMember(
                email: body.email, name: body.name, role: body.role, to: id, sealer: keys,
                roleExists: { try await identity.roleExists($0, in: transaction) }, audit: call.audit,
                in: transaction)
        }
        return try .json(encoding: member, status: .created)
    }

    @Sendable func changeMemberRole(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let memberID = try Self.uuid(try call.parameter("memberId"), field: "memberId")
        struct Body: Decodable { var role: String }
        let body = try request.decodeJSON(Body.self)
        let keys = try await call.keys()
        let member = try await call.scope.withTransaction { transaction in
            try await accounts.changeMemberRole(
                memberID, of: id, to: body.role, sealer: keys,
                roleExists: { try await identity.roleExists($0, in: transaction) }, audit: call.audit,
                in: transaction)
        }
        return try .json(encoding: member)
    }

    @Sendable func removeMember(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.accountID()
        let memberID = try Self.uuid(try call.parameter("memberId"), field: "memberId")
        try await call.scope.withTransaction {
            try await accounts.removeMember(memberID, of: id, audit: call.audit, in: $0)
        }
        return .noContent
    }

    static func uuid(_ text: String, field: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw HTTPProblem.badRequest("field '\(field)': not a UUID", type: .invalidField)
        }
        return id
    }
}

extension TenantCall {
    /// The account id from the path (`:id`); a malformed one is "not found", like an unknown one.
    func accountID() throws -> UUID {
        try context.identifier("id", notFound: "no account with this id")
    }
}
