import ScryptexCore
import ScryptexCrypto
import ScryptexIdentity
import Testing

@Suite("Cryptographic building blocks against published test vectors")
struct CryptographyVectorTests {
    /// RFC 6238 Appendix B: the seeds are the ASCII digits 1234567890 repeated to the hash length.
    @Test(arguments: [
        (Int64(59), "94287082", "46119246", "90693936"),
        (Int64(1_111_111_109), "07081804", "68084774", "25091201"),
        (Int64(1_111_111_111), "14050471", "67062674", "99943326"),
        (Int64(1_234_567_890), "89005924", "91819424", "93441116"),
        (Int64(2_000_000_000), "69279037", "90698825", "38618901"),
        (Int64(20_000_000_000), "65353130", "77737706", "47863826"),
    ])
    func totpMatchesRFC6238(time: Int64, sha1: String, sha256: String, sha512: String) {
        let seed = Array("12345678901234567890".utf8)
        let seed32 = Array("12345678901234567890123456789012".utf8)
        let seed64 = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)
        #expect(TimeBasedOneTimePassword(secret: seed, digits: 8, algorithm: .sha1).code(at: time) == sha1)
        #expect(TimeBasedOneTimePassword(secret: seed32, digits: 8, algorithm: .sha256).code(at: time) == sha256)
        #expect(TimeBasedOneTimePassword(secret: seed64, digits: 8, algorithm: .sha512).code(at: time) == sha512)
    }

    @Test func totpAcceptsNeighbouringStepsOnceAndNeverReplays() {
        let totp = TimeBasedOneTimePassword(secret: Array("12345678901234567890".utf8))
        let now: Int64 = 1_700_000_000
        let current = totp.code(at: now)
        let step = totp.step(at: now)
        #expect(totp.matchingStep(for: current, at: now, lastUsedStep: nil) == step)
        #expect(totp.matchingStep(for: current, at: now, lastUsedStep: step) == nil, "a used code was accepted again")
        #expect(totp.matchingStep(for: totp.code(at: now - 30), at: now, lastUsedStep: nil) == step - 1)
        #expect(totp.matchingStep(for: totp.code(at: now - 90), at: now, lastUsedStep: nil) == nil)
        #expect(totp.matchingStep(for: "12345", at: now, lastUsedStep: nil) == nil)
        #expect(totp.matchingStep(for: "abcdef", at: now, lastUsedStep: nil) == nil)
    }

    /// RFC 4231 test case 2 (HMAC-SHA-256 and -512 with key "Jefe").
    @Test func hmacMatchesRFC4231() {
        let message = Array("what do ya want for nothing?".utf8)
        let key = Array("Jefe".utf8)
        #expect(
            Hex.encode(HMAC.code(for: message, key: key, using: .sha256))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Hex.encode(HMAC.code(for: message, key: key, using: .sha512))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
    }

    /// RFC 7914 §12, second vector: "password" / "NaCl", N = 1024, r = 8, p = 16.
    @Test func scryptMatchesRFC7914() {
        let key = PasswordHasher.scrypt(
            password: Array("password".utf8), salt: Array("NaCl".utf8), logCost: 10, blockSize: 8, parallelism: 16,
            length: 64)
        #expect(
            key.map { Hex.encode($0) }
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
    }

    @Test func passwordHashesVerifyOnlyTheirPassword() async {
        let hasher = PasswordHasher(logCost: 12, blockSize: 8, parallelism: 1)
        let stored = await hasher.hash("correct horse battery staple")
        #expect(stored.hasPrefix("$scrypt$ln=12,r=8,p=1$"))
        #expect(await hasher.verify("correct horse battery staple", against: stored))
        #expect(!(await hasher.verify("correct horse battery stapler", against: stored)))
        #expect(!(await hasher.verify("anything", against: "$scrypt$ln=12$broken")))
        #expect(PasswordHasher.interactive.needsRehash(stored))
        #expect(await hasher.hash("same") != (await hasher.hash("same")), "salts must differ")
    }

    @Test func aesGCMRoundTripsAndRejectsTampering() throws {
        let key = SecureRandom.bytes(count: 32)
        let box = AES256GCM.seal(Array("jane@example.com".utf8), key: key, associatedData: Array("users.email".utf8))
        #expect(
            try AES256GCM.open(box, key: key, associatedData: Array("users.email".utf8))
                == Array("jane@example.com".utf8))
        #expect(throws: AES256GCM.AuthenticationFailure.self) {
            try AES256GCM.open(box, key: key, associatedData: Array("users.name".utf8))
        }
        var flipped = box
        flipped[15] ^= 1
        #expect(throws: AES256GCM.AuthenticationFailure.self) { try AES256GCM.open(flipped, key: key) }
        #expect(throws: AES256GCM.AuthenticationFailure.self) {
            try AES256GCM.open(box, key: SecureRandom.bytes(count: 32), associatedData: Array("users.email".utf8))
        }
    }

    @Test func base32AndBase64URLRoundTrip() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.decode("mzxw6ytboi") == Array("foobar".utf8))
        #expect(Base32.decode("MZ!") == nil)
        for length in 0..<40 {
            let bytes = SecureRandom.bytes(count: length)
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
            #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        }
    }

    @Test func secretTokensParseOnlyTheirOwnShape() throws {
        let token = SecretToken.generate(.apiKey)
        let parsed = try #require(SecretToken(parsing: token.text, as: .apiKey))
        #expect(parsed == token)
        #expect(parsed.matches(storedHash: token.secretHash))
        #expect(!parsed.description.contains(token.secret))
        #expect(SecretToken(parsing: token.text, as: .session) == nil)
        #expect(SecretToken(parsing: token.text + "x", as: .apiKey) == nil)
        #expect(SecretToken(parsing: String(repeating: "a", count: 10_000), as: .apiKey) == nil)
        #expect(SecretToken(parsing: token.prefix + ".", as: .apiKey) == nil)
    }
}
