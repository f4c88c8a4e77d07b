import ScryptexCore
public import ScryptexCrypto

/// Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226).
public struct TimeBasedOneTimePassword: Sendable {
    public var secret: [UInt8]
    public var digits: Int
    public var period: Int64
    public var algorithm: DigestAlgorithm

    public init(secret: [UInt8], digits: Int = 6, period: Int64 = 30, algorithm: DigestAlgorithm = .sha1) {
        precondition((6...8).contains(digits), "TOTP codes have 6 to 8 digits")
        self.secret = secret
        self.digits = digits
        self.period = period
        self.algorithm = algorithm
    }

    /// A new random 160-bit secret (RFC 4226 recommends at least 128 bits).
    public static func generateSecret() -> [UInt8] { SecureRandom.bytes(count: 20) }

    /// The time step that contains `unixTime`.
    public func step(at unixTime: Int64) -> Int64 { unixTime / period }

    /// The code for a time step (HOTP with the step as counter), zero-padded.
    public func code(forStep step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = HMAC.code(for: message, key: secret, using: algorithm)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    public func code(at unixTime: Int64) -> String { code(forStep: step(at: unixTime)) }

    /// The step a submitted code belongs to, if it matches the current step or one step either
    /// side (clock drift), and is later than `lastUsedStep`: a code is accepted once, never replayed.
    public func matchingStep(for submitted: String, at unixTime: Int64, lastUsedStep: Int64?) -> Int64? {
        guard submitted.utf8.count == digits, submitted.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let current = step(at: unixTime)
        var found: Int64?
        // Every candidate is compared, in constant time, so the timing reveals nothing.
        for candidate in (current - 1)...(current + 1) where ConstantTime.equals(code(forStep: candidate), submitted) {
            found = candidate
        }
        guard let found else { return nil }
        if let lastUsedStep, found <= lastUsedStep { return nil }
        return found
    }

    /// The `otpauth://` URI authenticator apps read from a QR code.
    public func provisioningURI(issuer: String, account: String) -> String {
        let label = PercentEncoding.encode(issuer + ":" + account)
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(PercentEncoding.encode(issuer))"
            + "&algorithm=\(algorithm.rawValue)&digits=\(digits)&period=\(period)"
    }
}
