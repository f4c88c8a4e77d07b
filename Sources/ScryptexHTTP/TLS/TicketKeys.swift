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

    /// Makes these the keys of `context`'s tickets. OpenSSL's callback carries no argument of
    /// its own: the keys are found through the context's ex-data, unretained (the `TLSContext`
    /// holds them as long as the `SSL_CTX` lives).
    func install(on context: OpaquePointer) {
        _ = SSL_CTX_set_ex_data(context, Self.exDataIndex, Unmanaged.passUnretained(self).toOpaque())
        _ = scryptex_ssl_ctx_set_ticket_callback(context, ticketKeyCallback)
    }

    /// The ex-data slot of `SSL_CTX` that holds the keys: registered with OpenSSL once per
    /// process (a constant once made, like OpenSSL's own indexes).
    static let exDataIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nil, nil, nil, nil)

    /// The keys installed on the context `ssl` uses now (after any SNI switch).
    static func installed(for ssl: OpaquePointer) -> TicketKeys? {
        guard let context = SSL_get_SSL_CTX(ssl), let keys = SSL_CTX_get_ex_data(context, exDataIndex) else {
            return nil
        }
        return Unmanaged<TicketKeys>.fromOpaque(keys).takeUnretainedValue()
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
    guard let ssl, let name, let iv, let cipher, let mac, let keys = TicketKeys.installed(for: ssl) else { return -1 }
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
