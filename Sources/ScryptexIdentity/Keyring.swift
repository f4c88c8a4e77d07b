public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres
import Synchronization

/// The key that wraps every tenant's data key. It lives outside the database (a file or an
/// environment variable) so a copy of the database alone decrypts nothing.
public struct MasterKey: Sendable {
    let bytes: [UInt8]

    /// A short public fingerprint naming the key in the database (not derived reversibly).
    public let identifier: String

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else {
            throw ServiceError(
                .invalidInput, "the master key must be 32 bytes (64 hexadecimal digits or 43 base64url characters)")
        }
        self.bytes = bytes
        self.identifier =
            "mk_" + String(Hex.encode(HMAC.code(for: Array("scryptex master key id".utf8), key: bytes)).prefix(16))
    }

    /// Parses 64 hexadecimal digits or 43 base64url characters (surrounding spaces ignored).
    public init(text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.utf8.count == 64, let bytes = Hex.decode(trimmed) {
            try self.init(bytes: bytes)
        } else if let bytes = Base64URL.decode(trimmed), bytes.count == 32 {
            try self.init(bytes: bytes)
        } else {
            throw ServiceError(
                .invalidInput, "the master key must be 64 hexadecimal digits or 43 base64url characters")
        }
    }

    /// A new random key, as text for a file.
    public static func generateText() -> String { Hex.encode(SecureRandom.bytes(count: 32)) }
}

/// Envelope encryption of personal data: each tenant has its own AES-256 data key, stored in the
/// control plane only wrapped by the master key. Fields are sealed with AES-256-GCM, bound to the
/// tenant, table and column by associated data. Deleting a tenant deletes its data keys, after
/// which its ciphertexts — in exports, backups or anywhere — can never be opened again.
public final class Keyring: Sendable {
    private let master: MasterKey
    /// Earlier master keys, to unwrap data keys not yet re-wrapped after a master rotation.
    private let previousMasters: [MasterKey]
    private struct Entry {
        var keys: [Int32: [UInt8]]
        var current: Int32
        var loaded: ContinuousClock.Instant
    }
    /// Unwrapped keys for a minute, so a request does not pay a control-plane query each time.
    private let cache = Mutex<[UUID: Entry]>([:])
    private let cacheLifetime: Duration = .seconds(60)

    public init(master: MasterKey, previous: [MasterKey] = []) {
        self.master = master
        self.previousMasters = previous
    }

    public var masterKeyIdentifier: String { master.identifier }

    var masterBytes: [UInt8] { master.bytes }

    /// The master key's bytes, for tests of a master rotation only.
    public var masterBytesForTesting: [UInt8] { master.bytes }

    /// The tenant's keys, for one operation.
    public struct TenantKeys: Sendable {
        public let tenantID: UUID
        let keys: [Int32: [UInt8]]
        public let currentVersion: Int32

        /// Seals a value of `table.column`.
        public func seal(_ text: String, field: String) -> [UInt8] {
            var version = currentVersion.bigEndian
            let header = [UInt8(1)] + withUnsafeBytes(of: &version) { Array($0) }
            return header + AES256GCM.seal(Array(text.utf8), key: keys[currentVersion]!, associatedData: aad(field))
        }

        public func seal(_ text: String?, field: String) -> [UInt8]? { text.map { seal($0, field: field) } }

        /// Opens a sealed value of `table.column`.
        public func open(_ box: [UInt8], field: String) throws -> String {
            guard box.count > 5, box[0] == 1 else {
                throw ServiceError(.corrupt, "an encrypted field has an unknown format")
            }
            let version = box[1...4].reduce(Int32(0)) { ($0 << 8) | Int32($1) }
            guard let key = keys[version] else {
                throw ServiceError(.corrupt, "the data key version \(version) of this tenant no longer exists")
            }
            do {
                return String(
                    decoding: try AES256GCM.open(box[5...], key: key, associatedData: aad(field)), as: UTF8.self)
            } catch {
                throw ServiceError(.corrupt, "an encrypted field of \(field) does not open with this tenant's key")
            }
        }

        /// A keyed hash for looking up a value without storing it (a blind index).
        public func lookupHash(_ text: String, purpose: String) -> String {
            let indexKey = HMAC.code(for: Array("lookup|\(purpose)".utf8), key: keys[currentVersion]!)
            return Hex.encode(HMAC.code(for: Array(text.utf8), key: indexKey))
        }

        private func aad(_ field: String) -> [UInt8] { Array("\(tenantID.uuidString.lowercased())|\(field)".utf8) }
    }

