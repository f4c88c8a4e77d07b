public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// What a tenant says about a FIX session to one of its prime brokers.
public struct BrokerSessionDefinition: Sendable, Codable, Equatable {
    public var name: String
    /// The institutional account the session's fills are booked to.
    public var accountId: UUID
    public var host: String
    public var port: Int
    public var senderCompID: String
    public var targetCompID: String
    /// FIX over TLS (the default); false only for a link that is protected otherwise (a VPN or
    /// a cross-connect).
    public var tls: Bool?
    /// PEM of the authorities that sign the broker's certificate; none: the system's.
    public var trustedCertificates: String?
    public var heartbeatSeconds: Int?
    public var enabled: Bool?
    /// When the session is connected; none: always.
    public var schedule: BrokerSchedule?

    static let fields: Set<String> = [
        "name", "accountId", "host", "port", "senderCompID", "targetCompID", "tls", "trustedCertificates",
        "heartbeatSeconds", "enabled", "schedule",
    ]

    /// Reads a request body strictly: unknown fields refused, each field checked, named.
    public static func decode(_ bytes: [UInt8]) throws -> BrokerSessionDefinition {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw ServiceError(.invalidInput, "field '\(unknown.prefix(80))': not a field of a broker session")
        }
        let definition: BrokerSessionDefinition
        do {
            definition = try JSONDecoder().decode(BrokerSessionDefinition.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ServiceError(.invalidInput, "field '\(key.stringValue)': required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ServiceError(
                .invalidInput,
                "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': not the right type")
        } catch let DecodingError.dataCorrupted(context) {
            throw ServiceError(
                .invalidInput, "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': not valid")
        } catch {
            throw ServiceError(.invalidInput, "the body is not a broker session")
        }
        try definition.validate()
        return definition
    }

    public func validate() throws(ServiceError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count), trimmed == name, !name.contains(where: \.isNewline) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 100 characters on one line")
        }
        let hostCharacters = host.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || ".-:".unicodeScalars.contains($0)
        }
        guard (1...253).contains(host.count), hostCharacters else {
            throw ServiceError(.invalidInput, "field 'host': a host name or an IP address")
        }
        guard (1...65_535).contains(port) else { throw ServiceError(.invalidInput, "field 'port': 1 to 65535") }
        for (field, value) in [("senderCompID", senderCompID), ("targetCompID", targetCompID)] {
            guard (1...64).contains(value.count),
                value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0.value < 127 && $0 != "=" })
            else {
                throw ServiceError(.invalidInput, "field '\(field)': 1 to 64 printable ASCII characters, no '='")
            }
        }
        try schedule?.validate()
        if let heartbeatSeconds, !(5...300).contains(heartbeatSeconds) {
            throw ServiceError(.invalidInput, "field 'heartbeatSeconds': 5 to 300")
        }
        if let trustedCertificates {
            guard trustedCertificates.count <= 100_000,
                trustedCertificates.contains("-----BEGIN CERTIFICATE-----")
            else {
                throw ServiceError(
                    .invalidInput, "field 'trustedCertificates': PEM certificates (-----BEGIN CERTIFICATE-----)")
            }
            guard tls != false else {
                throw ServiceError(.invalidInput, "field 'trustedCertificates': only for a session over TLS")
            }
        }
    }
}

/// A broker session as the API shows it: its settings, where it stands and its numbers.
public struct BrokerSession: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var accountId: UUID
    public var host: String
    public var port: Int
    public var senderCompID: String
    public var targetCompID: String
    public var tls: Bool
    public var trustsOwnAuthorities: Bool
    public var heartbeatSeconds: Int
    public var enabled: Bool
    public var schedule: BrokerSchedule?
    public var status: String
    public var statusDetail: String?
    public var nextSenderSequence: Int
    public var nextTargetSequence: Int
    public var messagesStored: Int
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// The tenant's FIX sessions to its prime brokers.
public struct BrokerSessionService: Sendable {
    public init() {}

