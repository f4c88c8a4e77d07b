internal import COpenSSL
import Dispatch
import ScryptexCore

/// Password hashes with scrypt (RFC 7914), a memory-hard function, through OpenSSL.
///
/// A hash is stored as a self-describing string,
/// `$scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>`, so the cost can be raised later and
/// old hashes still verify (`needsRehash` tells when to upgrade one at the next login).
public struct PasswordHasher: Sendable {
    /// log2 of the CPU/memory cost N; memory used is 128 · r · N bytes (32 MiB for 15 and 8).
    public var logCost: Int
    public var blockSize: Int
    public var parallelism: Int

    /// Parameters for interactive logins: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds).
    public static let interactive = PasswordHasher(logCost: 15, blockSize: 8, parallelism: 1)

    public init(logCost: Int, blockSize: Int, parallelism: Int) {
        self.logCost = logCost
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// Hashing blocks a thread for tens of milliseconds and 32 MiB: it runs here, never on an
    /// event loop, and at most two at a time so a burst of logins cannot exhaust memory.
    private static let queue = DispatchQueue(label: "scryptex.password-hashing", attributes: .concurrent)
    private static let slots = DispatchSemaphore(value: 2)

    /// Hashes a new password with a fresh random salt.
    public func hash(_ password: String) async -> String {
        let salt = SecureRandom.bytes(count: 16)
        let key = await Self.offload {
            Self.derive(Array(password.utf8), salt: salt, logCost: logCost, r: blockSize, p: parallelism)
        }
        return "$scrypt$ln=\(logCost),r=\(blockSize),p=\(parallelism)$"
            + Base64URL.encode(salt) + "$" + Base64URL.encode(key ?? [])
    }

    /// Whether `password` matches `stored`; false for a malformed stored hash.
    public func verify(_ password: String, against stored: String) async -> Bool {
        guard let parsed = Self.parse(stored) else { return false }
        let key = await Self.offload {
            Self.derive(
                Array(password.utf8), salt: parsed.salt, logCost: parsed.logCost, r: parsed.r, p: parsed.p,
                length: parsed.hash.count)
        }
        guard let key else { return false }
        return ConstantTime.equals(key, parsed.hash)
    }

    /// Whether `stored` was made with weaker parameters than these.
    public func needsRehash(_ stored: String) -> Bool {
        guard let parsed = Self.parse(stored) else { return true }
        return parsed.logCost < logCost || parsed.r < blockSize
    }

    /// Runs the same work as a verification against a fixed hash, so that an unknown user name
    /// costs as much time as a wrong password.
    public func spendEquivalentTime(for password: String) async {
        _ = await Self.offload {
            Self.derive(
                Array(password.utf8), salt: Array(repeating: 0, count: 16), logCost: logCost, r: blockSize,
                p: parallelism)
        }
    }

    private static func offload(_ work: @escaping @Sendable () -> [UInt8]?) async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            queue.async {
                slots.wait()
                defer { slots.signal() }
                continuation.resume(returning: work())
            }
        }
    }

    static func derive(
        _ password: [UInt8], salt: [UInt8], logCost: Int, r: Int, p: Int, length: Int = 32
    ) -> [UInt8]? {
        guard (10...20).contains(logCost), (1...32).contains(r), (1...16).contains(p), (16...64).contains(length)
        else { return nil }
        var output = [UInt8](repeating: 0, count: length)
        let memory = 128 * r * (1 << logCost) * 2 + 1 << 20
        // A zero byte after the password gives an empty password an address too.
        let terminated = password + [0]
        let status = terminated.withUnsafeBytes { passwordBytes in
            salt.withUnsafeBytes { saltBytes in
                output.withUnsafeMutableBytes { outputBytes in
                    EVP_PBE_scrypt(
                        passwordBytes.baseAddress!.assumingMemoryBound(to: CChar.self), password.count,
                        saltBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), saltBytes.count,
                        UInt64(1) << UInt64(logCost), UInt64(r), UInt64(p), UInt64(memory),
                        outputBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), length
                    )
                }
            }
        }
        return status == 1 ? output : nil
    }

    /// Derives raw key bytes (for test vectors and key derivation).
    public static func scrypt(
        password: [UInt8], salt: [UInt8], logCost: Int, blockSize: Int, parallelism: Int, length: Int
    ) -> [UInt8]? {
        derive(password, salt: salt, logCost: logCost, r: blockSize, p: parallelism, length: length)
    }

    private struct Parsed {
        var logCost: Int
        var r: Int
        var p: Int
        var salt: [UInt8]
        var hash: [UInt8]
    }

    private static func parse(_ stored: String) -> Parsed? {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var values: [Substring: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let sides = pair.split(separator: "=")
            guard sides.count == 2, let number = Int(sides[1]) else { return nil }
            values[sides[0]] = number
        }
        guard let logCost = values["ln"], let r = values["r"], let p = values["p"],
            let salt = Base64URL.decode(String(parts[3])), let hash = Base64URL.decode(String(parts[4])),
            !salt.isEmpty, (16...64).contains(hash.count)
        else { return nil }
        return Parsed(logCost: logCost, r: r, p: p, salt: salt, hash: hash)
    }
}
