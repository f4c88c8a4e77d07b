import ScryptexCore
import ScryptexCrypto

/// A bearer secret in the form `prefix.secret`: API keys (`sxk_…`), platform-admin keys
/// (`sxa_…`) and session tokens (`sxs_…`).
///
/// The prefix is public and indexes the stored row; only SHA-256 of the secret part is stored,
/// and it is compared in constant time. The secret has 256 bits, so a plain hash (not a slow
/// password hash) is the right tool: there is nothing to guess.
public struct SecretToken: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case apiKey = "sxk"
        case adminKey = "sxa"
        case session = "sxs"
    }

    public let kind: Kind
    /// `sxk_` and 16 hexadecimal digits; safe to show and to log.
    public let prefix: String
    public let secret: String

    /// A new random token.
    public static func generate(_ kind: Kind) -> SecretToken {
        SecretToken(
            kind: kind, prefix: kind.rawValue + "_" + SecureRandom.hexToken(byteCount: 8),
            secret: Base64URL.encode(SecureRandom.bytes(count: 32)))
    }

    private init(kind: Kind, prefix: String, secret: String) {
        self.kind = kind
        self.prefix = prefix
        self.secret = secret
    }

    /// Parses a presented token; nil for anything malformed (wrong kind, length or alphabet).
    public init?(parsing text: some StringProtocol, as kind: Kind) {
        guard text.utf8.count == 4 + 16 + 1 + 43 else { return nil }
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[0].hasPrefix(kind.rawValue + "_") else { return nil }
        let hex = parts[0].dropFirst(4)
        guard hex.utf8.count == 16, hex.utf8.allSatisfy({ Hex.value(of: $0) != nil }),
            parts[1].utf8.count == 43, Base64URL.decode(String(parts[1]))?.count == 32
        else { return nil }
        self.init(kind: kind, prefix: String(parts[0]), secret: String(parts[1]))
    }

    /// The full token, to hand to its owner once.
    public var text: String { prefix + "." + secret }

    /// What is stored: SHA-256 of the secret, hexadecimal.
    public var secretHash: String { Self.hash(secret) }

    public static func hash(_ secret: String) -> String { SHA256.hexDigest(secret) }

    /// Whether this token's secret matches a stored hash, in constant time.
    public func matches(storedHash: String) -> Bool {
        ConstantTime.equals(secretHash, storedHash)
    }

    /// Never the secret.
    public var description: String { prefix + ".…" }
}

/// One-time recovery codes for a user who lost their authenticator: ten codes of 10 base32
/// characters, shown once, stored hashed, each usable once.
public enum RecoveryCodes {
    public static func generate(count: Int = 10) -> [String] {
        (0..<count).map { _ in
            let code = Base32.encode(SecureRandom.bytes(count: 7)).prefix(10).lowercased()
            return code.prefix(5) + "-" + code.suffix(5)
        }
    }

    /// The stored form: SHA-256 of the code without its dash, lowercased.
    public static func hash(_ code: String) -> String {
        SHA256.hexDigest(code.lowercased().filter { $0 != "-" && $0 != " " })
    }
}
