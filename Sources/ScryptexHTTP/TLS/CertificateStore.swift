internal import COpenSSL
import ScryptexCore
import ScryptexCrypto
import Synchronization

/// The certificates the TLS front serves, chosen per connection by the name the client asks for
/// (SNI). Certificates can be added, replaced and removed while the server runs: the next
/// handshake sees the change, connections already open keep theirs.
///
/// Every certificate gets its own OpenSSL context configured identically: TLS 1.2 and 1.3 only,
/// forward-secret AEAD cipher suites only, ALPN `http/1.1`, stateless session tickets.
public final class CertificateStore: Sendable {
    /// What to do when a client names no known domain (or no name at all).
    public enum UnknownNamePolicy: Sendable {
        /// Serve the default certificate.
        case defaultCertificate
        /// Fail the handshake with an `unrecognized_name` alert.
        case refuseHandshake
    }

    public let unknownNamePolicy: UnknownNamePolicy
    private let contexts = Mutex<[String: TLSContext]>([:])
    /// The context new connections start in. It carries the SNI callback and, once set, the
    /// default certificate: a handshake for the default domain (or with no name) then needs no
    /// context switch. Replacing the default swaps in a new base; connections already started
    /// keep the one they have (OpenSSL reference-counts it).
    private let baseContext: Mutex<(context: TLSContext, holdsDefault: Bool)>
    /// The keys of session tickets, shared by every context of the store, so a ticket issued in
    /// one domain's handshake is understood by the next.
    private let ticketKeys: TicketKeys

    /// - Throws: `TLSError` if OpenSSL cannot create a context.
    public init(unknownNamePolicy: UnknownNamePolicy = .defaultCertificate) throws {
        self.unknownNamePolicy = unknownNamePolicy
        ticketKeys = TicketKeys(rotationInterval: .seconds(12 * 3600))
        let base = try TLSContext(ticketKeys: ticketKeys)
        baseContext = Mutex((base, false))
        base.installServerNameCallback(store: self)
    }

    /// The context a new connection starts in.
    var base: TLSContext { baseContext.withLock { $0.context } }

    /// Installs (or replaces) the certificate for `domain` (exact name, or `*.example.com`).
    /// - Parameters:
    ///   - certificateChainPEM: The certificate followed by its intermediates, PEM.
    ///   - privateKeyPEM: The matching private key, PEM. Never logged.
    /// - Throws: `TLSError` if the PEM does not parse or the key does not match.
    public func setCertificate(forDomain domain: String, certificateChainPEM: String, privateKeyPEM: String) throws {
        let context = try TLSContext(ticketKeys: ticketKeys)
        try context.useCertificate(chainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM)
        contexts.withLock { $0[domain.lowercased()] = context }
    }

    /// Removes a domain's certificate; later handshakes for it follow the unknown-name policy.
    @discardableResult
    public func removeCertificate(forDomain domain: String) -> Bool {
        contexts.withLock { $0.removeValue(forKey: domain.lowercased()) != nil }
    }

    /// Sets the certificate served to clients that name no known domain.
    public func setDefaultCertificate(certificateChainPEM: String, privateKeyPEM: String) throws {
        let context = try TLSContext(ticketKeys: ticketKeys)
        try context.useCertificate(chainPEM: certificateChainPEM, privateKeyPEM: privateKeyPEM)
        context.installServerNameCallback(store: self)
        baseContext.withLock { $0 = (context, true) }
    }

    /// Starts a new ticket key now (tickets under the previous one still resume once more).
    func rotateTicketKeys() {
        ticketKeys.rotate()
    }

    /// The domains with a certificate, sorted.
    public var domains: [String] { contexts.withLock { $0.keys.sorted() } }

    /// What a handshake for `name` should use.
    enum Selection {
        /// Switch to this domain's context.
        case context(TLSContext)
        /// Stay in the base context, which holds the default certificate.
        case stay
        case refuse
    }

    /// The selection for a requested server name: exact match, then a wildcard for its parent,
    /// then (by policy) the default certificate.
    func selection(forServerName name: String?, current: OpaquePointer) -> Selection {
        if let context = domainContext(forServerName: name) {
            return context.pointer == current ? .stay : .context(context)
        }
        guard unknownNamePolicy == .defaultCertificate else { return .refuse }
        let (base, holdsDefault) = baseContext.withLock { $0 }
        guard holdsDefault else { return .refuse }
        return base.pointer == current ? .stay : .context(base)
    }

    /// The context for a name, or nil when no domain certificate matches it.
    func context(forServerName name: String?) -> TLSContext? {
        if let context = domainContext(forServerName: name) { return context }
        guard unknownNamePolicy == .defaultCertificate else { return nil }
        let (base, holdsDefault) = baseContext.withLock { $0 }
        return holdsDefault ? base : nil
    }

    private func domainContext(forServerName name: String?) -> TLSContext? {
        guard let name, let host = HostName(name)?.value else { return nil }
        return contexts.withLock { contexts -> TLSContext? in
            if let exact = contexts[host] { return exact }
            if let dot = host.firstIndex(of: ".") {
                return contexts["*" + host[dot...]]
            }
            return nil
        }
    }
}

/// Something went wrong inside OpenSSL; the message includes OpenSSL's own reason.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public var message: String

    init(_ message: String) {
        self.message = message + TLSError.openSSLReasons()
    }

    public var description: String { message }

    /// OpenSSL's queued reasons, in parentheses, or nothing.
    static func openSSLReasons() -> String {
        let reasons = OpenSSLErrors.drain()
        return reasons.isEmpty ? "" : " (" + reasons.joined(separator: "; ") + ")"
    }
}
