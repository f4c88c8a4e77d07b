public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Institutional accounts, their hierarchy, limits, KYC and team members. Every method runs in a
/// transaction the caller opened as the tenant (`TenantScope`), so it reaches only that tenant's
/// tables; every change is audited in the same transaction.
public struct AccountService: Sendable {
    public let kycProvider: any KYCProvider

    public init(kycProvider: any KYCProvider = ManualKYCProvider()) {
        self.kycProvider = kycProvider
    }

    static let columns: StaticString = """
        id, parent_id, account_name, account_type, legal_name, jurisdiction, total_aum, regulatory_identifiers,
        kyc_status, kyc_review_due::text AS kyc_review_due, kill_switch_engaged, limits, created_at, updated_at
        """

    // MARK: - Accounts

    public func create(
        _ draft: AccountDraft, defaultJurisdiction: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        let name = try Self.text(draft.accountName, field: "accountName")
        let legalName = try Self.text(draft.legalName, field: "legalName")
        guard let type = AccountType(rawValue: draft.accountType) else {
            throw ServiceError(
                .invalidInput, "field 'accountType': '\(draft.accountType)' is not one of \(AccountType.accepted)")
        }
        let jurisdiction = try Self.jurisdiction(draft.jurisdiction ?? defaultJurisdiction)
        let aum = try Self.aum(draft.totalAUM ?? .zero)
        let identifiers = try Self.identifiers(draft.regulatoryIdentifiers ?? [:])
        var inheritedLimits = TradingLimits()
        if let parentID = draft.parentId {
            let parent = try await account(parentID, in: transaction)
            inheritedLimits = parent.limits
        }
        let rows = try await transaction.query(
            """
            INSERT INTO institutional_accounts
                (parent_id, account_name, account_type, legal_name, jurisdiction, total_aum, regulatory_identifiers, limits)
            VALUES (\(draft.parentId), \(name), \(type.rawValue), \(legalName), \(jurisdiction), \(aum),
                    \(try PostgresJSON(encoding: identifiers))::jsonb, \(try PostgresJSON(encoding: inheritedLimits))::jsonb)
            RETURNING \(sql: Self.columns)
            """
        )
        let account = try Self.account(from: rows.firstRow)
        try await audit.record(
            "account.created", objectType: "institutional_account", objectID: account.id.uuidString.lowercased(),
            accountID: account.id, details: ["accountType": type.rawValue, "jurisdiction": jurisdiction],
            in: transaction)
        return account
    }

