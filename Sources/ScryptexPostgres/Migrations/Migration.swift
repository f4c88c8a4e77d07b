import ScryptexCrypto

/// One versioned schema change, compiled into the program.
public struct Migration: Sendable, Equatable {
    /// Applied in ascending order; never reused.
    public let version: Int
    /// A short name, such as `create_tenants`.
    public let name: String
    /// The SQL to run, unqualified: it runs with `search_path` set to the target schema.
    public let sql: String
    /// SHA-256 of `sql`, hex; an applied migration whose SQL changed is refused.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hexDigest(sql)
    }
}

/// An ordered list of migrations for one kind of schema (the platform's, or every tenant's).
public struct MigrationSet: Sendable {
    /// `platform` or `tenant`; recorded with each applied migration.
    public let name: String
    public let migrations: [Migration]

    /// - Precondition: versions are positive and strictly increasing.
    public init(name: String, migrations: [Migration]) {
        for (previous, next) in zip(migrations, migrations.dropFirst()) {
            precondition(previous.version < next.version, "migration versions of set '\(name)' must strictly increase")
        }
        precondition(migrations.allSatisfy { $0.version > 0 }, "migration versions must be positive")
        self.name = name
        self.migrations = migrations
    }

    /// The highest version in the set, or 0 for an empty set.
    public var latestVersion: Int { migrations.last?.version ?? 0 }
}

/// A migration problem that must stop start-up; the message names the migration.
public struct MigrationError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let name: String
        public static let checksumMismatch = Code(name: "checksum mismatch")
        public static let unknownVersion = Code(name: "unknown version")
        public static let failed = Code(name: "failed")
    }

    public var code: Code
    public var message: String

    public var description: String { message }
}
