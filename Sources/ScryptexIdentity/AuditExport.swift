import Foundation
import ScryptexCore
public import ScryptexCrypto
public import ScryptexPostgres
public import ScryptexTenancy

/// The trail as JSON lines: one header line naming the schema, the export time and the public
/// key that signs seals; then one line per record with every field the hash covers; last, the
/// trail's latest seal (if any), so `scryptex audit verify --file` — or anyone holding the
/// public key — can check it offline, including that no sealed record was rewritten.
public enum AuditExport {
    struct Header: Codable {
        var format = "scryptex-audit-export/1"
        var schema: String
        var exportedAt: Date
        /// The seal-signing key as a PEM `PUBLIC KEY` (pin it from `GET …/audit-trail/signing-key`).
        var sealKey: String?
    }

    /// A line holding the trail's latest seal, last in the export.
    struct SealLine: Codable {
        var seal: AuditSeal
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Writes the export of `tenant`'s trail through `write` a page at a time: each page is read in a
    /// short transaction of its own (the trail is append-only, so pages by position are
    /// consistent), so memory stays bounded and no lock is held against the tenant's writers.
    public static func write(
        _ tenant: Tenant, sealing: AuditSealing, pool: PostgresConnectionPool,
        to write: ([UInt8]) async throws -> Void
    ) async throws {
        let encoder = Self.encoder
        let trail = AuditTrail(schema: tenant.schema)
        let header = Header(schema: trail.schema.name, exportedAt: Date(), sealKey: sealing.publicKey.pem)
        // The seal is taken before the records, so the records reach at least as far.
        let seal = try sealing.log.latestSeal(of: trail.schema.name)
        try await write(Array(try encoder.encode(header)) + [10])
        var cursor: Int64 = 0
        while true {
            let page = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                try await trail.records(matching: .init(), after: cursor, limit: 2000, in: transaction)
            }
            guard let last = page.last else { break }
            var bytes: [UInt8] = []
            for record in page {
                bytes += try encoder.encode(record)
                bytes.append(10)
            }
            try await write(bytes)
            cursor = last.position
        }
        if let seal { try await write(Array(try encoder.encode(SealLine(seal: seal))) + [10]) }
    }

    /// Verifies exported lines; throws naming the line for anything that is not an export.
    ///
    /// - Parameter sealKey: The key seals must be signed with; nil takes the one the export
    ///   names (which proves consistency only: pin the key to prove authenticity).
    public static func verify(
        _ text: String, checkpointKey: [UInt8]?, sealKey: P256PublicKey? = nil
    ) throws
        -> AuditChain.Verification
    {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let first = lines.next(), let header = try? decoder.decode(Header.self, from: Data(first.utf8)),
            header.format == "scryptex-audit-export/1"
        else {
            throw ServiceError(
                .invalidInput, "line 1: not a scryptex audit export (no scryptex-audit-export/1 header)")
        }
        var records: [AuditRecord] = []
        var seal: AuditSeal?
        var number = 1
        while let line = lines.next() {
            number += 1
            if seal == nil, line.hasPrefix(#"{"seal":"#),
                let sealed = try? decoder.decode(SealLine.self, from: Data(line.utf8))
            {
                seal = sealed.seal
                continue
            }
            guard seal == nil else {
                throw ServiceError(.invalidInput, "line \(number): nothing may follow the seal")
            }
            do {
                records.append(try decoder.decode(AuditRecord.self, from: Data(line.utf8)))
            } catch {
                throw ServiceError(.invalidInput, "line \(number): not an audit record")
            }
        }
        let key = try sealKey ?? header.sealKey.map { try P256PublicKey(pem: $0) }
        return AuditTrailVerifier(checkpointKey: checkpointKey, schemaName: header.schema).verify(
            records, seal: seal, sealKey: key)
    }
}
