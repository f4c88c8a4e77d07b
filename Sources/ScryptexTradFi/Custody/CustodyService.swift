public import Foundation
public import ScryptexCompliance
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres
public import ScryptexTenancy

/// What a client sends to open a custody account.
public struct CustodyAccountDefinition: Sendable, Codable, Equatable {
    public var accountId: UUID
    public var name: String
    public var custodian: String
    /// The account's number at the custodian.
    public var custodianAccount: String

    static let fields: Set<String> = ["accountId", "name", "custodian", "custodianAccount"]

    public static func decode(_ bytes: [UInt8]) throws -> CustodyAccountDefinition {
        try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a custody account")
    }
}

/// An address to add to a custody account's allow-list.
public struct WithdrawalAddressDefinition: Sendable, Codable, Equatable {
    public var asset: String
    public var address: String
    public var label: String

    static let fields: Set<String> = ["asset", "address", "label"]

    public static func decode(_ bytes: [UInt8]) throws -> WithdrawalAddressDefinition {
        try StrictJSON.decode(Self.self, from: bytes, fields: fields, subject: "a withdrawal address")
    }
}

/// A deposit announced, or a withdrawal asked for.
public struct CustodyMovementRequest: Sendable, Codable, Equatable {
    /// For a withdrawal: the custody account it leaves.
    public var custodyAccountId: UUID?
    /// For a deposit: the asset arriving (a withdrawal's is its address's).
    public var asset: String?
    public var quantity: ExactDecimal
    /// For a withdrawal: the allow-listed address it goes to.
    public var addressId: UUID?
    /// A deposit's transaction or wire reference; a withdrawal's client key. The same reference
    /// again returns the same movement.
    public var reference: String

    static let depositFields: Set<String> = ["asset", "quantity", "reference"]
    static let withdrawalFields: Set<String> = ["custodyAccountId", "quantity", "addressId", "reference"]

    public static func decodeDeposit(_ bytes: [UInt8]) throws -> CustodyMovementRequest {
        let request = try StrictJSON.decode(Self.self, from: bytes, fields: depositFields, subject: "a deposit")
        guard request.asset != nil else { throw ServiceError(.invalidInput, "field 'asset': required") }
        return request
    }

    public static func decodeWithdrawal(_ bytes: [UInt8]) throws -> CustodyMovementRequest {
        let request = try StrictJSON.decode(Self.self, from: bytes, fields: withdrawalFields, subject: "a withdrawal")
        guard request.custodyAccountId != nil else {
            throw ServiceError(.invalidInput, "field 'custodyAccountId': required")
        }
        guard request.addressId != nil else { throw ServiceError(.invalidInput, "field 'addressId': required") }
        return request
    }
}

public struct CustodyAccount: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var name: String
    public var custodian: String
    public var custodianAccount: String
    public var createdBy: String
    public var createdAt: Date
    public var balances: [CustodyBalance]
    /// The allow-list (removed addresses are not shown).
    public var addresses: [WithdrawalAddress]?
}

public struct CustodyBalance: Sendable, Codable, Equatable {
    public var asset: String
    public var available: ExactDecimal
    /// Held for withdrawals asked for and not yet completed or refused.
    public var reserved: ExactDecimal
}

public struct WithdrawalAddress: Sendable, Codable, Equatable {
    public var id: UUID
    public var asset: String
    public var address: String
    public var label: String
    /// When the cooling-off ends and withdrawals may go to it.
    public var usableFrom: Date
    public var addedBy: String
    public var addedAt: Date
}

public struct CustodyMovement: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Waiting for a second person.
        case requested
        /// Approved; being sent to the custodian.
        case approved
        case completed, rejected
        /// The custodian refused it (the funds were released).
        case failed
    }

    public var id: UUID
    public var custodyAccountId: UUID
    public var kind: String
    public var asset: String
    public var quantity: ExactDecimal
    public var addressId: UUID?
    public var address: String?
    public var reference: String
    public var status: Status
    public var requestedBy: String
    public var decidedBy: String?
    public var decidedAt: Date?
    public var reason: String?
    public var custodianReference: String?
    public var createdAt: Date
    public var updatedAt: Date
}

