internal import COpenSSL
import Glibc

/// One OpenSSL `SSL_CTX`, configured for serving.
///
/// `@unchecked Sendable` is sound because the context is fully configured before it is shared
/// and never changed afterwards; OpenSSL allows creating `SSL` objects from one `SSL_CTX` on
/// several threads at once (it reference-counts and locks internally).
final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The keys its ticket callback uses (found through the context's ex-data), kept alive as
    /// long as the context.
    private let ticketKeys: TicketKeys

    /// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    init(ticketKeys: TicketKeys) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError("SSL_CTX_new failed") }
        pointer = context
        self.ticketKeys = ticketKeys
        _ = scryptex_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION)
        _ = scryptex_ssl_ctx_set_max_proto_version(context, TLS1_3_VERSION)
        _ = SSL_CTX_set_options(context, scryptex_ssl_server_options())
        _ = scryptex_ssl_ctx_set_mode(context, scryptex_ssl_server_modes())
        // Connections read until OpenSSL reports WANT_READ, so bytes it reads ahead are never stranded.
        scryptex_ssl_ctx_enable_read_ahead(context)
        guard SSL_CTX_set_cipher_list(context, Self.tls12Ciphers) == 1,
            SSL_CTX_set_ciphersuites(context, Self.tls13Suites) == 1,
            scryptex_ssl_ctx_set_tmp_ecdh_auto(context) == 1
        else {
            SSL_CTX_free(context)
            throw TLSError("cannot configure cipher suites")
        }
        // Stateless resumption through tickets; no server-side session cache to grow.
        _ = scryptex_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        SSL_CTX_set_alpn_select_cb(context, alpnSelect, nil)
        ticketKeys.install(on: context)
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// Loads a certificate chain and its private key from PEM text.
    func useCertificate(chainPEM: String, privateKeyPEM: String) throws {
        ERR_clear_error()
        let certificates = try Self.readCertificates(chainPEM)
        guard let leaf = certificates.first else { throw TLSError("the certificate PEM holds no certificate") }
        defer { certificates.forEach { X509_free($0) } }
        guard SSL_CTX_use_certificate(pointer, leaf) == 1 else { throw TLSError("the certificate cannot be used") }
        for intermediate in certificates.dropFirst() {
            // The context takes ownership of the extra certificate on success.
            guard X509_up_ref(intermediate) == 1, scryptex_ssl_ctx_add_extra_chain_cert(pointer, intermediate) == 1
            else {
                throw TLSError("an intermediate certificate cannot be added")
            }
        }
        let key = try Self.readPrivateKey(privateKeyPEM)
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(pointer, key) == 1 else { throw TLSError("the private key cannot be used") }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw TLSError("the private key does not match the certificate")
        }
    }

    /// Routes SNI to the store's contexts.
    func installServerNameCallback(store: CertificateStore) {
        // The store owns this context, so it outlives every handshake that uses the callback.
        scryptex_ssl_ctx_set_servername_callback(pointer, serverNameSelect, Unmanaged.passUnretained(store).toOpaque())
    }

    static func readCertificates(_ pem: String) throws -> [OpaquePointer] {
        let bio = try memoryBIO(pem)
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
            certificates.append(certificate)
        }
        ERR_clear_error()  // the loop ends with a "no start line" error
        return certificates
    }

    static func readPrivateKey(_ pem: String) throws -> OpaquePointer {
        let bio = try memoryBIO(pem)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw TLSError("the private key PEM does not parse")
        }
        return key
    }

    private static func memoryBIO(_ text: String) throws -> OpaquePointer {
        let bytes = Array(text.utf8)
        guard let bio = scryptex_bio_new_memory() else { throw TLSError("BIO_new failed") }
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == bytes.count else {
            BIO_free(bio)
            throw TLSError("BIO_write failed")
        }
        return bio
    }
}

/// Picks the certificate for the name in the ClientHello.
private func serverNameSelect(
    ssl: OpaquePointer?, alert: UnsafeMutablePointer<Int32>?, argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let ssl, let argument else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let store = Unmanaged<CertificateStore>.fromOpaque(argument).takeUnretainedValue()
    let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) }
    guard let current = SSL_get_SSL_CTX(ssl) else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    switch store.selection(forServerName: name, current: current) {
    case .stay:
        return SSL_TLSEXT_ERR_OK
    case .context(let context):
        return SSL_set_SSL_CTX(ssl, context.pointer) == nil ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_OK
    case .refuse:
        alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
        return SSL_TLSEXT_ERR_ALERT_FATAL
    }
}

/// Chooses `http/1.1` when the client offers it; otherwise continues without ALPN.
private func alpnSelect(
    ssl: OpaquePointer?,
    out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    outLength: UnsafeMutablePointer<UInt8>?,
    input: UnsafePointer<UInt8>?,
    inputLength: UInt32,
    argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let input, let out, let outLength else { return SSL_TLSEXT_ERR_NOACK }
    // The wire form of the protocol list is length-prefixed names.
    var index = 0
    while index < Int(inputLength) {
        let length = Int(input[index])
        let start = index + 1
        if start + length > Int(inputLength) { break }
        if length == 8, (0..<8).allSatisfy({ input[start + $0] == ALPN.http11[$0] }) {
            out.pointee = input + start
            outLength.pointee = 8
            return SSL_TLSEXT_ERR_OK
        }
        index = start + length
    }
    return SSL_TLSEXT_ERR_NOACK
}

private enum ALPN {
    static let http11: [UInt8] = Array("http/1.1".utf8)
}
