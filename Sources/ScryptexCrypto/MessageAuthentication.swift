internal import COpenSSL
import ScryptexCore

/// The digest behind an HMAC.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    var evp: OpaquePointer? {
        switch self {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        }
    }
}

/// HMAC (RFC 2104) through OpenSSL.
public enum HMAC {
    /// The authentication code of `message` under `key`.
    public static func code(
        for message: some Collection<UInt8>, key: some Collection<UInt8>, using algorithm: DigestAlgorithm = .sha256
    ) -> [UInt8] {
        let message = Array(message)
        let key = Array(key)
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                output.withUnsafeMutableBytes { outputBytes in
                    COpenSSL.HMAC(
                        algorithm.evp, keyBytes.baseAddress, Int32(keyBytes.count),
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                        outputBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), &length
                    )
                }
            }
        }
        // HMAC with a built-in digest fails only when memory runs out.
        precondition(result != nil, "OpenSSL HMAC(\(algorithm.rawValue)) failed")
        return Array(output.prefix(Int(length)))
    }
}

/// Comparison of secrets in time that depends only on their length, never on where they differ.
public enum ConstantTime {
    public static func equals(_ left: some Collection<UInt8>, _ right: some Collection<UInt8>) -> Bool {
        let left = Array(left)
        let right = Array(right)
        guard left.count == right.count else { return false }
        if left.isEmpty { return true }
        return left.withUnsafeBytes { a in
            right.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    public static func equals(_ left: String, _ right: String) -> Bool {
        equals(Array(left.utf8), Array(right.utf8))
    }
}
