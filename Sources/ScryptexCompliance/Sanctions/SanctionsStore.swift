public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// Loaded list versions in the control plane (`platform.sanctions_list_versions` and
/// `platform.sanctions_entries`). Every load is kept, so a past decision can be reproduced
/// against the exact list it used; one version per source is active.
public struct SanctionsStore: Sendable {
    public struct Version: Sendable, Codable, Equatable {
        public var id: UUID
        public var source: SanctionsSource
        public var loadedAt: Date
        public var entryCount: Int
        public var checksum: String
        public var active: Bool
    }

    public init() {}

    /// Stores `entries` as the new active version of `source` (one transaction: the previous
    /// version stays active if anything fails). `files` are the raw inputs, for the checksum.
    public func load(
        _ entries: [SanctionsEntry], source: SanctionsSource, files: [Data], loadedBy: String,
        on pool: PostgresConnectionPool
    ) async throws -> Version {
        guard !entries.isEmpty else {
            throw SanctionsFormatError(file: source.rawValue, line: nil, problem: "the list has no entries")
        }
        let checksum = Hex.encode(SHA256.hash(files.reduce(into: [UInt8]()) { $0 += SHA256.hash(Array($1)) }))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(entries), as: UTF8.self)
        return try await pool.withTransaction { transaction in
            // One loader at a time per source.
            try await transaction.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("sanctions:" + source.rawValue), 0))")
            let rows = try await transaction.query(
                """
                INSERT INTO platform.sanctions_list_versions (source, loaded_by, checksum, entry_count, active)
                VALUES (\(source.rawValue), \(loadedBy), \(checksum), \(entries.count), false)
                RETURNING id, loaded_at
                """
            )
            let id = try rows.firstRow.decode("id", as: UUID.self)
            try await transaction.execute(
                """
                INSERT INTO platform.sanctions_entries (version_id, identifier, entry)
                SELECT \(id), element ->> 'identifier', element FROM jsonb_array_elements(\(json)::jsonb) AS element
                """
            )
            try await transaction.execute(
                "UPDATE platform.sanctions_list_versions SET active = false WHERE source = \(source.rawValue) AND active"
            )
            try await transaction.execute("UPDATE platform.sanctions_list_versions SET active = true WHERE id = \(id)")
            try await transaction.execute("SELECT pg_notify('scryptex_sanctions', \(source.rawValue))")
            return Version(
                id: id, source: source, loadedAt: try rows.firstRow.decode("loaded_at", as: Date.self),
                entryCount: entries.count, checksum: checksum, active: true)
        }
    }

    public func versions(on pool: PostgresConnectionPool) async throws -> [Version] {
        let rows = try await pool.query(
            """
            SELECT id, source, loaded_at, entry_count, checksum, active FROM platform.sanctions_list_versions
            ORDER BY loaded_at DESC
            """
        )
        return try rows.map { row in
            Version(
                id: try row.decode("id", as: UUID.self),
                source: SanctionsSource(rawValue: try row.decode("source", as: String.self)) ?? .ofacSDN,
                loadedAt: try row.decode("loaded_at", as: Date.self),
                entryCount: try row.decode("entry_count", as: Int.self),
                checksum: try row.decode("checksum", as: String.self), active: try row.decode("active", as: Bool.self))
        }
    }

    /// The entries of the given versions (the active ones when nil).
    public func lists(
        versions ids: [UUID]? = nil, on pool: PostgresConnectionPool
    ) async throws
        -> [SanctionsScreener.LoadedList]
    {
        let chosen = try await versions(on: pool).filter { ids?.contains($0.id) ?? $0.active }
        var lists: [SanctionsScreener.LoadedList] = []
        for version in chosen {
            let rows = try await pool.query(
                "SELECT entry FROM platform.sanctions_entries WHERE version_id = \(version.id) ORDER BY identifier")
            let entries = try rows.map { try $0.decode("entry", as: PostgresJSON.self).decode(SanctionsEntry.self) }
            lists.append(.init(source: version.source, version: version.id, entries: entries))
        }
        return lists
    }
}
