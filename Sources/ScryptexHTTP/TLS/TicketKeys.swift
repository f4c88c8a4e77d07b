internal import COpenSSL
import ScryptexCrypto
import Synchronization

/// Keys that encrypt TLS session tickets (stateless resumption), rotated on a schedule.
///
/// The current key encrypts new tickets; the previous one still decrypts tickets issued before
/// the last rotation (and asks OpenSSL to issue a fresh ticket); older tickets fall back to a
/// full handshake. Keys live only in memory: a restart invalidates every ticket, which costs
/// clients one full handshake and never exposes a stored key.
final class TicketKeys: Sendable {
    struct Key: Sendable {
        let name: [UInt8]  // 16 bytes, sent in the clear with the ticket
        let cipherKey: [UInt8]  // AES-256-CBC
        let macKey: [UInt8]  // HMAC-SHA256
        let created: ContinuousClock.Instant

        static func generate() -> Key {
            Key(
                name: SecureRandom.bytes(count: 16), cipherKey: SecureRandom.bytes(count: 32),
                macKey: SecureRandom.bytes(count: 32),
                created: .now
            )
        }
    }

    /// The process's ticket keys, shared by every TLS context so a ticket from one domain's
    /// handshake is understood by the next (OpenSSL's callback carries no context argument).
    static let shared = TicketKeys(rotationInterval: .seconds(12 * 3600))

    let rotationInterval: Duration
    /// AES-256-CBC fetched from the provider once: the legacy `EVP_aes_256_cbc()` getter makes
    /// OpenSSL 3 fetch the implementation again on every ticket, which showed up in benchmarks.
    let cipher = FetchedCipher(name: "AES-256-CBC")
    private let keys = Mutex<(current: Key, previous: Key?)>((Key.generate(), nil))

    init(rotationInterval: Duration) {
        self.rotationInterval = rotationInterval
    }

    /// Makes a new current key; the current one becomes the previous one.
    func rotate() {
        keys.withLock { $0 = (Key.generate(), $0.current) }
    }

    /// The key for new tickets, rotating first when the current one is too old.
    func currentKey() -> Key {
        keys.withLock { keys in
            if ContinuousClock.now - keys.current.created > rotationInterval {
                keys = (Key.generate(), keys.current)
            }
            return keys.current
        }
    }

    /// The key named in a ticket, and whether it is the previous one (so the ticket is renewed).
    func key(named name: [UInt8]) -> (key: Key, isPrevious: Bool)? {
        keys.withLock { keys in
            if keys.current.name == name { return (keys.current, false) }
            if let previous = keys.previous, previous.name == name { return (previous, true) }
            return nil
        }
    }

    func install(on context: OpaquePointer) {
        _ = scryptex_ssl_ctx_set_ticket_callback(context, ticketKeyCallback)
    }
}

/// An `EVP_CIPHER` fetched once. `@unchecked Sendable` is sound: a fetched cipher is an
/// immutable, reference-counted provider object that OpenSSL allows to be used from any thread.
final class FetchedCipher: @unchecked Sendable {
    let pointer: OpaquePointer

    init(name: String) {
        guard let cipher = EVP_CIPHER_fetch(nil, name, nil) else {
            fatalError("OpenSSL has no \(name) cipher; the default provider is missing")
        }
        pointer = cipher
    }

    deinit {
        EVP_CIPHER_free(pointer)
    }
}

/// OpenSSL's ticket callback: `encrypt == 1` to issue a ticket, 0 to open one.
/// Returns 1 (ok), 2 (ok, and issue a new ticket), 0 (unknown key: full handshake) or -1 (error).
private func ticketKeyCallback(
    ssl: OpaquePointer?,
    name: UnsafeMutablePointer<UInt8>?,
    iv: UnsafeMutablePointer<UInt8>?,
    cipher: OpaquePointer?,
    mac: OpaquePointer?,
    encrypt: Int32
) -> Int32 {
    guard let name, let iv, let cipher, let mac else { return -1 }
    let keys = TicketKeys.shared
    if encrypt == 1 {
        let key = keys.currentKey()
        for index in 0..<16 { name[index] = key.name[index] }
        guard RAND_bytes(iv, 16) == 1 else { return -1 }
        var cipherKey = key.cipherKey
        var macKey = key.macKey
        guard EVP_EncryptInit_ex(cipher, keys.cipher.pointer, nil, &cipherKey, iv) == 1,
            scryptex_ticket_mac_init(mac, &macKey, macKey.count) == 1
        else { return -1 }
        return 1
    }
    let presented = Array(UnsafeBufferPointer(start: name, count: 16))
    guard let (key, isPrevious) = keys.key(named: presented) else { return 0 }
    var cipherKey = key.cipherKey
    var macKey = key.macKey
    guard scryptex_ticket_mac_init(mac, &macKey, macKey.count) == 1,
        EVP_DecryptInit_ex(cipher, keys.cipher.pointer, nil, &cipherKey, iv) == 1
    else { return -1 }
    // Always ask for a fresh ticket (2): TLS 1.3 clients use each ticket once, so a resumed
    // handshake that issued none would force the client's next connection into a full handshake.
    // A ticket under the previous key is renewed under the current one the same way.
    _ = isPrevious
    return 2
}