/// A withdrawal address refused by the sanctions screening: nothing stored but the alert.
public struct SanctionsRefusal: Error, Sendable, Codable, Equatable {
    public var reason: String
    public var candidates: [ScreeningCandidate]
    public var alertId: UUID
}

/// Custody: accounts at custodians per institutional account, balances per asset, deposits and
/// withdrawals decided by a second person (never the one who asked), withdrawals only to
/// allow-listed addresses past their cooling-off, every address screened against the sanctions
/// lists when added, when a withdrawal is asked for and when it is approved.
public struct CustodyService: Sendable {
    let custodians: Custodians
    let coolingOffSeconds: Int
    let monitoring = MonitoringService()

    /// - Parameter coolingOffSeconds: How long a new address waits before withdrawals may go to it.
    public init(custodians: Custodians, coolingOffSeconds: Int = 86_400) {
        self.custodians = custodians
        self.coolingOffSeconds = coolingOffSeconds
    }

    static func validAsset(_ asset: String, field: String = "asset") throws(ServiceError) {
        guard (2...12).contains(asset.count), asset.allSatisfy({ ($0.isUppercase || $0.isNumber) && $0.isASCII })
        else {
            throw ServiceError(.invalidInput, "field '\(field)': 2 to 12 capital letters or digits (BTC, USD)")
        }
    }

    static func oneLine(_ text: String, field: String, maximum: Int) throws(ServiceError) {
        guard (1...maximum).contains(text.count), text.trimmingCharacters(in: .whitespaces) == text,
            !text.contains(where: { $0.isNewline || $0.unicodeScalars.contains { $0.value < 32 } })
        else {
            throw ServiceError(.invalidInput, "field '\(field)': 1 to \(maximum) characters on one line")
        }
    }

    // MARK: Accounts