    /// Gives a first data key to each of `tenants` that has none (tenants created before keys existed).
    public func createMissingKeys(for tenants: [UUID], in transaction: PostgresTransaction) async throws {
        let rows = try await transaction.query(
            """
            SELECT id FROM unnest(\(tenants)::uuid[]) AS t(id)
            WHERE NOT EXISTS (SELECT 1 FROM platform.tenant_data_keys k WHERE k.tenant_id = t.id)
            """)
        for row in rows {
            try await createFirstKey(for: try row.decode("id", as: UUID.self), in: transaction)
        }
    }

    /// Creates the tenant's first data key (inside the provisioning transaction).
    public func createFirstKey(for tenantID: UUID, in transaction: PostgresTransaction) async throws {
        try await insertKey(SecureRandom.bytes(count: 32), version: 1, for: tenantID, in: transaction)
    }

    private func insertKey(
        _ key: [UInt8], version: Int32, for tenantID: UUID, in transaction: PostgresTransaction
    )
        async throws
    {
        let wrapped = AES256GCM.seal(key, key: master.bytes, associatedData: wrapAAD(tenantID, version))
        try await transaction.execute(
            """
            INSERT INTO platform.tenant_data_keys (tenant_id, version, wrapped_key, master_key_id)
            VALUES (\(tenantID), \(version), \(Data(wrapped)), \(master.identifier))
            """
        )
    }

    /// The tenant's keys, from the cache or the control plane.
    public func keys(for tenantID: UUID, on pool: PostgresConnectionPool) async throws -> TenantKeys {
        let now = ContinuousClock.now
        if let entry = cache.withLock({ $0[tenantID] }), now - entry.loaded < cacheLifetime {
            return TenantKeys(tenantID: tenantID, keys: entry.keys, currentVersion: entry.current)
        }
        let rows = try await pool.query(
            "SELECT version, wrapped_key, master_key_id FROM platform.tenant_data_keys WHERE tenant_id = \(tenantID)")
        let keys = try unwrap(rows, tenantID: tenantID)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[tenantID] = Entry(keys: keys.keys, current: keys.currentVersion, loaded: now)
        }
        return keys
    }

    /// The tenant's keys read inside a transaction of the host role (rotation, provisioning).
    public func keys(for tenantID: UUID, in transaction: PostgresTransaction) async throws -> TenantKeys {
        let rows = try await transaction.query(
            "SELECT version, wrapped_key, master_key_id FROM platform.tenant_data_keys WHERE tenant_id = \(tenantID)")
        return try unwrap(rows, tenantID: tenantID)
    }

    private func unwrap(_ rows: some Sequence<PostgresRow>, tenantID: UUID) throws -> TenantKeys {
        try unwrap(
            try rows.map {
                ArchivedKey(
                    version: try $0.decode("version", as: Int32.self),
                    wrappedKey: Hex.encode(Array(try $0.decode("wrapped_key", as: Data.self))),
                    masterKeyID: try $0.decode("master_key_id", as: String.self))
            }, tenantID: tenantID)
    }

    /// A data key version as a tenant archive carries it: still wrapped by the master key, so an
    /// archive holds no key in the clear and opens only where that master key is configured.
    public struct ArchivedKey: Sendable, Codable, Equatable {
        public var version: Int32
        /// Hexadecimal.
        public var wrappedKey: String
        public var masterKeyID: String
    }

    /// The tenant's data key versions, wrapped, for its archive.
    public func archivedKeys(for tenantID: UUID, in transaction: PostgresTransaction) async throws -> [ArchivedKey] {
        try await transaction.query(
            """
            SELECT version, wrapped_key, master_key_id FROM platform.tenant_data_keys
            WHERE tenant_id = \(tenantID) ORDER BY version
            """
        ).map {
            ArchivedKey(
                version: try $0.decode("version", as: Int32.self),
                wrappedKey: Hex.encode(Array(try $0.decode("wrapped_key", as: Data.self))),
                masterKeyID: try $0.decode("master_key_id", as: String.self))
        }
    }

    /// The keys an archive of tenant `tenantID` carries, unwrapped.
    /// - Throws: `ServiceError` when a key was wrapped by a master key this host does not have.
    public func keys(archived: [ArchivedKey], of tenantID: UUID) throws -> TenantKeys {
        try unwrap(archived, tenantID: tenantID)
    }

    private func unwrap(_ archived: [ArchivedKey], tenantID: UUID) throws -> TenantKeys {
        var keys: [Int32: [UInt8]] = [:]
        for entry in archived {
            let (version, identifier) = (entry.version, entry.masterKeyID)
            guard let wrapping = ([master] + previousMasters).first(where: { $0.identifier == identifier }) else {
                throw ServiceError(
                    .corrupt, "the tenant's data key is wrapped by master key \(identifier), which is not configured")
            }
            guard let wrapped = Hex.decode(entry.wrappedKey),
                let key = try? AES256GCM.open(wrapped, key: wrapping.bytes, associatedData: wrapAAD(tenantID, version))
            else {
                throw ServiceError(.corrupt, "the tenant's data key version \(version) does not unwrap")
            }
            keys[version] = key
        }
        guard let current = keys.keys.max() else {
            throw ServiceError(.notFound, "this tenant has no data key (it was deleted, or its data was shredded)")
        }
        return TenantKeys(tenantID: tenantID, keys: keys, currentVersion: current)
    }

    /// Adds a new data key version; the caller re-encrypts and then calls `retireKeys`.
    public func addKeyVersion(for tenantID: UUID, in transaction: PostgresTransaction) async throws -> TenantKeys {
        let existing = try await keys(for: tenantID, in: transaction)
        try await insertKey(
            SecureRandom.bytes(count: 32), version: existing.currentVersion + 1, for: tenantID, in: transaction)
        forget(tenantID)
        return try await keys(for: tenantID, in: transaction)
    }

    /// Deletes every version but the current one (after re-encryption).
    public func retireKeys(
        olderThan version: Int32, for tenantID: UUID, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            "DELETE FROM platform.tenant_data_keys WHERE tenant_id = \(tenantID) AND version < \(version)")
        forget(tenantID)
    }

    /// Re-wraps every data key wrapped by an older master key with the current one.
    @discardableResult
    public func rewrapAll(in transaction: PostgresTransaction) async throws -> Int {
        let rows = try await transaction.query(
            """
            SELECT tenant_id, version, wrapped_key, master_key_id FROM platform.tenant_data_keys
            WHERE master_key_id <> \(master.identifier) FOR UPDATE
            """
        )
        for row in rows {
            let tenantID = try row.decode("tenant_id", as: UUID.self)
            let keys = try unwrap([row], tenantID: tenantID)
            for (version, key) in keys.keys {
                let wrapped = AES256GCM.seal(key, key: master.bytes, associatedData: wrapAAD(tenantID, version))
                try await transaction.execute(
                    """
                    UPDATE platform.tenant_data_keys SET wrapped_key = \(Data(wrapped)), master_key_id = \(master.identifier)
                    WHERE tenant_id = \(tenantID) AND version = \(version)
                    """
                )
            }
        }
        cache.withLock { $0.removeAll() }
        return rows.count
    }

    /// Destroys the tenant's data keys: crypto-shredding.
    public func shred(_ tenantID: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("DELETE FROM platform.tenant_data_keys WHERE tenant_id = \(tenantID)")
        forget(tenantID)
    }

    public func forget(_ tenantID: UUID) {
        _ = cache.withLock { $0.removeValue(forKey: tenantID) }
    }

    private func wrapAAD(_ tenantID: UUID, _ version: Int32) -> [UInt8] {
        Array("tenant-data-key|\(tenantID.uuidString.lowercased())|\(version)".utf8)
    }
}

