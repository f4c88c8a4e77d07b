internal import COpenSSL
import ScryptexCore

/// AES-256-GCM through OpenSSL: confidentiality and integrity for data at rest.
///
/// A sealed box is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The nonce is random for
/// every message; associated data (such as the table and column a value belongs to) is
/// authenticated but not stored, so a ciphertext moved to another field no longer opens.
public enum AES256GCM {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16

    public struct AuthenticationFailure: Error, CustomStringConvertible {
        public var description: String { "the ciphertext is damaged, or the key or associated data is wrong" }
    }

    /// Encrypts `plaintext` under a 32-byte key.
    public static func seal(_ plaintext: some Collection<UInt8>, key: [UInt8], associatedData: [UInt8] = []) -> [UInt8]
    {
        precondition(key.count == keyLength, "AES-256-GCM needs a 32-byte key")
        let nonce = SecureRandom.bytes(count: nonceLength)
        let plaintext = Array(plaintext)
        let context = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagLength)
        var written: Int32 = 0
        var total = 0
        var ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1
        if ok, !associatedData.isEmpty {
            ok = EVP_EncryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1
        }
        if ok, !plaintext.isEmpty {
            ok = output.withUnsafeMutableBufferPointer { buffer in
                EVP_EncryptUpdate(context, buffer.baseAddress, &written, plaintext, Int32(plaintext.count)) == 1
            }
            total = Int(written)
        }
        if ok {
            ok = output.withUnsafeMutableBufferPointer { buffer in
                EVP_EncryptFinal_ex(context, buffer.baseAddress! + total, &written) == 1
            }
            total += Int(written)
        }
        if ok {
            ok = tag.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, $0.baseAddress) == 1
            }
        }
        // Encryption with a valid key and nonce fails only when memory runs out.
        precondition(ok, "OpenSSL AES-256-GCM encryption failed")
        return nonce + output.prefix(total) + tag
    }

    /// Decrypts and authenticates a sealed box.
    /// - Throws: `AuthenticationFailure` when anything was altered or the key is wrong.
    public static func open(_ box: some Collection<UInt8>, key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8]
    {
        precondition(key.count == keyLength, "AES-256-GCM needs a 32-byte key")
        let box = Array(box)
        guard box.count >= nonceLength + tagLength else { throw AuthenticationFailure() }
        let nonce = Array(box[..<nonceLength])
        let ciphertext = Array(box[nonceLength..<(box.count - tagLength)])
        var tag = Array(box[(box.count - tagLength)...])
        let context = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        var total = 0
        var ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1
        if ok, !associatedData.isEmpty {
            ok = EVP_DecryptUpdate(context, nil, &written, associatedData, Int32(associatedData.count)) == 1
        }
        if ok, !ciphertext.isEmpty {
            ok = output.withUnsafeMutableBufferPointer { buffer in
                EVP_DecryptUpdate(context, buffer.baseAddress, &written, ciphertext, Int32(ciphertext.count)) == 1
            }
            total = Int(written)
        }
        if ok {
            ok = tag.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, $0.baseAddress) == 1
            }
        }
        if ok {
            ok = output.withUnsafeMutableBufferPointer { buffer in
                EVP_DecryptFinal_ex(context, buffer.baseAddress! + total, &written) == 1
            }
            total += Int(written)
        }
        guard ok else { throw AuthenticationFailure() }
        return Array(output.prefix(total))
    }
}
