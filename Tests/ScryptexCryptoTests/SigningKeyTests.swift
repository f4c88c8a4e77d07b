import Foundation
import ScryptexCore
import ScryptexCrypto
import Testing

/// ES256 signatures made here verify with the `openssl` command, and the command's verify here:
/// audit seals must be checkable by anyone holding the public key, with standard tools.
@Suite("P-256 signatures against the openssl command")
struct SigningKeyTests {
    static func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// r ‖ s as a DER ECDSA-Sig-Value, built by hand so the test does not use the code it tests.
    static func der(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }

    /// A DER ECDSA-Sig-Value as r ‖ s.
    static func raw(_ der: [UInt8]) -> [UInt8] {
        var index = 2
        var parts: [[UInt8]] = []
        for _ in 0..<2 {
            let length = Int(der[index + 1])
            var value = Array(der[(index + 2)..<(index + 2 + length)]).drop { $0 == 0 }
            while value.count < 32 { value.insert(0, at: value.startIndex) }
            parts.append(Array(value))
            index += 2 + length
        }
        return parts[0] + parts[1]
    }

    @Test func signaturesVerifyBothWaysWithOpenSSL() throws {
        let folder = NSTemporaryDirectory() + "scryptex-es256-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = try P256SigningKey.generate()
        let message = Array("scryptex-audit-seal/1|t_acme|42|abc".utf8)
        try key.privateKeyPEM.write(toFile: folder + "/key.pem", atomically: true, encoding: .utf8)
        try key.publicKey.pem.write(toFile: folder + "/public.pem", atomically: true, encoding: .utf8)
        try Data(message).write(to: URL(fileURLWithPath: folder + "/message"))

        // Ours, checked by openssl.
        let signature = try key.sign(message)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        try Data(Self.der(signature)).write(to: URL(fileURLWithPath: folder + "/ours.der"))
        let verified = try Self.openssl([
            "dgst", "-sha256", "-verify", folder + "/public.pem", "-signature", folder + "/ours.der",
            folder + "/message",
        ])
        #expect(verified.output.contains("Verified OK"), "\(verified.output)")

        // openssl's, checked by ours.
        let signed = try Self.openssl([
            "dgst", "-sha256", "-sign", folder + "/key.pem", "-out", folder + "/theirs.der", folder + "/message",
        ])
        #expect(signed.status == 0, "\(signed.output)")
        let theirs = Self.raw(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/theirs.der"))))
        #expect(key.publicKey.isValidSignature(theirs, for: message))

        // Anything changed fails.
        #expect(!key.publicKey.isValidSignature(signature, for: message + [0]))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.publicKey.isValidSignature(flipped, for: message))
        #expect(!(try P256SigningKey.generate()).publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature([], for: message))
    }

    @Test func publicKeysRoundTripThroughPEM() throws {
        let key = try P256SigningKey.generate().publicKey
        #expect(try P256PublicKey(pem: key.pem) == key)
        #expect(try P256PublicKey(x: key.x, y: key.y).thumbprint == key.thumbprint)
        #expect(throws: (any Error).self) {
            try P256PublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
        }
        // A point that is not on the curve.
        #expect(throws: (any Error).self) { try P256PublicKey(x: [UInt8](repeating: 1, count: 32), y: key.y) }
    }
}