    public func open(
        _ definition: CustodyAccountDefinition, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> CustodyAccount {
        try Self.oneLine(definition.name, field: "name", maximum: 100)
        try Self.oneLine(definition.custodianAccount, field: "custodianAccount", maximum: 100)
        _ = try custodians.named(definition.custodian)
        _ = try await AccountService().account(definition.accountId, in: transaction)
        let rows = try await transaction.query(
            """
            INSERT INTO tradfi_custody_accounts (account_id, name, custodian, custodian_account, created_by)
            VALUES (\(definition.accountId), \(definition.name), \(definition.custodian), \(definition.custodianAccount),
                    \(actor))
            ON CONFLICT DO NOTHING
            RETURNING id
            """
        )
        guard let id = try rows.first?.decode("id", as: UUID.self) else {
            throw ServiceError(
                .conflict,
                "a custody account named '\(definition.name)' of this account, or for \(definition.custodian) account \(definition.custodianAccount), exists"
            )
        }
        try await audit.record(
            "tradfi.custody_account_opened", objectType: "custody_account", objectID: id.uuidString.lowercased(),
            accountID: definition.accountId,
            details: ["custodian": definition.custodian, "name": definition.name], in: transaction)
        return try await account(id, in: transaction)
    }

    public func accounts(in transaction: PostgresTransaction) async throws -> [CustodyAccount] {
        let ids = try await transaction.query("SELECT id FROM tradfi_custody_accounts ORDER BY created_at, id")
            .map { try $0.decode("id", as: UUID.self) }
        var accounts: [CustodyAccount] = []
        for id in ids { accounts.append(try await account(id, addresses: false, in: transaction)) }
        return accounts
    }

    public func account(
        _ id: UUID, addresses: Bool = true, in transaction: PostgresTransaction
    ) async throws -> CustodyAccount {
        guard
            let row = try await transaction.query(
                """
                SELECT id, account_id, name, custodian, custodian_account, created_by, created_at
                FROM tradfi_custody_accounts WHERE id = \(id)
                """
            ).first
        else { throw ServiceError(.notFound, "no custody account with this id") }
        let balances = try await transaction.query(
            """
            SELECT asset, available, reserved FROM tradfi_custody_balances
            WHERE custody_account_id = \(id) ORDER BY asset
            """
        ).map {
            CustodyBalance(
                asset: try $0.decode("asset", as: String.self),
                available: try $0.decode("available", as: ExactDecimal.self).normalized,
                reserved: try $0.decode("reserved", as: ExactDecimal.self).normalized)
        }
        var listed: [WithdrawalAddress]?
        if addresses {
            listed = try await transaction.query(
                """
                SELECT id, asset, address, label, usable_from, added_by, added_at FROM tradfi_withdrawal_addresses
                WHERE custody_account_id = \(id) AND removed_at IS NULL ORDER BY added_at, id
                """
            ).map(Self.address)
        }
        return CustodyAccount(
            id: id, accountId: try row.decode("account_id", as: UUID.self),
            name: try row.decode("name", as: String.self),
            custodian: try row.decode("custodian", as: String.self),
            custodianAccount: try row.decode("custodian_account", as: String.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self), balances: balances, addresses: listed)
    }

    static func address(_ row: PostgresRow) throws -> WithdrawalAddress {
        WithdrawalAddress(
            id: try row.decode("id", as: UUID.self), asset: try row.decode("asset", as: String.self),
            address: try row.decode("address", as: String.self), label: try row.decode("label", as: String.self),
            usableFrom: try row.decode("usable_from", as: Date.self),
            addedBy: try row.decode("added_by", as: String.self), addedAt: try row.decode("added_at", as: Date.self))
    }

    // MARK: Allow-list

    /// Adds an address to the allow-list, usable after the cooling-off; an address on a sanctions
    /// list is refused (nothing stored) with a critical alert.
    public func addAddress(
        _ definition: WithdrawalAddressDefinition, to custodyAccount: UUID, screener: SanctionsScreener, actor: String,
        audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> Result<WithdrawalAddress, SanctionsRefusal> {
        try Self.validAsset(definition.asset)
        try Self.oneLine(definition.address, field: "address", maximum: 200)
        try Self.oneLine(definition.label, field: "label", maximum: 100)
        let owner = try await account(custodyAccount, addresses: false, in: transaction)
        let candidates = screener.screen(address: definition.address)
        if !candidates.isEmpty {
            return .failure(
                try await refuse(
                    definition.address, candidates: candidates, accountID: owner.accountId,
                    custodyAccount: custodyAccount,
                    when: "added to the allow-list", audit: audit, in: transaction))
        }
        let rows = try await transaction.query(
            """
            INSERT INTO tradfi_withdrawal_addresses
                (custody_account_id, asset, address, label, usable_from, screening, added_by)
            VALUES (\(custodyAccount), \(definition.asset), \(definition.address), \(definition.label),
                    now() + make_interval(secs => \(coolingOffSeconds)),
                    \(try PostgresJSON(encoding: ["listVersions": screener.versions.map { [$0.key.rawValue: $0.value] }]))::jsonb,
                    \(actor))
            ON CONFLICT DO NOTHING
            RETURNING id, asset, address, label, usable_from, added_by, added_at
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.conflict, "field 'address': already on the allow-list for \(definition.asset)")
        }
        let address = try Self.address(row)
        try await audit.record(
            "tradfi.withdrawal_address_added", objectType: "withdrawal_address",
            objectID: address.id.uuidString.lowercased(), accountID: owner.accountId,
            details: [
                "asset": definition.asset, "address": definition.address, "label": definition.label,
                "usableFrom": Timestamp.format(address.usableFrom),
            ], in: transaction)
        return .success(address)
    }

    public func removeAddress(
        _ id: UUID, from custodyAccount: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        let rows = try await transaction.query(
            """
            UPDATE tradfi_withdrawal_addresses SET removed_at = now(), removed_by = \(actor)
            WHERE id = \(id) AND custody_account_id = \(custodyAccount) AND removed_at IS NULL
            RETURNING address
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no address with this id on the custody account's allow-list")
        }
        try await audit.record(
            "tradfi.withdrawal_address_removed", objectType: "withdrawal_address", objectID: id.uuidString.lowercased(),
            accountID: nil, details: ["address": try row.decode("address", as: String.self)], in: transaction)
    }

    /// Raises the critical alert of a sanctioned address and says why it was refused.
    private func refuse(
        _ address: String, candidates: [ScreeningCandidate], accountID: UUID, custodyAccount: UUID, when: String,
        audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> SanctionsRefusal {
        let top = candidates[0]
        let reason =
            "address \(address) is on \(top.source.rawValue) entry \(top.identifier) (\(top.name)): refused when \(when)"
        let alert = try await monitoring.raise(
            .init(kind: "sanctioned_withdrawal_address", severity: "critical", summary: reason), accountID: accountID,
            subject: ["custody_account": custodyAccount.uuidString.lowercased(), "address": address], audit: audit,
            in: transaction)
        return SanctionsRefusal(reason: reason, candidates: candidates, alertId: alert.id)
    }

    // MARK: Movements

    static let movementColumns: StaticString = """
        m.id, m.custody_account_id, m.kind, m.asset, m.quantity, m.address_id, a.address, m.reference, m.status,
        m.requested_by, m.decided_by, m.decided_at, m.reason, m.custodian_reference, m.created_at, m.updated_at
        """

    static func movement(_ row: PostgresRow) throws -> CustodyMovement {
        CustodyMovement(
            id: try row.decode("id", as: UUID.self),
            custodyAccountId: try row.decode("custody_account_id", as: UUID.self),
            kind: try row.decode("kind", as: String.self), asset: try row.decode("asset", as: String.self),
            quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
            addressId: try row.decode("address_id", as: UUID?.self),
            address: try row.decode("address", as: String?.self),
            reference: try row.decode("reference", as: String.self),
            status: CustodyMovement.Status(rawValue: try row.decode("status", as: String.self)) ?? .requested,
            requestedBy: try row.decode("requested_by", as: String.self),
            decidedBy: try row.decode("decided_by", as: String?.self),
            decidedAt: try row.decode("decided_at", as: Date?.self), reason: try row.decode("reason", as: String?.self),
            custodianReference: try row.decode("custodian_reference", as: String?.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }

    public func movement(_ id: UUID, in transaction: PostgresTransaction) async throws -> CustodyMovement {
        guard
            let row = try await transaction.query(
                """
                SELECT \(sql: Self.movementColumns) FROM tradfi_custody_movements m
                LEFT JOIN tradfi_withdrawal_addresses a ON a.id = m.address_id WHERE m.id = \(id)
                """
            ).first
        else { throw ServiceError(.notFound, "no deposit or withdrawal with this id") }
        return try Self.movement(row)
    }

    public func movements(
        kind: String?, custodyAccount: UUID?, status: CustodyMovement.Status?, in transaction: PostgresTransaction
    ) async throws -> [CustodyMovement] {
        try await transaction.query(
            """
            SELECT \(sql: Self.movementColumns) FROM tradfi_custody_movements m
            LEFT JOIN tradfi_withdrawal_addresses a ON a.id = m.address_id
            WHERE (\(kind)::text IS NULL OR m.kind = \(kind))
              AND (\(custodyAccount)::uuid IS NULL OR m.custody_account_id = \(custodyAccount))
              AND (\(status?.rawValue)::text IS NULL OR m.status = \(status?.rawValue))
            ORDER BY m.created_at DESC, m.id LIMIT 500
            """
        ).map(Self.movement)
    }

    /// The movement already stored under the same reference: the same terms return it (a retry),
    /// different ones are a conflict.
    private func existing(
        _ kind: String, custodyAccount: UUID, request: CustodyMovementRequest, asset: String,
        in transaction: PostgresTransaction
    ) async throws -> CustodyMovement? {
        guard
            let row = try await transaction.query(
                """
                SELECT \(sql: Self.movementColumns) FROM tradfi_custody_movements m
                LEFT JOIN tradfi_withdrawal_addresses a ON a.id = m.address_id
                WHERE m.custody_account_id = \(custodyAccount) AND m.kind = \(kind) AND m.reference = \(request.reference)
                """
            ).first
        else { return nil }
        let stored = try Self.movement(row)
        guard stored.asset == asset, stored.quantity == request.quantity.normalized,
            stored.addressId == request.addressId
        else {
            throw ServiceError(
                .conflict, "field 'reference': a \(kind) with this reference and other terms exists")
        }
        return stored
    }

    static func validQuantity(_ quantity: ExactDecimal) throws(ServiceError) {
        guard quantity > .zero else { throw ServiceError(.invalidInput, "field 'quantity': above 0") }
    }

    /// Announces a deposit (credited once a second person approves it). Returns it and whether
    /// it is new.
    public func requestDeposit(
        _ request: CustodyMovementRequest, into custodyAccount: UUID, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> (CustodyMovement, created: Bool) {
        let asset = request.asset ?? ""
        try Self.validAsset(asset)
        try Self.validQuantity(request.quantity)
        try Self.oneLine(request.reference, field: "reference", maximum: 200)
        let owner = try await account(custodyAccount, addresses: false, in: transaction)
        if let stored = try await existing(
            "deposit", custodyAccount: custodyAccount, request: request, asset: asset, in: transaction)
        {
            return (stored, false)
        }
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_custody_movements (custody_account_id, kind, asset, quantity, reference, status, requested_by)
            VALUES (\(custodyAccount), 'deposit', \(asset), \(request.quantity), \(request.reference), 'requested', \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "tradfi.deposit_requested", objectType: "custody_movement", objectID: id.uuidString.lowercased(),
            accountID: owner.accountId,
            details: ["asset": asset, "quantity": request.quantity.description, "reference": request.reference],
            in: transaction)
        return (try await movement(id, in: transaction), true)
    }

    /// Asks for a withdrawal to an allow-listed address past its cooling-off, screened again;
    /// the quantity is reserved until it completes or is refused.
    public func requestWithdrawal(
        _ request: CustodyMovementRequest, screener: SanctionsScreener, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> Result<(CustodyMovement, created: Bool), SanctionsRefusal> {
        guard let custodyAccount = request.custodyAccountId, let addressID = request.addressId else {
            throw ServiceError(.invalidInput, "fields 'custodyAccountId' and 'addressId': required")
        }
        try Self.validQuantity(request.quantity)
        try Self.oneLine(request.reference, field: "reference", maximum: 200)
        let owner = try await account(custodyAccount, addresses: false, in: transaction)
        guard
            let row = try await transaction.query(
                """
                SELECT asset, address, usable_from, usable_from <= now() AS usable, removed_at IS NOT NULL AS removed
                FROM tradfi_withdrawal_addresses WHERE id = \(addressID) AND custody_account_id = \(custodyAccount)
                """
            ).first
        else {
            throw ServiceError(.invalidInput, "field 'addressId': not an address on this custody account's allow-list")
        }
        let asset = try row.decode("asset", as: String.self)
        if let stored = try await existing(
            "withdrawal", custodyAccount: custodyAccount, request: request, asset: asset, in: transaction)
        {
            return .success((stored, false))
        }
        let address = try row.decode("address", as: String.self)
        guard try !row.decode("removed", as: Bool.self) else {
            throw ServiceError(.invalidInput, "field 'addressId': the address was removed from the allow-list")
        }
        guard try row.decode("usable", as: Bool.self) else {
            throw ServiceError(
                .conflict,
                "the address is cooling off until \(Timestamp.format(try row.decode("usable_from", as: Date.self))): no withdrawal to it before"
            )
        }
        let candidates = screener.screen(address: address)
        if !candidates.isEmpty {
            return .failure(
                try await refuse(
                    address, candidates: candidates, accountID: owner.accountId, custodyAccount: custodyAccount,
                    when: "a withdrawal to it was asked for", audit: audit, in: transaction))
        }
        let reserved = try await transaction.query(
            """
            UPDATE tradfi_custody_balances SET available = available - \(request.quantity),
                reserved = reserved + \(request.quantity), updated_at = now()
            WHERE custody_account_id = \(custodyAccount) AND asset = \(asset) AND available >= \(request.quantity)
            RETURNING available
            """
        )
        guard !reserved.isEmpty else {
            let available =
                try await transaction.query(
                    """
                    SELECT available FROM tradfi_custody_balances
                    WHERE custody_account_id = \(custodyAccount) AND asset = \(asset)
                    """
                ).first?.decode("available", as: ExactDecimal.self).normalized ?? .zero
            throw ServiceError(
                .conflict, "field 'quantity': \(request.quantity) \(asset) asked for, \(available) available")
        }
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_custody_movements
                (custody_account_id, kind, asset, quantity, address_id, reference, status, requested_by, screening)
            VALUES (\(custodyAccount), 'withdrawal', \(asset), \(request.quantity), \(addressID), \(request.reference),
                    'requested', \(actor),
                    \(try PostgresJSON(encoding: ["listVersions": screener.versions.map { [$0.key.rawValue: $0.value] }]))::jsonb)
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "tradfi.withdrawal_requested", objectType: "custody_movement", objectID: id.uuidString.lowercased(),
            accountID: owner.accountId,
            details: ["asset": asset, "quantity": request.quantity.description, "address": address], in: transaction)
        return .success((try await movement(id, in: transaction), true))
    }

    /// A second person approves: a deposit is credited at once; a withdrawal's address is
    /// screened once more and the withdrawal is marked approved, to be sent to the custodian
    /// (`send`) once this transaction commits.
    public func approve(
        _ id: UUID, screener: SanctionsScreener, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> Result<CustodyMovement, SanctionsRefusal> {
        let movement = try await lockedRequest(id, in: transaction)
        guard movement.requestedBy != actor else {
            throw ServiceError(
                .forbidden, "the person who asked for a \(movement.kind) cannot approve it: a second person must")
        }
        let owner = try await account(movement.custodyAccountId, addresses: false, in: transaction)
        if movement.kind == "deposit" {
            try await transaction.execute(
                """
                INSERT INTO tradfi_custody_balances (custody_account_id, asset, available)
                VALUES (\(movement.custodyAccountId), \(movement.asset), \(movement.quantity))
                ON CONFLICT (custody_account_id, asset)
                DO UPDATE SET available = tradfi_custody_balances.available + EXCLUDED.available, updated_at = now()
                """
            )
            try await decide(id, status: .completed, actor: actor, reason: nil, in: transaction)
        } else {
            let candidates = screener.screen(address: movement.address ?? "")
            if !candidates.isEmpty {
                let refusal = try await refuse(
                    movement.address ?? "", candidates: candidates, accountID: owner.accountId,
                    custodyAccount: movement.custodyAccountId, when: "its withdrawal was approved", audit: audit,
                    in: transaction)
                try await release(movement, in: transaction)
                try await decide(id, status: .rejected, actor: actor, reason: refusal.reason, in: transaction)
                return .failure(refusal)
            }
            try await decide(id, status: .approved, actor: actor, reason: nil, in: transaction)
        }
        try await audit.record(
            "tradfi.\(movement.kind)_approved", objectType: "custody_movement", objectID: id.uuidString.lowercased(),
            accountID: owner.accountId,
            details: ["asset": movement.asset, "quantity": movement.quantity.description], in: transaction)
        return .success(try await self.movement(id, in: transaction))
    }

    /// Refuses a deposit or withdrawal waiting for approval (anyone with the permission,
    /// including who asked: a withdrawal can be called back); a withdrawal's funds are released.
    public func reject(
        _ id: UUID, reason: String, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> CustodyMovement {
        guard (3...500).contains(reason.count) else {
            throw ServiceError(.invalidInput, "field 'reason': why it is refused (3 to 500 characters)")
        }
        let movement = try await lockedRequest(id, in: transaction)
        if movement.kind == "withdrawal" { try await release(movement, in: transaction) }
        // decided_by may not be the requester (the four-eyes check): one who calls back their own
        // request is kept in the reason instead.
        let decidedBy = movement.requestedBy == actor ? nil : actor
        try await decide(
            id, status: .rejected, actor: decidedBy, reason: decidedBy == nil ? "called back: \(reason)" : reason,
            in: transaction)
        try await audit.record(
            "tradfi.\(movement.kind)_rejected", objectType: "custody_movement", objectID: id.uuidString.lowercased(),
            accountID: nil, details: ["reason": reason], in: transaction)
        return try await self.movement(id, in: transaction)
    }

    private func lockedRequest(_ id: UUID, in transaction: PostgresTransaction) async throws -> CustodyMovement {
        _ = try await transaction.query("SELECT 1 FROM tradfi_custody_movements WHERE id = \(id) FOR UPDATE")
        let movement = try await self.movement(id, in: transaction)
        guard movement.status == .requested else {
            throw ServiceError(.conflict, "the \(movement.kind) is \(movement.status.rawValue), no longer waiting")
        }
        return movement
    }

    private func release(_ movement: CustodyMovement, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE tradfi_custody_balances SET available = available + \(movement.quantity),
                reserved = reserved - \(movement.quantity), updated_at = now()
            WHERE custody_account_id = \(movement.custodyAccountId) AND asset = \(movement.asset)
            """
        )
    }

    private func decide(
        _ id: UUID, status: CustodyMovement.Status, actor: String?, reason: String?, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            """
            UPDATE tradfi_custody_movements SET status = \(status.rawValue), decided_by = \(actor),
                decided_at = now(), reason = \(reason), updated_at = now()
            WHERE id = \(id)
            """
        )
    }

    /// Sends approved withdrawals to their custodians — `ids`, or (nil) every one approved more
    /// than `olderThanSeconds` ago: what a host stopped before sending — and books each answer:
    /// completed (the reserve leaves the account) or failed (the funds are released). Each in a
    /// transaction of its own that holds the withdrawal's row while its custodian is asked, so
    /// two hosts never instruct it at once; a custodian answers a second instruction of the same
    /// movement with its first receipt, so a host stopped mid-way moves nothing twice.
    /// - Returns: The withdrawals sent.
    @discardableResult
    public func send(
        _ ids: [UUID]? = nil, olderThanSeconds: Int = 60, scope: TenantScope, audit: any AuditSink
    ) async throws -> [CustodyMovement] {
        let due = try await scope.withTransaction(readOnly: true) { transaction in
            try await transaction.query(
                """
                SELECT id FROM tradfi_custody_movements
                WHERE status = 'approved' AND kind = 'withdrawal'
                  AND (\(ids)::uuid[] IS NULL AND updated_at < now() - make_interval(secs => \(olderThanSeconds))
                       OR id = ANY(\(ids)::uuid[]))
                ORDER BY updated_at LIMIT 100
                """
            ).map { try $0.decode("id", as: UUID.self) }
        }
        var sent: [CustodyMovement] = []
        for id in due {
            let movement = try await scope.withTransaction { transaction -> CustodyMovement? in
                guard
                    let row = try await transaction.query(
                        """
                        SELECT m.quantity, m.asset, a.address, c.custodian, c.custodian_account, c.account_id
                        FROM tradfi_custody_movements m
                        JOIN tradfi_withdrawal_addresses a ON a.id = m.address_id
                        JOIN tradfi_custody_accounts c ON c.id = m.custody_account_id
                        WHERE m.id = \(id) AND m.status = 'approved'
                        FOR UPDATE OF m SKIP LOCKED
                        """
                    ).first
                else { return nil }
                let custodian = try custodians.named(try row.decode("custodian", as: String.self))
                let receipt = try await custodian.withdraw(
                    CustodyInstruction(
                        id: id, custodianAccount: try row.decode("custodian_account", as: String.self),
                        asset: try row.decode("asset", as: String.self),
                        quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
                        address: try row.decode("address", as: String.self)))
                let stored = try await self.movement(id, in: transaction)
                if let refusal = receipt.refusal {
                    try await release(stored, in: transaction)
                    try await transaction.execute(
                        """
                        UPDATE tradfi_custody_movements SET status = 'failed', custodian_reference = \(receipt.reference),
                            reason = \(refusal), updated_at = now()
                        WHERE id = \(id)
                        """
                    )
                } else {
                    try await transaction.execute(
                        """
                        UPDATE tradfi_custody_balances SET reserved = reserved - \(stored.quantity), updated_at = now()
                        WHERE custody_account_id = \(stored.custodyAccountId) AND asset = \(stored.asset)
                        """
                    )
                    try await transaction.execute(
                        """
                        UPDATE tradfi_custody_movements SET status = 'completed',
                            custodian_reference = \(receipt.reference), updated_at = now()
                        WHERE id = \(id)
                        """
                    )
                }
                var details = ["custodianReference": receipt.reference]
                details["refusal"] = receipt.refusal
                try await audit.record(
                    receipt.refusal == nil ? "tradfi.withdrawal_completed" : "tradfi.withdrawal_failed",
                    objectType: "custody_movement", objectID: id.uuidString.lowercased(),
                    accountID: try row.decode("account_id", as: UUID.self), details: details, in: transaction)
                return try await self.movement(id, in: transaction)
            }
            if let movement { sent.append(movement) }
        }
        return sent
    }
}
