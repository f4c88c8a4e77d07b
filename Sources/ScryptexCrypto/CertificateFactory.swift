internal import COpenSSL
public import Foundation

/// A certificate and its private key, both PEM.
public struct CertificateAndKey: Sendable, Equatable {
    public var certificatePEM: String
    /// Secret: write it with mode 0600 and never log it.
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// Makes X.509 certificates with OpenSSL: a local certificate authority and server certificates
/// it signs, for development and tests.
public enum CertificateFactory {
    public enum KeyType: Sendable {
        case ecdsaP256
        case rsa2048
    }

    /// A self-signed CA certificate; its organization (`O`) is `developmentOrganization` unless
    /// another is given.
    public static func makeAuthority(
        commonName: String, organization: String = developmentOrganization, validDays: Int = 825,
        keyType: KeyType = .ecdsaP256
    ) throws -> CertificateAndKey {
        let key = try generateKey(keyType)
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw CryptoError("X509_new failed") }
        defer { X509_free(certificate) }
        try fill(certificate, commonName: commonName, organization: organization, key: key, validDays: validDays)
        X509_set_issuer_name(certificate, X509_get_subject_name(certificate))
        try addExtensions(
            to: certificate, issuer: certificate,
            [
                (NID_basic_constraints, "critical,CA:TRUE"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ]
        )
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else {
            throw CryptoError("signing the CA certificate failed")
        }
        return CertificateAndKey(certificatePEM: try pem(certificate: certificate), privateKeyPEM: try pem(key: key))
    }

    /// A server certificate for `domains` (DNS names or IP addresses), signed by `authority`.
    public static func makeServerCertificate(
        domains: [String],
        signedBy authority: CertificateAndKey,
        validDays: Int = 397,
        keyType: KeyType = .ecdsaP256
    ) throws -> CertificateAndKey {
        guard let first = domains.first else { throw CryptoError("a server certificate needs at least one domain") }
        let authorityCertificate = try readCertificate(authority.certificatePEM)
        defer { X509_free(authorityCertificate) }
        let authorityKey = try readKey(authority.privateKeyPEM)
        defer { EVP_PKEY_free(authorityKey) }
        let key = try generateKey(keyType)
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw CryptoError("X509_new failed") }
        defer { X509_free(certificate) }
        try fill(certificate, commonName: first, organization: developmentOrganization, key: key, validDays: validDays)
        X509_set_issuer_name(certificate, X509_get_subject_name(authorityCertificate))
        let names = domains.map { domain in
            domain.allSatisfy({ $0.isNumber || $0 == "." }) || domain.contains(":") ? "IP:" + domain : "DNS:" + domain
        }
        try addExtensions(
            to: certificate, issuer: authorityCertificate,
            [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature,keyEncipherment"),
                (NID_ext_key_usage, "serverAuth"), (NID_subject_alt_name, names.joined(separator: ",")),
                (NID_subject_key_identifier, "hash"), (NID_authority_key_identifier, "keyid:always"),
            ]
        )
        guard X509_sign(certificate, authorityKey, EVP_sha256()) > 0 else {
            throw CryptoError("signing the server certificate failed")
        }
        return CertificateAndKey(certificatePEM: try pem(certificate: certificate), privateKeyPEM: try pem(key: key))
    }

    /// A new private key, PEM.
    public static func makePrivateKeyPEM(_ type: KeyType = .ecdsaP256) throws -> String {
        let key = try generateKey(type)
        defer { EVP_PKEY_free(key) }
        return try pem(key: key)
    }

