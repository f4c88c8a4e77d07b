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

extension P256SigningKey {
    /// The public half, to hand to whoever verifies.
    public var publicKey: P256PublicKey { P256PublicKey(unchecked: x, y) }
}

/// The public half of a P-256 key: verifies ES256 signatures (r ‖ s, 32 bytes each).
public struct P256PublicKey: Sendable, Equatable {
    public let x: [UInt8]
    public let y: [UInt8]

    /// The key with the point (x, y); throws if it is not a point of the curve.
    public init(x: [UInt8], y: [UInt8]) throws {
        guard x.count == 32, y.count == 32 else { throw CryptoError("a P-256 coordinate has 32 bytes") }
        self.init(unchecked: x, y)
        _ = try OpenSSLPublicKey(subjectPublicKeyInfo: subjectPublicKeyInfo)
    }

    fileprivate init(unchecked x: [UInt8], _ y: [UInt8]) {
        self.x = x
        self.y = y
    }

    /// Reads a `PUBLIC KEY` PEM block (SubjectPublicKeyInfo) of a P-256 key.
    public init(pem: String) throws {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let urlAlphabet = String(body.filter { $0 != "=" }.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        guard let der = Base64URL.decode(urlAlphabet), der.count == Self.prefix.count + 65,
            Array(der.prefix(Self.prefix.count)) == Self.prefix, der[Self.prefix.count] == 0x04
        else { throw CryptoError("not a P-256 public key in PEM") }
        try self.init(x: Array(der[(Self.prefix.count + 1)...(Self.prefix.count + 32)]), y: Array(der.suffix(32)))
    }

    /// SubjectPublicKeyInfo up to the point: id-ecPublicKey with prime256v1, a 66-byte bit string.
    private static let prefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
        0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    var subjectPublicKeyInfo: [UInt8] { Self.prefix + [0x04] + x + y }

    /// The key as a `PUBLIC KEY` PEM block, as `openssl dgst -verify` reads it.
    public var pem: String {
        // Standard base64 with padding, as PEM has it.
        var text = String(Base64URL.encode(subjectPublicKeyInfo).map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text += "=" }
        var lines: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(rest.prefix(64))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN PUBLIC KEY-----\n" + lines.joined(separator: "\n") + "\n-----END PUBLIC KEY-----\n"
    }

    /// The public key as a JWK (RFC 7517), members in lexicographic order.
    public var jsonWebKey: String {
        #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}"#
    }

    /// The RFC 7638 thumbprint: base64url of SHA-256 over `jsonWebKey`.
    public var thumbprint: String { Base64URL.encode(SHA256.hash(jsonWebKey)) }

    /// Whether `signature` (r ‖ s) is this key's ES256 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let key = try? OpenSSLPublicKey(subjectPublicKeyInfo: subjectPublicKeyInfo)
        else { return false }
        var der = [UInt8](repeating: 0, count: 80)
        let length = Int(scryptex_ecdsa_signature_from_raw(signature, 32, &der, Int32(der.count)))
        guard length > 0, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { return false }
        return message.withUnsafeBufferPointer { input in
            EVP_DigestVerify(context, der, length, input.baseAddress, input.count)
        } == 1
    }
}

/// An OpenSSL public key read from DER, freed with its owner.
final class OpenSSLPublicKey {
    let pointer: OpaquePointer

    init(subjectPublicKeyInfo der: [UInt8]) throws {
        let key = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key else { throw CryptoError("not a valid public key") }
        pointer = key
    }

    deinit { EVP_PKEY_free(pointer) }
}

/// An OpenSSL private key, freed with its owner.
final class OpenSSLKey {
    let pointer: OpaquePointer

    init(privateKeyPEM: String) throws {
        pointer = try CertificateFactory.readKey(privateKeyPEM)
    }

    deinit { EVP_PKEY_free(pointer) }
}
