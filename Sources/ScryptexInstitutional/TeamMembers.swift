public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// A person on an account's team, with a role of the tenant's role set.
public struct TeamMember: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var email: String
    public var name: String?
    public var role: String
    public var createdAt: Date
}

extension AccountService {
    /// Adds a member. The e-mail and name are stored encrypted; the e-mail's keyed hash keeps
    /// one membership per person and account. `roleExists` checks the role against the tenant's
    /// roles (built in and custom).
    public func addMember(
        email: String, name: String?, role: String, to accountID: UUID, sealer: any PersonalDataSealer,
        roleExists: (String) async throws -> Bool, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> TeamMember {
        let email = try Self.email(email)
        let name = try name.map { try Self.text($0, field: "name") }
        guard try await roleExists(role) else {
            throw ServiceError(.invalidInput, "field 'role': unknown role '\(role)'")
        }
        _ = try await account(accountID, in: transaction)
        let rows: PostgresRows
        do {
            rows = try await transaction.query(
                """
                INSERT INTO institutional_team_members (account_id, email_hash, email_encrypted, name_encrypted, role)
                VALUES (\(accountID), \(sealer.lookupHash(email, purpose: "email")),
                        \(Data(sealer.seal(email, field: "institutional_team_members.email"))),
                        \(name.map { Data(sealer.seal($0, field: "institutional_team_members.name")) }), \(role))
                RETURNING id, created_at
                """
            )
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ServiceError(.conflict, "field 'email': this person is already a member of the account")
        }
        let id = try rows.firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "member.added", objectType: "team_member", objectID: id.uuidString.lowercased(), accountID: accountID,
            details: ["role": role], in: transaction)
        return TeamMember(
            id: id, accountId: accountID, email: email, name: name, role: role,
            createdAt: try rows.firstRow.decode("created_at", as: Date.self))
    }

    public func members(
        of accountID: UUID, sealer: any PersonalDataSealer, in transaction: PostgresTransaction
    )
        async throws -> [TeamMember]
    {
        _ = try await account(accountID, in: transaction)
        let rows = try await transaction.query(
            """
            SELECT id, account_id, email_encrypted, name_encrypted, role, created_at FROM institutional_team_members
            WHERE account_id = \(accountID) ORDER BY created_at, id
            """
        )
        return try rows.map { try Self.member(from: $0, sealer: sealer) }
    }

    public func changeMemberRole(
        _ memberID: UUID, of accountID: UUID, to role: String, sealer: any PersonalDataSealer,
        roleExists: (String) async throws -> Bool, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> TeamMember {
        guard try await roleExists(role) else {
            throw ServiceError(.invalidInput, "field 'role': unknown role '\(role)'")
        }
        let rows = try await transaction.query(
            """
            UPDATE institutional_team_members SET role = \(role), updated_at = now()
            WHERE id = \(memberID) AND account_id = \(accountID)
            RETURNING id, account_id, email_encrypted, name_encrypted, role, created_at
            """
        )
        guard let row = rows.first else {
            throw ServiceError(.notFound, "no member \(memberID.uuidString.lowercased()) on this account")
        }
        try await audit.record(
            "member.role_changed", objectType: "team_member", objectID: memberID.uuidString.lowercased(),
            accountID: accountID, details: ["role": role], in: transaction)
        return try Self.member(from: row, sealer: sealer)
    }

    public func removeMember(
        _ memberID: UUID, of accountID: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        let removed = try await transaction.execute(
            "DELETE FROM institutional_team_members WHERE id = \(memberID) AND account_id = \(accountID)")
        guard removed == 1 else {
            throw ServiceError(.notFound, "no member \(memberID.uuidString.lowercased()) on this account")
        }
        try await audit.record(
            "member.removed", objectType: "team_member", objectID: memberID.uuidString.lowercased(),
            accountID: accountID, details: [:], in: transaction)
    }

    static func member(from row: PostgresRow, sealer: any PersonalDataSealer) throws -> TeamMember {
        TeamMember(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            email: try sealer.open(
                Array(try row.decode("email_encrypted", as: Data.self)), field: "institutional_team_members.email"),
            name: try row.decode("name_encrypted", as: Data?.self).map {
                try sealer.open(Array($0), field: "institutional_team_members.name")
            },
            role: try row.decode("role", as: String.self), createdAt: try row.decode("created_at", as: Date.self))
    }

    static func email(_ value: String) throws -> String {
        let email = value.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !email.contains(where: \.isWhitespace)
        else {
            throw ServiceError(.invalidInput, "field 'email': not an e-mail address like name@example.com")
        }
        return email
    }
}
