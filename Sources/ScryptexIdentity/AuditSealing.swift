import Foundation
public import ScryptexCore
public import ScryptexCrypto
public import ScryptexPostgres

/// Seals every audit trail that grew since its latest seal: signs its head with the audit signing
/// key and appends the seal to the seal log, outside the database. The host seals at start and
/// every `AUDIT_SEAL_INTERVAL`; `scryptex audit seal` seals on demand.
public struct AuditSealing: Sendable {
    let key: P256SigningKey
    /// Where seals are appended, outside the database.
    public let log: AuditSealLog
    let logger: Logger

    public init(key: P256SigningKey, log: AuditSealLog, logger: Logger) {
        self.key = key
        self.log = log
        self.logger = logger
    }

    public var publicKey: P256PublicKey { key.publicKey }

    /// Seals `schema`'s trail if it has records its latest seal does not cover.
    /// - Returns: The new seal, or nil when there was nothing new.
    @discardableResult
    public func seal(_ schema: SQLIdentifier, on pool: PostgresConnectionPool) async throws -> AuditSeal? {
        guard
            let head = try await pool.withTransaction({ transaction in
                try await AuditTrail(schema: schema).head(in: transaction)
            })
        else { return nil }
        if let latest = try log.latestSeal(of: schema.name), latest.position >= head.position { return nil }
        let seal = try AuditSeal.sign(trail: schema.name, position: head.position, headHash: head.hash, with: key)
        try log.append(seal)
        return seal
    }

    /// Seals every trail that grew. - Returns: How many were sealed.
    @discardableResult
    public func sealAll(on pool: PostgresConnectionPool) async throws -> Int {
        var sealed = 0
        for (schema, database) in try await AuditRetention.trails(on: pool)
        where try await seal(schema, on: database) != nil {
            sealed += 1
        }
        return sealed
    }

    /// Seals now and then every `interval` until cancelled; failures are logged, not fatal.
    public func runPeriodically(on pool: PostgresConnectionPool, every interval: Duration) async {
        while !Task.isCancelled {
            do {
                let sealed = try await sealAll(on: pool)
                if sealed > 0 { logger.info("audit trails sealed", ["trails": String(sealed)]) }
            } catch {
                logger.error("sealing audit trails failed", ["error": String(describing: error)])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Verifies `schema`'s trail against its latest seal.
    public func verify(
        _ schema: SQLIdentifier, checkpointKey: [UInt8], in transaction: PostgresTransaction
    ) async throws
        -> AuditChain.Verification
    {
        try await AuditTrail(schema: schema).verify(
            in: transaction, checkpointKey: checkpointKey, seal: try log.latestSeal(of: schema.name),
            sealKey: publicKey)
    }
}