    /// The account; `.notFound` when it does not exist in this tenant (another tenant's id
    /// included: its schema is out of reach).
    public func account(
        _ id: UUID, in transaction: PostgresTransaction, forUpdate: Bool = false
    ) async throws
        -> InstitutionalAccount
    {
        let rows =
            forUpdate
            ? try await transaction.query(
                "SELECT \(sql: Self.columns) FROM institutional_accounts WHERE id = \(id) FOR UPDATE")
            : try await transaction.query("SELECT \(sql: Self.columns) FROM institutional_accounts WHERE id = \(id)")
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no account with id \(id.uuidString.lowercased())")
        }
        return try Self.account(from: row)
    }

    /// The accounts whose regulatory identifier `kind` is `value` (a manager's accounts by CIK).
    public func accounts(
        withIdentifier kind: String, _ value: String, in transaction: PostgresTransaction
    ) async throws -> [InstitutionalAccount] {
        try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM institutional_accounts
            WHERE regulatory_identifiers ->> \(kind) = \(value) ORDER BY created_at, id
            """
        ).map(Self.account(from:))
    }

    /// The account and every account under it, at any depth (the account first).
    public func familyIDs(of id: UUID, in transaction: PostgresTransaction) async throws -> [UUID] {
        try await transaction.query(
            """
            WITH RECURSIVE family AS (
                SELECT id, 0 AS depth FROM institutional_accounts WHERE id = \(id)
                UNION ALL
                SELECT a.id, f.depth + 1 FROM institutional_accounts a JOIN family f ON a.parent_id = f.id
                WHERE f.depth < 16
            )
            SELECT id FROM family ORDER BY depth, id
            """
        ).map { try $0.decode("id", as: UUID.self) }
    }

    /// Every account of the tenant, oldest first.
    public func allIDs(in transaction: PostgresTransaction) async throws -> [UUID] {
        try await transaction.query("SELECT id FROM institutional_accounts ORDER BY created_at, id").map {
            try $0.decode("id", as: UUID.self)
        }
    }

    /// The names of the accounts `ids` (an unknown id is left out).
    public func names(of ids: [UUID], in transaction: PostgresTransaction) async throws -> [UUID: String] {
        try await transaction.query(
            "SELECT id, account_name FROM institutional_accounts WHERE id = ANY(\(ids)::uuid[])"
        ).reduce(into: [UUID: String]()) {
            $0[try $1.decode("id", as: UUID.self)] = try $1.decode("account_name", as: String.self)
        }
    }

    /// The assets under management the top-level accounts declare, summed (the whole firm).
    public func declaredAUMOfTopLevelAccounts(in transaction: PostgresTransaction) async throws -> ExactDecimal {
        try await transaction.query(
            "SELECT coalesce(sum(total_aum), 0) AS declared FROM institutional_accounts WHERE parent_id IS NULL"
        ).firstRow.decode("declared", as: ExactDecimal.self)
    }

    /// Every direct sub-account of `id` (limits are checked against all of them).
    func children(of id: UUID, in transaction: PostgresTransaction) async throws -> [InstitutionalAccount] {
        let rows = try await transaction.query(
            "SELECT \(sql: Self.columns) FROM institutional_accounts WHERE parent_id = \(id) ORDER BY created_at, id")
        return try rows.map(Self.account(from:))
    }

    /// The largest page `accounts(parent:after:limit:in:)` returns.
    public static let largestPage = 500

    /// One page of accounts, oldest first: at most `limit`, after the account `cursor` (the last
    /// id of the previous page). `next` is the cursor of the following page, nil on the last.
    public func accounts(
        parent: UUID? = nil, after cursor: UUID? = nil, limit: Int = 100, in transaction: PostgresTransaction
    ) async throws -> (accounts: [InstitutionalAccount], next: UUID?) {
        guard (1...Self.largestPage).contains(limit) else {
            throw ServiceError(.invalidInput, "query 'limit': 1 to \(Self.largestPage) accounts per page")
        }
        if let cursor {
            let known = try await transaction.query("SELECT 1 FROM institutional_accounts WHERE id = \(cursor)")
            guard !known.isEmpty else {
                throw ServiceError(
                    .invalidInput, "query 'after': no account \(cursor.uuidString.lowercased()) to continue after")
            }
        }
        // One more row than asked tells whether another page follows.
        let rows = try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM institutional_accounts
            WHERE (\(parent)::uuid IS NULL OR parent_id = \(parent))
              AND (\(cursor)::uuid IS NULL
                   OR (created_at, id) > (SELECT created_at, id FROM institutional_accounts WHERE id = \(cursor)))
            ORDER BY created_at, id LIMIT \(limit + 1)
            """
        )
        let page = try rows.prefix(limit).map(Self.account(from:))
        return (page, rows.count > limit ? page.last?.id : nil)
    }

    public func update(
        _ id: UUID, with changes: AccountChanges, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        var account = try await account(id, in: transaction, forUpdate: true)
        var changed: [String] = []
        if let value = changes.accountName {
            account.accountName = try Self.text(value, field: "accountName")
            changed.append("accountName")
        }
        if let value = changes.legalName {
            account.legalName = try Self.text(value, field: "legalName")
            changed.append("legalName")
        }
        if let value = changes.jurisdiction {
            account.jurisdiction = try Self.jurisdiction(value)
            changed.append("jurisdiction")
        }
        if let value = changes.totalAUM {
            account.totalAUM = try Self.aum(value)
            changed.append("totalAUM")
        }
        if let value = changes.regulatoryIdentifiers {
            account.regulatoryIdentifiers = try Self.identifiers(value)
            changed.append("regulatoryIdentifiers")
        }
        guard !changed.isEmpty else {
            throw ServiceError(
                .invalidInput,
                "nothing to change: send accountName, legalName, jurisdiction, totalAUM or regulatoryIdentifiers")
        }
        let rows = try await transaction.query(
            """
            UPDATE institutional_accounts SET account_name = \(account.accountName), legal_name = \(account.legalName),
                jurisdiction = \(account.jurisdiction), total_aum = \(account.totalAUM),
                regulatory_identifiers = \(try PostgresJSON(encoding: account.regulatoryIdentifiers))::jsonb,
                updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        try await audit.record(
            "account.updated", objectType: "institutional_account", objectID: id.uuidString.lowercased(), accountID: id,
            details: ["fields": changed.joined(separator: ",")], in: transaction)
        return try Self.account(from: rows.firstRow)
    }

    // MARK: - Limits and kill switch

    /// Replaces the account's limits. A sub-account's limits may not exceed its parent's, and a
    /// parent's may not drop below what its sub-accounts already have.
    public func setLimits(
        _ limits: TradingLimits, of id: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        let problems = limits.problems()
        guard problems.isEmpty else { throw ServiceError(.invalidInput, problems.joined(separator: "; ")) }
        let account = try await account(id, in: transaction, forUpdate: true)
        if let parentID = account.parentId {
            let parent = try await self.account(parentID, in: transaction)
            let excesses = limits.excesses(over: parent.limits)
            guard excesses.isEmpty else { throw ServiceError(.invalidInput, excesses.joined(separator: "; ")) }
        }
        for child in try await children(of: id, in: transaction) {
            let excesses = child.limits.excesses(over: limits)
            guard excesses.isEmpty else {
                throw ServiceError(
                    .invalidInput,
                    "sub-account \(child.id.uuidString.lowercased()) (\(child.accountName)) has wider limits; lower them first: "
                        + excesses.joined(separator: "; "))
            }
        }
        let rows = try await transaction.query(
            """
            UPDATE institutional_accounts SET limits = \(try PostgresJSON(encoding: limits))::jsonb, updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        try await audit.record(
            "account.limits_set", objectType: "institutional_account", objectID: id.uuidString.lowercased(),
            accountID: id, details: ["limits": try PostgresJSON(encoding: limits).text], in: transaction)
        return try Self.account(from: rows.firstRow)
    }

    /// Engages or releases the kill switch; engaged, every trade check for the account (and its
    /// sub-accounts) is rejected.
    public func setKillSwitch(
        engaged: Bool, reason: String, of id: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        let reason = try Self.text(reason, field: "reason")
        _ = try await account(id, in: transaction, forUpdate: true)
        let rows = try await transaction.query(
            """
            UPDATE institutional_accounts SET kill_switch_engaged = \(engaged), updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        try await audit.record(
            engaged ? "account.kill_switch_engaged" : "account.kill_switch_released",
            objectType: "institutional_account", objectID: id.uuidString.lowercased(), accountID: id,
            details: ["reason": reason], in: transaction)
        return try Self.account(from: rows.firstRow)
    }

    // MARK: - KYC

    /// Sends the account to the KYC provider: `pending` (or `rejected`) → `in_review`, in one
    /// transaction. For a provider across the network use ``accountReadyForReview(_:in:)``, the
    /// provider, then ``recordSubmission(_:of:actor:audit:in:)``, so that no transaction waits on
    /// the provider.
    /// - Parameter actor: Who submits (the audit trail's name for the principal): the one person
    ///   who may not approve the account afterwards.
    public func submitForReview(
        _ id: UUID, notificationURL: String = "", actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        let account = try await accountReadyForReview(id, in: transaction)
        let submission = try await kycProvider.submit(account, notificationURL: notificationURL)
        return try await recordSubmission(submission, of: id, actor: actor, audit: audit, in: transaction)
    }

    /// The account, when its KYC can go to review now; `.conflict` naming its state otherwise.
    public func accountReadyForReview(
        _ id: UUID, in transaction: PostgresTransaction
    ) async throws
        -> InstitutionalAccount
    {
        let account = try await account(id, in: transaction)
        guard account.kycStatus.allowedNext.contains(.inReview) else {
            throw ServiceError(
                .conflict,
                "field 'status': KYC cannot go from \(account.kycStatus.rawValue) to in_review; only a pending, rejected or suspended account is submitted"
            )
        }
        return account
    }

    /// Records what the provider opened for the account and puts the account in review (the
    /// state is checked again under the row's lock: a concurrent submission loses with 409).
    public func recordSubmission(
        _ submission: KYCSubmission, of id: UUID, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        _ = try await account(id, in: transaction, forUpdate: true)
        try await transaction.execute(
            "UPDATE institutional_accounts SET kyc_provider = \(kycProvider.name), kyc_reference = \(submission.reference) WHERE id = \(id)"
        )
        return try await transition(
            id, to: .inReview, reason: "submitted to \(kycProvider.name) as \(submission.reference)", actor: actor,
            audit: audit, in: transaction)
    }

    /// Applies what the provider decided: its approval or rejection moves the account out of
    /// review (the provider acting as the second pair of eyes, under its own name); "needs
    /// review" is recorded for the compliance officers, who decide. An outcome for an account
    /// no longer in review (a repeated notification) changes nothing.
    /// - Throws: `.notFound` when no account of this tenant was submitted under that reference.
    public func applyOutcome(
        _ outcome: KYCOutcome, audit: any AuditSink, in transaction: PostgresTransaction
    )
        async throws -> InstitutionalAccount
    {
        guard
            let id = try await transaction.query(
                """
                SELECT id FROM institutional_accounts
                WHERE kyc_provider = \(kycProvider.name) AND kyc_reference = \(outcome.reference)
                FOR UPDATE
                """
            ).first?.decode("id", as: UUID.self)
        else {
            throw ServiceError(
                .notFound, "no account here was submitted to \(kycProvider.name) as '\(outcome.reference)'")
        }
        let account = try await account(id, in: transaction)
        guard account.kycStatus == .inReview else { return account }
        let actor = "kyc-provider:\(kycProvider.name)"
        switch outcome.decision {
        case .approved, .rejected:
            return try await transition(
                id, to: outcome.decision == .approved ? .approved : .rejected,
                reason: "\(kycProvider.name): \(outcome.detail)", actor: actor, audit: audit, in: transaction)
        case .review:
            try await audit.record(
                "kyc.provider_review", objectType: "institutional_account", objectID: id.uuidString.lowercased(),
                accountID: id, details: ["provider": kycProvider.name, "detail": outcome.detail], in: transaction)
            return account
        }
    }

    /// Moves the KYC state along an allowed edge, recording who and why. An approval needs a
    /// second person (four eyes): whoever put the account in review cannot approve it.
    public func transition(
        _ id: UUID, to next: KYCStatus, reason: String, reviewDue: Date? = nil, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> InstitutionalAccount {
        let reason = try Self.text(reason, field: "reason")
        let account = try await account(id, in: transaction, forUpdate: true)
        guard account.kycStatus.allowedNext.contains(next) else {
            let allowed = account.kycStatus.allowedNext.map(\.rawValue).joined(separator: ", ")
            throw ServiceError(
                .conflict,
                "field 'status': KYC cannot go from \(account.kycStatus.rawValue) to \(next.rawValue); from \(account.kycStatus.rawValue) it can go to \(allowed)"
            )
        }
        if next == .approved {
            let submitter = try await transaction.query(
                """
                SELECT actor FROM kyc_events WHERE account_id = \(id) AND to_status = 'in_review'
                ORDER BY occurred_at DESC LIMIT 1
                """
            ).first?.decode("actor", as: String.self)
            if submitter == actor {
                throw ServiceError(
                    .forbidden,
                    "four eyes: \(actor) put this account in review and cannot also approve it; another person with compliance.manage must"
                )
            }
        }
        // An approval sets the next periodic review (a year by default).
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let due =
            next == .approved
            ? formatter.string(from: reviewDue ?? Date().addingTimeInterval(365 * 86_400)) : account.kycReviewDue
        let rows = try await transaction.query(
            """
            UPDATE institutional_accounts SET kyc_status = \(next.rawValue), kyc_review_due = \(due)::date, updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """
        )
        try await transaction.execute(
            """
            INSERT INTO kyc_events (account_id, from_status, to_status, reason, actor)
            VALUES (\(id), \(account.kycStatus.rawValue), \(next.rawValue), \(reason), \(actor))
            """
        )
        try await audit.record(
            "kyc.\(next.rawValue)", objectType: "institutional_account", objectID: id.uuidString.lowercased(),
            accountID: id, details: ["from": account.kycStatus.rawValue, "reason": reason], in: transaction)
        return try Self.account(from: rows.firstRow)
    }

    public struct BeneficialOwner: Sendable, Codable, Equatable {
        public var id: UUID?
        public var name: String
        public var nationality: String
        public var ownershipPercent: ExactDecimal

        public init(id: UUID? = nil, name: String, nationality: String, ownershipPercent: ExactDecimal) {
            self.id = id
            self.name = name
            self.nationality = nationality
            self.ownershipPercent = ownershipPercent
        }
    }

    /// Records a beneficial owner (the name is stored encrypted); total ownership stays ≤ 100 %.
    public func addBeneficialOwner(
        _ owner: BeneficialOwner, to accountID: UUID, sealer: any PersonalDataSealer, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> BeneficialOwner {
        let name = try Self.text(owner.name, field: "name")
        let nationality = try Self.jurisdiction(owner.nationality, field: "nationality")
        guard owner.ownershipPercent > .zero, owner.ownershipPercent <= ExactDecimal(100),
            owner.ownershipPercent.significantScale <= 4
        else {
            throw ServiceError(
                .invalidInput, "field 'ownershipPercent': a percentage above 0 and at most 100, with at most 4 decimals"
            )
        }
        _ = try await account(accountID, in: transaction, forUpdate: true)
        let total = try await transaction.query(
            "SELECT coalesce(sum(ownership_percent), 0) AS total FROM beneficial_owners WHERE account_id = \(accountID)"
        ).firstRow.decode("total", as: ExactDecimal.self)
        guard total + owner.ownershipPercent <= ExactDecimal(100) else {
            throw ServiceError(
                .invalidInput,
                "field 'ownershipPercent': owners would hold \(total + owner.ownershipPercent) %, more than 100 %")
        }
        let rows = try await transaction.query(
            """
            INSERT INTO beneficial_owners (account_id, name_encrypted, nationality, ownership_percent)
            VALUES (\(accountID), \(Data(sealer.seal(name, field: "beneficial_owners.name"))), \(nationality),
                    \(owner.ownershipPercent))
            RETURNING id
            """
        )
        let id = try rows.firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "kyc.beneficial_owner_added", objectType: "beneficial_owner", objectID: id.uuidString.lowercased(),
            accountID: accountID, details: ["nationality": nationality], in: transaction)
        return BeneficialOwner(id: id, name: name, nationality: nationality, ownershipPercent: owner.ownershipPercent)
    }

    public func beneficialOwners(
        of accountID: UUID, sealer: any PersonalDataSealer, in transaction: PostgresTransaction
    )
        async throws -> [BeneficialOwner]
    {
        _ = try await account(accountID, in: transaction)
        let rows = try await transaction.query(
            """
            SELECT id, name_encrypted, nationality, ownership_percent FROM beneficial_owners
            WHERE account_id = \(accountID) ORDER BY created_at, id
            """
        )
        return try rows.map { row in
            BeneficialOwner(
                id: try row.decode("id", as: UUID.self),
                name: try sealer.open(
                    Array(try row.decode("name_encrypted", as: Data.self)), field: "beneficial_owners.name"),
                nationality: try row.decode("nationality", as: String.self),
                ownershipPercent: try row.decode("ownership_percent", as: ExactDecimal.self))
        }
    }

    // MARK: - Validation

    static func text(_ value: String, field: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count) else {
            throw ServiceError(.invalidInput, "field '\(field)': 1 to 200 characters")
        }
        return trimmed
    }

    static func jurisdiction(_ value: String, field: String = "jurisdiction") throws -> String {
        guard CountryCode.isValid(value) else {
            throw ServiceError(
                .invalidInput, "field '\(field)': '\(value)' is not an ISO 3166-1 alpha-2 country code such as US or GB"
            )
        }
        return value
    }

    static func aum(_ value: ExactDecimal) throws -> ExactDecimal {
        guard !value.isNegative else {
            throw ServiceError(.invalidInput, "field 'totalAUM': must not be negative")
        }
        guard value.significantScale <= 2 else {
            throw ServiceError(.invalidInput, "field 'totalAUM': at most 2 decimals (cents)")
        }
        guard value < ExactDecimal(significand: Int128(10).power(36), scale: 0) else {
            throw ServiceError(.invalidInput, "field 'totalAUM': too large")
        }
        return value
    }

    static func identifiers(_ values: [String: String]) throws -> [String: String] {
        for (kind, value) in values.sorted(by: { $0.key < $1.key }) {
            if let problem = RegulatoryIdentifier.problem(kind: kind, value: value) {
                throw ServiceError(.invalidInput, "field 'regulatoryIdentifiers.\(kind)': \(problem)")
            }
        }
        return values
    }

    static func account(from row: PostgresRow) throws -> InstitutionalAccount {
        InstitutionalAccount(
            id: try row.decode("id", as: UUID.self), parentId: try row.decode("parent_id", as: UUID?.self),
            accountName: try row.decode("account_name", as: String.self),
            accountType: AccountType(rawValue: try row.decode("account_type", as: String.self)) ?? .corporate,
            legalName: try row.decode("legal_name", as: String.self),
            jurisdiction: try row.decode("jurisdiction", as: String.self),
            totalAUM: try row.decode("total_aum", as: ExactDecimal.self),
            regulatoryIdentifiers: try row.decode("regulatory_identifiers", as: PostgresJSON.self).decode(
                [String: String].self),
            kycStatus: KYCStatus(rawValue: try row.decode("kyc_status", as: String.self)) ?? .pending,
            kycReviewDue: try row.decode("kyc_review_due", as: String?.self),
            killSwitchEngaged: try row.decode("kill_switch_engaged", as: Bool.self),
            limits: try row.decode("limits", as: PostgresJSON.self).decode(TradingLimits.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}

extension Int128 {
    func power(_ exponent: Int) -> Int128 { (0..<exponent).reduce(1) { result, _ in result * self } }
}

/// A KYC provider. The service sends an account for review; decisions come back through
/// `AccountService.transition` (from the provider's callback, or a compliance officer).
/// Where accounts go for KYC (`INSTITUTIONAL_KYC_PROVIDER`): the provider opens a verification
/// and later reports its outcome in a notification that it signs (or that is checked with it).
public protocol KYCProvider: Sendable {
    var name: String { get }

    /// Opens a verification of the account.
    /// - Parameter notificationURL: Where this tenant receives the provider's notifications,
    ///   for a provider that takes one per verification.
    func submit(_ account: InstitutionalAccount, notificationURL: String) async throws -> KYCSubmission

    /// Authenticates a notification and reads the outcome it reports; nil for one that reports
    /// none (progress). Throws `.unauthenticated` when it is not the provider's.
    func outcome(of notification: KYCNotification) async throws -> KYCOutcome?
}

public struct KYCSubmission: Sendable, Equatable {
    /// The provider's identifier of the verification; its notifications name it.
    public var reference: String

    public init(reference: String) {
        self.reference = reference
    }
}

/// A notification as it arrived: the exact body (signatures cover its bytes) and the headers.
public struct KYCNotification: Sendable {
    public var body: [UInt8]
    /// The first value of a header, its name in any case.
    public var header: @Sendable (String) -> String?

    public init(body: [UInt8], header: @escaping @Sendable (String) -> String?) {
        self.body = body
        self.header = header
    }
}

/// A provider's verdict on one verification.
public struct KYCOutcome: Sendable, Equatable {
    public enum Decision: String, Sendable {
        case approved, rejected
        /// The provider could not decide; a compliance officer does.
        case review
    }

    public var reference: String
    public var decision: Decision
    /// The provider's own words (its status, labels), kept with the decision.
    public var detail: String

    public init(reference: String, decision: Decision, detail: String) {
        self.reference = reference
        self.decision = decision
        self.detail = detail
    }
}

/// Local, manual review: the submission is queued for the tenant's compliance officers, who
/// approve or reject through the API.
public struct ManualKYCProvider: KYCProvider {
    public init() {}
    public var name: String { "manual" }

    public func submit(_ account: InstitutionalAccount, notificationURL: String) async throws -> KYCSubmission {
        KYCSubmission(reference: "manual-" + account.id.uuidString.lowercased())
    }

    public func outcome(of notification: KYCNotification) async throws -> KYCOutcome? {
        throw ServiceError(
            .notFound,
            "this platform reviews KYC manually (INSTITUTIONAL_KYC_PROVIDER=manual); it takes no provider notifications"
        )
    }
}

/// KYC documents as metadata: what was received, its reference in the document store, and when
/// it expires (an expired document shows up in the account's review).
public struct KYCDocument: Sendable, Codable, Equatable {
    public static let kinds = [
        "certificate_of_incorporation", "articles", "register_of_directors", "register_of_shareholders",
        "proof_of_address", "regulatory_licence", "financial_statements", "aml_policy", "identity_document", "other",
    ]

    public var id: UUID?
    public var kind: String
    public var reference: String
    public var issuedOn: String?
    public var expiresOn: String?

    public init(id: UUID? = nil, kind: String, reference: String, issuedOn: String? = nil, expiresOn: String? = nil) {
        self.id = id
        self.kind = kind
        self.reference = reference
        self.issuedOn = issuedOn
        self.expiresOn = expiresOn
    }
}

extension AccountService {
    public func addDocument(
        _ document: KYCDocument, to accountID: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> KYCDocument {
        guard KYCDocument.kinds.contains(document.kind) else {
            throw ServiceError(
                .invalidInput, "field 'kind': one of \(KYCDocument.kinds.joined(separator: ", "))")
        }
        let reference = try Self.text(document.reference, field: "reference")
        for (field, value) in [("issuedOn", document.issuedOn), ("expiresOn", document.expiresOn)] {
            if let value, !Self.isDate(value) {
                throw ServiceError(.invalidInput, "field '\(field)': a date such as 2027-03-31")
            }
        }
        if let issued = document.issuedOn, let expires = document.expiresOn, expires <= issued {
            throw ServiceError(.invalidInput, "field 'expiresOn': must be after issuedOn")
        }
        _ = try await account(accountID, in: transaction)
        let rows = try await transaction.query(
            """
            INSERT INTO kyc_documents (account_id, kind, reference, issued_on, expires_on)
            VALUES (\(accountID), \(document.kind), \(reference), \(document.issuedOn)::date, \(document.expiresOn)::date)
            RETURNING id
            """
        )
        var stored = document
        stored.id = try rows.firstRow.decode("id", as: UUID.self)
        stored.reference = reference
        try await audit.record(
            "kyc.document_received", objectType: "kyc_document", objectID: stored.id!.uuidString.lowercased(),
            accountID: accountID, details: ["kind": document.kind], in: transaction)
        return stored
    }

    public func documents(of accountID: UUID, in transaction: PostgresTransaction) async throws -> [KYCDocument] {
        _ = try await account(accountID, in: transaction)
        let rows = try await transaction.query(
            """
            SELECT id, kind, reference, issued_on::text AS issued_on, expires_on::text AS expires_on FROM kyc_documents
            WHERE account_id = \(accountID) ORDER BY received_at, id
            """
        )
        return try rows.map { row in
            KYCDocument(
                id: try row.decode("id", as: UUID.self), kind: try row.decode("kind", as: String.self),
                reference: try row.decode("reference", as: String.self),
                issuedOn: try row.decode("issued_on", as: String?.self),
                expiresOn: try row.decode("expires_on", as: String?.self))
        }
    }

    static func isDate(_ text: String) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return text.count == 10 && formatter.date(from: text) != nil
    }
}
