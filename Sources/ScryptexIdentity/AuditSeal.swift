public import Foundation
import Glibc
import ScryptexCore
public import ScryptexCrypto
import Synchronization

/// A signed statement of an audit trail's head: "trail T had N records, the last with hash H".
///
/// The hash chain alone proves nothing against someone who can write the database: they can
/// change a record and recompute every later hash. A seal is signed with a key that never enters
/// the database (ES256, like the master key kept beside it) and is kept where the database cannot
/// rewrite it (an append-only file, and every export). A rewrite of any sealed record changes the
/// hash at the sealed position, which then no longer matches the seal; removing sealed records
/// leaves the trail shorter than a seal says. Records after the latest seal are protected by the
/// chain only, until the next seal (every `AUDIT_SEAL_INTERVAL`).
public struct AuditSeal: Sendable, Codable, Equatable {
    public var format = "scryptex-audit-seal/1"
    /// The trail's schema: `platform` or `t_<slug>`.
    public var trail: String
    public var position: Int64
    public var headHash: String
    /// When it was signed, RFC 3339 in UTC.
    public var sealedAt: String
    /// The RFC 7638 thumbprint of the signing key, so a verifier knows which key to use.
    public var keyThumbprint: String
    /// base64url of the ES256 signature (r ‖ s) of `signingInput`.
    public var signature: String

    /// What is signed: every field but the signature, in a fixed order.
    public var signingInput: [UInt8] {
        Array("\(format)|\(trail)|\(position)|\(headHash)|\(sealedAt)|\(keyThumbprint)".utf8)
    }

    /// Signs the head of `trail`.
    public static func sign(
        trail: String, position: Int64, headHash: String, at date: Date = Date(), with key: P256SigningKey
    ) throws -> AuditSeal {
        var seal = AuditSeal(
            trail: trail, position: position, headHash: headHash, sealedAt: Timestamp.format(date),
            keyThumbprint: key.publicKey.thumbprint, signature: "")
        seal.signature = Base64URL.encode(try key.sign(seal.signingInput))
        return seal
    }

    /// Whether `key` signed exactly this seal.
    public func isSigned(by key: P256PublicKey) -> Bool {
        guard format == "scryptex-audit-seal/1", keyThumbprint == key.thumbprint,
            let raw = Base64URL.decode(signature)
        else { return false }
        return key.isValidSignature(raw, for: signingInput)
    }

    /// Checks a trail's verified head against this seal: the sealed record must still be there
    /// with the sealed hash (records whose hash at `position` is `hashAtPosition`), and the trail
    /// must reach at least that far. Returns the problem, or nil when the trail agrees.
    public func disagreement(
        hashAtPosition: String?, lastPosition: Int64?, key: P256PublicKey
    ) -> AuditChain.BrokenLink? {
        guard isSigned(by: key) else {
            return AuditChain.BrokenLink(position: position, problem: "the seal's signature is not valid for this key")
        }
        guard let lastPosition, lastPosition >= position else {
            return AuditChain.BrokenLink(
                position: position,
                problem:
                    "the trail ends at record \(lastPosition ?? 0), but a seal signed \(sealedAt) covers \(position)")
        }
        guard let hashAtPosition, ConstantTime.equals(hashAtPosition, headHash) else {
            return AuditChain.BrokenLink(
                position: position,
                problem: "the record's hash differs from the one sealed \(sealedAt): the trail was rewritten")
        }
        return nil
    }
}

/// The seals, one JSON line each, in a file the host only ever appends to (and syncs), outside
/// the database. The latest seal of each trail is kept in memory; lines appended since the last
/// read (by this process, or by `scryptex audit seal` in another) are read when asked, from where
/// the last read stopped.
public final class AuditSealLog: Sendable {
    public let path: String

    private struct Known {
        var seals: [String: AuditSeal] = [:]
        /// How many bytes of the file have been read (whole lines only).
        var offset = 0
        var lines = 0
    }

    private let known = Mutex(Known())

    public init(path: String) {
        self.path = path
    }

    /// Appends `seal` and syncs the file before returning.
    public func append(_ seal: AuditSeal) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = Array(try encoder.encode(seal)) + [UInt8(ascii: "\n")]
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServiceError(.invalidInput, "cannot open the audit seal log \(path): errno \(errno)")
        }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw ServiceError(.invalidInput, "cannot write the audit seal log \(path): errno \(errno)")
        }
    }

    /// The latest seal of `trail`, or nil if it was never sealed (or the log does not exist).
    public func latestSeal(of trail: String) throws -> AuditSeal? {
        try latestSeals()[trail]
    }

    /// The latest seal of every trail, after reading whatever was appended since the last call.
    public func latestSeals() throws -> [String: AuditSeal] {
        try known.withLock { known in
            guard let handle = FileHandle(forReadingAtPath: path) else { return known.seals }
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(known.offset))
            let data = try handle.readToEnd() ?? Data()
            // Only whole lines: a seal being appended right now is read next time.
            guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return known.seals }
            let decoder = JSONDecoder()
            var seals = known.seals
            var number = known.lines
            for line in data[data.startIndex...end].split(separator: UInt8(ascii: "\n")) {
                number += 1
                guard let seal = try? decoder.decode(AuditSeal.self, from: line) else {
                    throw ServiceError(.corrupt, "\(path): line \(number) is not an audit seal")
                }
                if let earlier = seals[seal.trail], earlier.position > seal.position {
                    throw ServiceError(
                        .corrupt, "\(path): line \(number) seals \(seal.trail) at an earlier position than before")
                }
                seals[seal.trail] = seal
            }
            known.seals = seals
            known.lines = number
            known.offset += data.distance(from: data.startIndex, to: end) + 1
            return known.seals
        }
    }
}
