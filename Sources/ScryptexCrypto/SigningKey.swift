internal import COpenSSL
import ScryptexCore

/// An ECDSA key on curve P-256 that signs with SHA-256 — JWS `ES256` (RFC 7518 §3.4), as an ACME
/// account key signs its requests.
///
/// The key is kept as PEM text (a value, safe to share between tasks) and parsed for each
/// signature: an ACME exchange signs a dozen messages, not thousands.
public struct P256SigningKey: Sendable {
    /// Secret: write it with mode 0600 and never log it.
    public let privateKeyPEM: String
    /// The public point's coordinates, 32 bytes each (for the JWK).
    public let x: [UInt8]
    public let y: [UInt8]

    /// A new random key.
    public static func generate() throws -> P256SigningKey {
        try P256SigningKey(privateKeyPEM: CertificateFactory.makePrivateKeyPEM(.ecdsaP256))
    }

    /// Reads a key from PEM; refuses anything that is not a P-256 EC private key.
    public init(privateKeyPEM: String) throws {
        let key = try OpenSSLKey(privateKeyPEM: privateKeyPEM)
        var curve = [CChar](repeating: 0, count: 32)
        var curveLength = 0
        guard EVP_PKEY_get_base_id(key.pointer) == EVP_PKEY_EC,
            EVP_PKEY_get_utf8_string_param(key.pointer, "group", &curve, curve.count, &curveLength) == 1,
            String(decoding: curve.prefix(curveLength).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "prime256v1"
        else {
            throw CryptoError("the key is not an ECDSA P-256 private key")
        }
        // The uncompressed point: 0x04, then x and y.
        var point = [UInt8](repeating: 0, count: 65)
        var pointLength = 0
        guard EVP_PKEY_get_octet_string_param(key.pointer, "encoded-pub-key", &point, point.count, &pointLength) == 1,
            pointLength == 65, point[0] == 0x04
        else {
            throw CryptoError("cannot read the key's public point")
        }
        self.privateKeyPEM = privateKeyPEM
        x = Array(point[1...32])
        y = Array(point[33...64])
    }

    /// The public key as a JWK with its members in lexicographic order and no whitespace — the
    /// form RFC 7638 hashes for a thumbprint.
    public var jsonWebKey: String {
        #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}"#
    }

    /// The RFC 7638 thumbprint: base64url of SHA-256 over `jsonWebKey`.
    public var thumbprint: String {
        Base64URL.encode(SHA256.hash(jsonWebKey))
    }

    /// An ES256 signature of `message`: r and s, 32 bytes each.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        let key = try OpenSSLKey(privateKeyPEM: privateKeyPEM)
        guard let context = EVP_MD_CTX_new() else { throw CryptoError("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else {
            throw CryptoError("cannot start an ECDSA signature")
        }
        var der = [UInt8](repeating: 0, count: 80)
        var length = der.count
        let signed = message.withUnsafeBufferPointer { input in
            EVP_DigestSign(context, &der, &length, input.baseAddress, input.count)
        }
        guard signed == 1 else { throw CryptoError("ECDSA signing failed") }
        var raw = [UInt8](repeating: 0, count: 64)
        guard scryptex_ecdsa_signature_to_raw(der, length, &raw, 32) == 1 else {
            throw CryptoError("cannot convert the ECDSA signature")
        }
        return raw
    }
}

/// An OpenSSL private key, freed with its owner.
final class OpenSSLKey {
    let pointer: OpaquePointer

    init(privateKeyPEM: String) throws {
        pointer = try CertificateFactory.readKey(privateKeyPEM)
    }

    deinit { EVP_PKEY_free(pointer) }
}
