internal import COpenSSL
import Glibc
import ScryptexCore
import ScryptexCrypto

/// One TLS connection over a non-blocking socket: server side (accepted), or client side.
///
/// Loop-confined: created, used and freed on its connection's event loop.
final class TLSSession {
    enum Step {
        case done
        case wantRead
        case wantWrite
        case failed(String)
    }

    private let ssl: OpaquePointer
    private var shutDown = false

    init(context: TLSContext, descriptor: Int32) throws {
        guard let ssl = SSL_new(context.pointer) else { throw TLSError("SSL_new failed") }
        self.ssl = ssl
        SSL_set_fd(ssl, descriptor)
        SSL_set_accept_state(ssl)
    }

    /// A client-side session to `host`: SNI sent for a name, and the server's certificate must
    /// name the host (or carry its address), verified against `context`'s authorities.
    init(clientContext context: TLSClientContext, descriptor: Int32, host: String) throws {
        guard let ssl = SSL_new(context.pointer) else { throw TLSError("SSL_new failed") }
        self.ssl = ssl
        SSL_set_fd(ssl, descriptor)
        SSL_set_connect_state(ssl)
        try TLSClientContext.expect(host, on: ssl)
    }

    /// Why the peer's certificate was refused, if it was.
    var verificationFailure: String? {
        let result = SSL_get_verify_result(ssl)
        return result == X509_V_OK ? nil : String(cString: X509_verify_cert_error_string(result))
    }

    deinit {
        SSL_free(ssl)
    }

    func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done }
        return classify(result)
    }

    /// Reads decrypted bytes into `buffer`.
    func read(into buffer: inout [UInt8]) -> TransportResult {
        ERR_clear_error()
        let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return .bytes(Int(count)) }
        return transportResult(count)
    }

    /// Whether OpenSSL holds bytes already taken from the socket (read ahead) that the next
    /// `read` would return without the socket becoming readable again.
    var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    func write(_ bytes: ArraySlice<UInt8>) -> TransportResult {
        ERR_clear_error()
        let count = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 { return .bytes(Int(count)) }
        return transportResult(count)
    }

    /// Sends close_notify once; the socket is closed by the caller.
    func shutdown() {
        guard !shutDown else { return }
        shutDown = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The server name the client sent (SNI) in `HostName`'s normal form, the form the `Host`
    /// header is compared in; a name that is not a host name stays as sent, lower-cased, so it
    /// never equals a valid `Host`.
    var serverName: String? {
        SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map {
            let sent = String(cString: $0)
            return HostName(sent)?.value ?? sent.lowercased()
        }
    }

    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Whether the handshake resumed an earlier session (a ticket) instead of a full handshake.
    var isResumed: Bool { SSL_session_reused(ssl) == 1 }

    private func classify(_ result: Int32) -> Step {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        default:
            let reason = TLSError.openSSLReasons()
            return .failed(reason.isEmpty ? "TLS error \(code)" : reason)
        }
    }

    private func transportResult(_ result: Int32) -> TransportResult {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            ERR_clear_error()
            return .closed
        }
    }
}

/// The outcome of one read or write on a connection.
enum TransportResult {
    case bytes(Int)
    case wantRead
    case wantWrite
    case closed
}

/// The client side's TLS settings: TLS 1.2 or later, the peer verified against the given
/// authorities (a PEM file) or the system's.
///
/// `@unchecked Sendable` is sound for the same reason as `TLSContext`'s: the context is fully
/// configured in `init` and never changed afterwards, and OpenSSL allows `SSL` objects to be
/// made from one `SSL_CTX` on several threads at once.
public final class TLSClientContext: @unchecked Sendable {
    let pointer: OpaquePointer

    public init(trustedCertificatesFile: String?) throws(TLSError) {
        pointer = try Self.makeContext()
        let context = pointer
        let trusted =
            if let trustedCertificatesFile {
                SSL_CTX_load_verify_locations(context, trustedCertificatesFile, nil)
            } else {
                SSL_CTX_set_default_verify_paths(context)
            }
        guard trusted == 1 else {
            throw TLSError("cannot load the trusted certificates \(trustedCertificatesFile ?? "of the system")")
        }
    }

    /// Trusts only the authorities in `trustedCertificatesPEM` (one or more PEM certificates):
    /// what a tenant gives for its broker, kept in the database rather than in a file.
    public init(trustedCertificatesPEM: String) throws(TLSError) {
        pointer = try Self.makeContext()
        let store = SSL_CTX_get_cert_store(pointer)
        let bytes = Array(trustedCertificatesPEM.utf8)
        let added = bytes.withUnsafeBytes { buffer -> Int in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return 0 }
            defer { BIO_free(bio) }
            var count = 0
            while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
                if X509_STORE_add_cert(store, certificate) == 1 { count += 1 }
                X509_free(certificate)
            }
            return count
        }
        ERR_clear_error()
        guard added > 0 else { throw TLSError("no PEM certificate could be read from the trusted certificates") }
    }

    private static func makeContext() throws(TLSError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError("SSL_CTX_new failed") }
        _ = scryptex_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION)
        // Partial writes from a buffer that may move between retries (the stream's queue).
        _ = scryptex_ssl_ctx_set_mode(context, scryptex_ssl_server_modes())
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        return context
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// A TLS client session on the connected blocking socket `descriptor`, its handshake done
    /// with the peer's certificate verified for `host`; the caller frees it (`SSL_free`).
    /// `peer` names the other side in the error.
    func handshake(on descriptor: Int32, host: String, peer: String) throws(TLSError) -> OpaquePointer {
        guard let ssl = SSL_new(pointer) else { throw TLSError("SSL_new failed") }
        SSL_set_fd(ssl, descriptor)
        do {
            try Self.expect(host, on: ssl)
        } catch {
            SSL_free(ssl)
            throw error
        }
        ERR_clear_error()
        guard SSL_connect(ssl) == 1 else {
            let verification = SSL_get_verify_result(ssl)
            let reason =
                verification != X509_V_OK
                ? String(cString: X509_verify_cert_error_string(verification))
                : OpenSSLErrors.drain().joined(separator: "; ")
            SSL_free(ssl)
            throw TLSError("the TLS handshake with \(peer) failed: \(reason)")
        }
        return ssl
    }

    /// The peer's certificate must name `host`, or carry its IP address; SNI is sent for names
    /// only (RFC 6066 §3).
    static func expect(_ host: String, on ssl: OpaquePointer) throws(TLSError) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                throw TLSError("cannot set the address to verify")
            }
        } else {
            _ = scryptex_ssl_set_server_name(ssl, host)
            guard SSL_set1_host(ssl, host) == 1 else { throw TLSError("cannot set the host name to verify") }
        }
    }
}