    /// A PKCS #10 certificate signing request (DER) for `domains`, signed by `privateKeyPEM`: the
    /// first domain is the subject's common name, all of them are subject alternative names.
    public static func makeSigningRequest(domains: [String], privateKeyPEM: String) throws -> [UInt8] {
        guard let first = domains.first else { throw CryptoError("a signing request needs at least one domain") }
        let key = try readKey(privateKeyPEM)
        defer { EVP_PKEY_free(key) }
        guard let request = X509_REQ_new() else { throw CryptoError("X509_REQ_new failed") }
        defer { X509_REQ_free(request) }
        X509_REQ_set_version(request, 0)
        guard let name = X509_NAME_new() else { throw CryptoError("X509_NAME_new failed") }
        defer { X509_NAME_free(name) }
        let added = Array(first.utf8).withUnsafeBufferPointer {
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, $0.baseAddress, Int32($0.count), -1, 0)
        }
        guard added == 1, X509_REQ_set_subject_name(request, name) == 1, X509_REQ_set_pubkey(request, key) == 1
        else {
            throw CryptoError("cannot fill the signing request")
        }
        let names = domains.map { "DNS:" + $0 }.joined(separator: ",")
        guard let alternativeNames = X509V3_EXT_conf_nid(nil, nil, NID_subject_alt_name, names) else {
            throw CryptoError("cannot build the subject alternative names \(names)")
        }
        defer { X509_EXTENSION_free(alternativeNames) }
        guard scryptex_x509_req_add_extension(request, alternativeNames) == 1 else {
            throw CryptoError("cannot add the subject alternative names")
        }
        guard X509_REQ_sign(request, key, EVP_sha256()) > 0 else { throw CryptoError("signing the request failed") }
        let length = i2d_X509_REQ(request, nil)
        guard length > 0 else { throw CryptoError("cannot encode the signing request") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509_REQ(request, &cursor)
        }
        guard written == length else { throw CryptoError("cannot encode the signing request") }
        return der
    }

    /// What the first certificate in `pem` says: when it expires, the DNS names it covers, and
    /// the organization that issued it.
    public static func inspect(certificatePEM pem: String) throws -> CertificateSummary {
        let certificate = try readCertificate(pem)
        defer { X509_free(certificate) }
        var days: Int32 = 0
        var seconds: Int32 = 0
        guard let notAfter = X509_get0_notAfter(certificate),
            ASN1_TIME_diff(&days, &seconds, nil, notAfter) == 1
        else {
            throw CryptoError("cannot read the certificate's expiry")
        }
        var domains: [String] = []
        if let names = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let stack = OpaquePointer(names)
            defer { GENERAL_NAMES_free(stack) }
            for index in 0..<OPENSSL_sk_num(stack) {
                guard let entry = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: GENERAL_NAME.self),
                    entry.pointee.type == GEN_DNS, let text = entry.pointee.d.dNSName,
                    let bytes = ASN1_STRING_get0_data(text)
                else { continue }
                domains.append(
                    String(
                        decoding: UnsafeBufferPointer(start: bytes, count: Int(ASN1_STRING_length(text))), as: UTF8.self
                    ))
            }
        }
        var organization = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(
            X509_get_issuer_name(certificate), NID_organizationName, &organization, Int32(organization.count))
        return CertificateSummary(
            notAfter: Date(timeIntervalSinceNow: Double(days) * 86_400 + Double(seconds)), domains: domains,
            issuerOrganization: length > 0
                ? String(decoding: organization.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil)
    }

    /// The organization in the certificates this factory makes (and in their CA's).
    public static let developmentOrganization = "Scryptex Development"

    // MARK: OpenSSL steps

    private static func generateKey(_ type: KeyType) throws -> OpaquePointer {
        let algorithm = type == .ecdsaP256 ? "EC" : "RSA"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw CryptoError("no \(algorithm) key support")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw CryptoError("key generation setup failed") }
        switch type {
        case .ecdsaP256:
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
                throw CryptoError("cannot select curve P-256")
            }
        case .rsa2048:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, 2048) == 1 else {
                throw CryptoError("cannot select 2048-bit RSA")
            }
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw CryptoError("key generation failed") }
        return key
    }

    private static func fill(
        _ certificate: OpaquePointer, commonName: String, organization: String, key: OpaquePointer, validDays: Int
    ) throws {
        X509_set_version(certificate, 2)
        // A random 63-bit positive serial number.
        let serial = SecureRandom.bytes(count: 8).reduce(0) { ($0 << 8) | Int($1) } & Int.max
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial)
        X509_gmtime_adj(X509_getm_notBefore(certificate), -3600)
        X509_gmtime_adj(X509_getm_notAfter(certificate), validDays * 86_400)
        guard X509_set_pubkey(certificate, key) == 1 else { throw CryptoError("X509_set_pubkey failed") }
        let name = X509_get_subject_name(certificate)
        for (field, value) in [("O", organization), ("CN", commonName)] {
            let added = Array(value.utf8).withUnsafeBufferPointer {
                X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, $0.baseAddress, Int32($0.count), -1, 0)
            }
            guard added == 1 else { throw CryptoError("cannot set the certificate's \(field)") }
        }
    }

    private static func addExtensions(
        to certificate: OpaquePointer, issuer: OpaquePointer, _ extensions: [(Int32, String)]
    ) throws {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let created = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw CryptoError("cannot build certificate extension \(value)")
            }
            defer { X509_EXTENSION_free(created) }
            guard X509_add_ext(certificate, created, -1) == 1 else {
                throw CryptoError("cannot add certificate extension")
            }
        }
    }

    private static func pem(certificate: OpaquePointer) throws -> String {
        try withMemoryBIO { PEM_write_bio_X509($0, certificate) }
    }

    private static func pem(key: OpaquePointer) throws -> String {
        try withMemoryBIO { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    private static func withMemoryBIO(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = scryptex_bio_new_memory() else { throw CryptoError("BIO_new failed") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw CryptoError("PEM encoding failed") }
        var data: UnsafeMutablePointer<CChar>?
        let length = scryptex_bio_memory_contents(bio, &data)
        guard let data, length > 0 else { throw CryptoError("PEM encoding produced nothing") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    private static func readCertificate(_ pemText: String) throws -> OpaquePointer {
        try withReadBIO(pemText) { PEM_read_bio_X509($0, nil, nil, nil) }
            ?? { throw CryptoError("the certificate PEM does not parse") }()
    }

    /// A private key from PEM; the caller frees it (`EVP_PKEY_free`).
    static func readKey(_ pemText: String) throws -> OpaquePointer {
        try withReadBIO(pemText) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
            ?? { throw CryptoError("the private key PEM does not parse") }()
    }

    private static func withReadBIO(_ text: String, _ read: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer?
    {
        guard let bio = scryptex_bio_new_memory() else { throw CryptoError("BIO_new failed") }
        defer { BIO_free(bio) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        return read(bio)
    }
}

/// What a certificate says about itself.
public struct CertificateSummary: Sendable {
    public var notAfter: Date
    /// Its DNS subject alternative names.
    public var domains: [String]
    /// The issuer's organization (`O`), if it names one.
    public var issuerOrganization: String?
}

/// A failure inside OpenSSL.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    public var message: String

    /// `message`, followed by the reasons OpenSSL queued, if any.
    public init(_ message: String) {
        let reasons = OpenSSLErrors.drain()
        self.message = reasons.isEmpty ? message : message + " (" + reasons.joined(separator: "; ") + ")"
    }

    public var description: String { message }
}

/// OpenSSL's per-thread error queue.
public enum OpenSSLErrors {
    /// Empties the queue, returning each reason as text, oldest first.
    public static func drain() -> [String] {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons
    }
}
