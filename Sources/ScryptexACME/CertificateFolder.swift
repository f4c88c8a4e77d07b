public import Foundation
import Glibc
public import ScryptexCore
public import ScryptexCrypto
public import ScryptexHTTP
import Synchronization

/// The certificates on disk, in `$SCRYPTEX_DATA_DIR/tls`:
/// `ca.pem` and `ca-key.pem` (the development CA) and `certificates/<domain>.pem` with
/// `certificates/<domain>.key`. Keys are written with mode 0600.
public struct CertificateFolder: Sendable {
    public let path: String

    public init(dataDirectory: String) {
        path = dataDirectory + "/tls"
    }

    public var authorityCertificatePath: String { path + "/ca.pem" }
    public var authorityKeyPath: String { path + "/ca-key.pem" }
    public var certificatesPath: String { path + "/certificates" }

    public func certificatePath(for domain: String) -> String { certificatesPath + "/\(domain).pem" }
    public func keyPath(for domain: String) -> String { certificatesPath + "/\(domain).key" }

    /// Makes the development CA if it is missing, and a certificate for each domain that has
    /// none. Returns the domains it made certificates for.
    @discardableResult
    public func ensureDevelopmentCertificates(for domains: [String]) throws -> [String] {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: certificatesPath, withIntermediateDirectories: true)
        chmod(path, 0o700)
        let authority: CertificateAndKey
        if fileManager.fileExists(atPath: authorityCertificatePath) && fileManager.fileExists(atPath: authorityKeyPath)
        {
            authority = CertificateAndKey(
                certificatePEM: try String(contentsOfFile: authorityCertificatePath, encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: authorityKeyPath, encoding: .utf8)
            )
        } else {
            authority = try CertificateFactory.makeAuthority(commonName: "Scryptex Development CA")
            try Self.write(authority.privateKeyPEM, to: authorityKeyPath, mode: 0o600)
            try Self.write(authority.certificatePEM, to: authorityCertificatePath, mode: 0o644)
        }
        var made: [String] = []
        for domain in domains where !fileManager.fileExists(atPath: certificatePath(for: domain)) {
            let certificate = try CertificateFactory.makeServerCertificate(domains: [domain], signedBy: authority)
            try Self.write(certificate.privateKeyPEM, to: keyPath(for: domain), mode: 0o600)
            try Self.write(
                certificate.certificatePEM + authority.certificatePEM, to: certificatePath(for: domain), mode: 0o644)
            made.append(domain)
        }
        return made
    }

    /// Loads every certificate in the folder into a store; `defaultDomain`'s certificate also
    /// answers clients that name no known domain.
    public func loadStore(defaultDomain: String, logger: Logger) throws -> CertificateStore {
        let store = try CertificateStore(unknownNamePolicy: .defaultCertificate)
        var seen: [String: String] = [:]
        synchronize(store, defaultDomain: defaultDomain, seen: &seen, logger: logger)
        return store
    }

    /// Each domain's certificate and key files, stamped by modification time and size.
    /// The certificate served for `domain` — its own file, else a wildcard for its parent
    /// (`*.<parent>.pem`) — and the file it is in; nil when there is none that reads.
    public func certificate(for domain: String) -> (file: String, summary: CertificateSummary)? {
        var files = [domain]
        if let dot = domain.firstIndex(of: ".") { files.append("*" + domain[dot...]) }
        for file in files {
            guard let chain = try? String(contentsOfFile: certificatePath(for: file), encoding: .utf8),
                let summary = try? CertificateFactory.inspect(certificatePEM: chain)
            else { continue }
            return (file, summary)
        }
        return nil
    }

    public func stamps() -> [String: String] {
        var stamps: [String: String] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: certificatesPath)) ?? []
        for file in files where file.hasSuffix(".pem") {
            let domain = String(file.dropLast(4))
            var stamp = ""
            for path in [certificatePath(for: domain), keyPath(for: domain)] {
                var info = stat()
                guard stat(path, &info) == 0 else { continue }
                stamp += "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_size);"
            }
            stamps[domain] = stamp
        }
        return stamps
    }

    /// Brings the store in line with the folder: certificates added or replaced on disk are
    /// loaded (served from the next handshake; connections already open keep theirs), removed
    /// ones are dropped. `seen` holds the stamps of the last pass.
    public func synchronize(
        _ store: CertificateStore, defaultDomain: String, seen: inout [String: String], logger: Logger
    ) {
        let current = stamps()
        var recorded = current
        for domain in seen.keys where current[domain] == nil && domain != defaultDomain {
            if store.removeCertificate(forDomain: domain) {
                logger.notice("certificate removed from the folder; no longer served", ["domain": domain])
            }
        }
        for (domain, stamp) in current.sorted(by: { $0.key < $1.key }) where seen[domain] != stamp {
            let isFirstPass = seen.isEmpty
            do {
                let chain = try String(contentsOfFile: certificatePath(for: domain), encoding: .utf8)
                let key = try String(contentsOfFile: keyPath(for: domain), encoding: .utf8)
                // The default domain's certificate lives in the store's base context, where
                // handshakes start, so they need no switch.
                if domain == defaultDomain {
                    try store.setDefaultCertificate(certificateChainPEM: chain, privateKeyPEM: key)
                } else {
                    try store.setCertificate(forDomain: domain, certificateChainPEM: chain, privateKeyPEM: key)
                }
                if !isFirstPass { logger.notice("certificate loaded from the folder", ["domain": domain]) }
            } catch {
                // Half-written files are retried on the next pass (the stamp is not recorded).
                logger.error(
                    "skipping a certificate that does not load", ["domain": domain, "error": String(describing: error)])
                recorded[domain] = nil
            }
        }
        seen = recorded
    }

    /// Writes a file with `mode`, replacing what was there in one step (written beside it, then
    /// renamed): the watcher of a running host never reads half a file.
    public static func write(_ text: String, to path: String, mode: mode_t) throws {
        let partial = path + ".partial"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw CryptoError("cannot write \(path): \(String(cString: strerror(errno)))") }
        fchmod(descriptor, mode)
        let bytes = Array(text.utf8)
        let written = Glibc.write(descriptor, bytes, bytes.count) == bytes.count && fsync(descriptor) == 0
        close(descriptor)
        guard written, rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw CryptoError("cannot write \(path): \(reason)")
        }
    }
}

/// The expiry of every certificate in the folder, read again only for files that changed
/// (stamped by modification time and size), so a scrape with thousands of tenant certificates
/// parses none of them when nothing changed.
public final class CertificateExpiries: Sendable {
    private let folder: CertificateFolder
    private let known = Mutex<[String: (stamp: String, notAfter: Date)]>([:])

    public init(folder: CertificateFolder) {
        self.folder = folder
    }

    /// Domain → expiry, for every certificate that parses.
    public func current() -> [String: Date] {
        let stamps = folder.stamps()
        var cache = known.withLock { $0 }
        cache = cache.filter { stamps[$0.key] != nil }
        for (domain, stamp) in stamps where cache[domain]?.stamp != stamp {
            guard let chain = try? String(contentsOfFile: folder.certificatePath(for: domain), encoding: .utf8),
                let summary = try? CertificateFactory.inspect(certificatePEM: chain)
            else {
                cache[domain] = nil
                continue
            }
            cache[domain] = (stamp, summary.notAfter)
        }
        known.withLock { $0 = cache }
        return cache.mapValues(\.notAfter)
    }
}