    static let columns: StaticString = """
        s.id, s.name, s.account_id, s.host, s.port, s.sender_comp_id, s.target_comp_id, s.tls,
        s.trusted_certificates IS NOT NULL AS own_authorities, s.heartbeat_seconds, s.enabled, s.schedule, s.status,
        s.status_detail, s.next_sender_seq, s.next_target_seq,
        (SELECT count(*) FROM tradfi_fix_messages m WHERE m.session_id = s.id)::int8 AS messages,
        s.created_by, s.created_at, s.updated_at
        """

    public func create(
        _ definition: BrokerSessionDefinition, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> BrokerSession {
        try definition.validate()
        _ = try await AccountService().account(definition.accountId, in: transaction)
        guard
            try await transaction.query(
                """
                SELECT 1 FROM tradfi_broker_sessions
                WHERE name = \(definition.name)
                   OR (host = \(definition.host) AND port = \(definition.port)
                       AND sender_comp_id = \(definition.senderCompID) AND target_comp_id = \(definition.targetCompID))
                """
            ).isEmpty
        else {
            throw ServiceError(
                .conflict,
                "field 'name': a broker session named '\(definition.name)' or to the same host, port and CompIDs exists"
            )
        }
        let id = try await transaction.query(
            """
            INSERT INTO tradfi_broker_sessions (name, account_id, host, port, sender_comp_id, target_comp_id, tls,
                trusted_certificates, heartbeat_seconds, enabled, schedule, created_by)
            VALUES (\(definition.name), \(definition.accountId), \(definition.host), \(definition.port),
                    \(definition.senderCompID), \(definition.targetCompID), \(definition.tls ?? true),
                    \(definition.trustedCertificates), \(definition.heartbeatSeconds ?? 30), \(definition.enabled ?? true),
                    \(try definition.schedule.map { try PostgresJSON(encoding: $0) })::jsonb, \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        try await audit.record(
            "tradfi.broker_session_created", objectType: "broker_session", objectID: id.uuidString.lowercased(),
            accountID: definition.accountId,
            details: [
                "name": definition.name, "host": definition.host, "port": String(definition.port),
                "senderCompID": definition.senderCompID, "targetCompID": definition.targetCompID,
                "tls": String(definition.tls ?? true),
            ], in: transaction)
        return try await session(id, in: transaction)
    }

    public func sessions(in transaction: PostgresTransaction) async throws -> [BrokerSession] {
        try await transaction.query(
            "SELECT \(sql: Self.columns) FROM tradfi_broker_sessions s ORDER BY s.name"
        ).map(Self.session)
    }

    /// - Throws: `.notFound` for an id that is not one of the tenant's sessions.
    public func session(_ id: UUID, in transaction: PostgresTransaction) async throws -> BrokerSession {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_broker_sessions s WHERE s.id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no broker session with this id") }
        return try Self.session(row)
    }

    static func session(_ row: PostgresRow) throws -> BrokerSession {
        BrokerSession(
            id: try row.decode("id", as: UUID.self), name: try row.decode("name", as: String.self),
            accountId: try row.decode("account_id", as: UUID.self), host: try row.decode("host", as: String.self),
            port: try row.decode("port", as: Int.self), senderCompID: try row.decode("sender_comp_id", as: String.self),
            targetCompID: try row.decode("target_comp_id", as: String.self), tls: try row.decode("tls", as: Bool.self),
            trustsOwnAuthorities: try row.decode("own_authorities", as: Bool.self),
            heartbeatSeconds: try row.decode("heartbeat_seconds", as: Int.self),
            enabled: try row.decode("enabled", as: Bool.self),
            schedule: try row.decode("schedule", as: PostgresJSON?.self)?.decode(BrokerSchedule.self),
            status: try row.decode("status", as: String.self),
            statusDetail: try row.decode("status_detail", as: String?.self),
            nextSenderSequence: try row.decode("next_sender_seq", as: Int.self),
            nextTargetSequence: try row.decode("next_target_seq", as: Int.self),
            messagesStored: try row.decode("messages", as: Int.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }
}
