internal import COpenSSL
import ScryptexCore

/// SHA-256 through OpenSSL's EVP interface.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let succeeded = input.withUnsafeBytes { source in
            digest.withUnsafeMutableBytes { output in
                EVP_Digest(
                    source.baseAddress, source.count,
                    output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                    EVP_sha256(), nil
                )
            }
        }
        // EVP_Digest with a built-in algorithm fails only when memory runs out.
        precondition(succeeded == 1, "OpenSSL EVP_Digest(SHA-256) failed")
        return Array(digest.prefix(Int(length)))
    }

    /// The digest of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> [UInt8] {
        hash(Array(text.utf8))
    }

    /// The digest as lowercase hexadecimal.
    public static func hexDigest(_ text: String) -> String {
        Hex.encode(hash(text))
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(count: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        let status = output.withUnsafeMutableBytes { buffer in
            RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        }
        precondition(status == 1, "OpenSSL RAND_bytes failed: the random generator is not seeded")
        return output
    }

    /// A random token of `byteCount` bytes as lowercase hexadecimal.
    public static func hexToken(byteCount: Int) -> String {
        Hex.encode(bytes(count: byteCount))
    }
}
