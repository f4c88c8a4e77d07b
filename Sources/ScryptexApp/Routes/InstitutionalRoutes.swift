import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexInstitutional
import ScryptexPostgres
import ScryptexTenancy

extension Keyring.TenantKeys: PersonalDataSealer {}

/// `/api/enterprise/accounts…`: institutional accounts, limits, KYC and team members.
enum InstitutionalRoutes {
    static func add(to routes: inout SecuredRouter) {
        let services = routes.services
        let accounts = AccountService(kycProvider: ManualKYCProvider())
        let jurisdiction = services.configuration.defaultJurisdiction
        let feature = Feature.institutional

        routes.add(.post, "/api/enterprise/accounts", .permission(.accountsWrite), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let draft = try request.decodeJSON(AccountDraft.self)
            let account = try await call.scope.withTransaction { transaction in
                try await accounts.create(draft, defaultJurisdiction: jurisdiction, audit: call.audit, in: transaction)
            }
            return try JSONResponse.encode(account, status: .created)
        }
        routes.add(.get, "/api/enterprise/accounts", .permission(.accountsRead), feature: feature) { request, context in
            let call = try TenantRequest(context, services: services)
            let query = QueryParameters(request.query)
            let parent = try query["parentId"].map { try uuid($0, field: "parentId") }
            let cursor = try query["after"].map { try uuid($0, field: "after") }
            let limit = try query.integer("limit", in: 1...AccountService.largestPage) ?? 100
            let page = try await call.scope.withTransaction(readOnly: true) {
                try await accounts.accounts(parent: parent, after: cursor, limit: limit, in: $0)
            }
            struct Page: Encodable {
                var accounts: [InstitutionalAccount]
                /// Pass as `after` for the next page; absent on the last.
                var nextCursor: String?
            }
            return try JSONResponse.encode(
                Page(accounts: page.accounts, nextCursor: page.next?.uuidString.lowercased()))
        }
        routes.add(.get, "/api/enterprise/accounts/:id", .permission(.accountsRead), feature: feature) { _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let account = try await call.scope.withTransaction(readOnly: true) {
                try await accounts.account(id, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(.patch, "/api/enterprise/accounts/:id", .permission(.accountsWrite), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let changes = try request.decodeJSON(AccountChanges.self)
            let account = try await call.scope.withTransaction {
                try await accounts.update(id, with: changes, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(.put, "/api/enterprise/accounts/:id/limits", .permission(.riskManage), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let limits = try request.decodeJSON(TradingLimits.self)
            let account = try await call.scope.withTransaction {
                try await accounts.setLimits(limits, of: id, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(.post, "/api/enterprise/accounts/:id/kill-switch", .permission(.riskManage), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            struct Body: Decodable {
                var engaged: Bool
                var reason: String
            }
            let body = try request.decodeJSON(Body.self)
            let account = try await call.scope.withTransaction {
                try await accounts.setKillSwitch(
                    engaged: body.engaged, reason: body.reason, of: id, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(.post, "/api/enterprise/accounts/:id/kyc/submit", .permission(.accountsWrite), feature: feature) {
            _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let account = try await call.scope.withTransaction {
                try await accounts.submitForReview(id, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(
            .post, "/api/enterprise/accounts/:id/kyc/decision", .permission(.complianceManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
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
                    id, to: status, reason: body.reason, reviewDue: body.reviewDue, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(account)
        }
        routes.add(
            .get, "/api/enterprise/accounts/:id/kyc/beneficial-owners", .permission(.complianceRead), feature: feature
        ) { _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let keys = try await call.keys()
            let owners = try await call.scope.withTransaction {
                try await accounts.beneficialOwners(of: id, sealer: keys, in: $0)
            }
            return try JSONResponse.encode(["beneficialOwners": owners])
        }
        routes.add(
            .post, "/api/enterprise/accounts/:id/kyc/beneficial-owners", .permission(.complianceManage),
            feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let owner = try request.decodeJSON(AccountService.BeneficialOwner.self)
            let keys = try await call.keys()
            let added = try await call.scope.withTransaction {
                try await accounts.addBeneficialOwner(owner, to: id, sealer: keys, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(added, status: .created)
        }

        routes.add(
            .get, "/api/enterprise/accounts/:id/kyc/documents", .permission(.complianceRead), feature: feature
        ) { _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let documents = try await call.scope.withTransaction { try await accounts.documents(of: id, in: $0) }
            return try JSONResponse.encode(["documents": documents])
        }
        routes.add(
            .post, "/api/enterprise/accounts/:id/kyc/documents", .permission(.complianceManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let document = try request.decodeJSON(KYCDocument.self)
            let stored = try await call.scope.withTransaction {
                try await accounts.addDocument(document, to: id, audit: call.audit, in: $0)
            }
            return try JSONResponse.encode(stored, status: .created)
        }
        routes.add(.get, "/api/enterprise/accounts/:id/members", .permission(.membersRead), feature: feature) {
            _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let keys = try await call.keys()
            let members = try await call.scope.withTransaction(readOnly: true) {
                try await accounts.members(of: id, sealer: keys, in: $0)
            }
            return try JSONResponse.encode(["members": members])
        }
        routes.add(.post, "/api/enterprise/accounts/:id/members", .permission(.membersManage), feature: feature) {
            request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
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
                    roleExists: { try await roleExists($0, in: transaction, services: services) }, audit: call.audit,
                    in: transaction)
            }
            return try JSONResponse.encode(member, status: .created)
        }
        routes.add(
            .patch, "/api/enterprise/accounts/:id/members/:memberId", .permission(.membersManage), feature: feature
        ) { request, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let memberID = try uuid(try context.parameter("memberId"), field: "memberId")
            struct Body: Decodable { var role: String }
            let body = try request.decodeJSON(Body.self)
            let keys = try await call.keys()
            let member = try await call.scope.withTransaction { transaction in
                try await accounts.changeMemberRole(
                    memberID, of: id, to: body.role, sealer: keys,
                    roleExists: { try await roleExists($0, in: transaction, services: services) }, audit: call.audit,
                    in: transaction)
            }
            return try JSONResponse.encode(member)
        }
        routes.add(
            .delete, "/api/enterprise/accounts/:id/members/:memberId", .permission(.membersManage), feature: feature
        ) { _, context in
            let call = try TenantRequest(context, services: services)
            let id = try accountID(context)
            let memberID = try uuid(try context.parameter("memberId"), field: "memberId")
            try await call.scope.withTransaction {
                try await accounts.removeMember(memberID, of: id, audit: call.audit, in: $0)
            }
            return HTTPResponse(status: .noContent)
        }
    }

    static func roleExists(
        _ role: String, in transaction: PostgresTransaction, services: RouteServices
    ) async throws
        -> Bool
    {
        do {
            try await services.identity.validateRoles([role], in: transaction)
            return true
        } catch is ServiceError {
            return false
        }
    }

    /// An account id from the path; a malformed one is "not found", like an unknown one.
    static func accountID(_ context: RequestContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameter("id")) else {
            throw HTTPProblem.notFound("no account with this id")
        }
        return id
    }

    static func uuid(_ text: String, field: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw HTTPProblem.badRequest("field '\(field)': not a UUID", type: .invalidField)
        }
        return id
    }
}