extension Keyring {
    /// Seals a platform secret (a certificate's private key) with a key derived from the master
    /// key, bound to `purpose` (what it is and whose); only a host with that master key (or one
    /// it was rotated from) opens it.
    public func sealPlatformSecret(_ plaintext: [UInt8], purpose: String) -> [UInt8] {
        AES256GCM.seal(plaintext, key: Self.platformSecretKey(master.bytes), associatedData: Self.platformAAD(purpose))
    }

    public func openPlatformSecret(_ box: [UInt8], purpose: String) throws -> [UInt8] {
        for key in [master] + previousMasters {
            if let opened = try? AES256GCM.open(
                box, key: Self.platformSecretKey(key.bytes), associatedData: Self.platformAAD(purpose))
            {
                return opened
            }
        }
        throw ServiceError(.corrupt, "a platform secret (\(purpose)) does not open with this host's master key")
    }

    static func platformSecretKey(_ master: [UInt8]) -> [UInt8] {
        HMAC.code(for: Array("scryptex platform secrets v1".utf8), key: master)
    }

    static func platformAAD(_ purpose: String) -> [UInt8] { Array("platform-secret|\(purpose)".utf8) }

    /// The key that signs audit checkpoints, derived from the master key (so it is never stored).
    public var auditCheckpointKey: [UInt8] {
        HMAC.code(for: Array("scryptex audit checkpoint signing".utf8), key: masterBytes)
    }
}
