import ScryptexCrypto
import ScryptexIdentity
import Testing

@Suite("Platform secrets sealed with the master key")
struct PlatformSecretTests {
    @Test func aSealedSecretOpensOnlyForItsPurposeAndUnderTheMasterKeyOrOneItWasRotatedFrom() throws {
        let old = try MasterKey(bytes: SecureRandom.bytes(count: 32))
        let keyring = Keyring(master: old)
        let secret = Array("-----BEGIN PRIVATE KEY-----\nMIG…\n-----END PRIVATE KEY-----\n".utf8)
        let box = keyring.sealPlatformSecret(secret, purpose: "certificate-key|acme.example")
        #expect(box != secret && !box.starts(with: secret.prefix(10)))
        #expect(try keyring.openPlatformSecret(box, purpose: "certificate-key|acme.example") == secret)
        // Bound to its purpose: the same box is not another domain's key.
        #expect(throws: (any Error).self) {
            try keyring.openPlatformSecret(box, purpose: "certificate-key|zenith.example")
        }
        // Another master key cannot open it; one rotated from the first can.
        let other = Keyring(master: try MasterKey(bytes: SecureRandom.bytes(count: 32)))
        #expect(throws: (any Error).self) { try other.openPlatformSecret(box, purpose: "certificate-key|acme.example") }
        let rotated = Keyring(master: try MasterKey(bytes: SecureRandom.bytes(count: 32)), previous: [old])
        #expect(try rotated.openPlatformSecret(box, purpose: "certificate-key|acme.example") == secret)
        // Tampered: refused.
        var tampered = box
        tampered[tampered.count - 1] ^= 1
        #expect(throws: (any Error).self) {
            try keyring.openPlatformSecret(tampered, purpose: "certificate-key|acme.example")
        }
    }
}
