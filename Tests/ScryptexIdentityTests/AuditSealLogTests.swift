import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexIdentity
import Testing

@Suite("Audit seal log")
struct AuditSealLogTests {
    @Test func sealsAppendedByAnotherProcessAreSeenAndTamperingIsNamed() throws {
        let path = NSTemporaryDirectory() + "scryptex-seals-" + UUID().uuidString + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try P256SigningKey.generate()
        // The host's log and the command line's, on one file.
        let host = AuditSealLog(path: path)
        let command = AuditSealLog(path: path)
        #expect(try host.latestSeals().isEmpty)
        try host.append(try AuditSeal.sign(trail: "t_acme", position: 3, headHash: "a", with: key))
        #expect(try host.latestSeal(of: "t_acme")?.position == 3)
        try command.append(try AuditSeal.sign(trail: "t_acme", position: 7, headHash: "b", with: key))
        try command.append(try AuditSeal.sign(trail: "platform", position: 2, headHash: "c", with: key))
        // The host reads what the command appended, from where it stopped.
        #expect(try host.latestSeal(of: "t_acme")?.position == 7)
        #expect(try host.latestSeal(of: "platform")?.headHash == "c")
        #expect(try host.latestSeal(of: "t_acme")?.isSigned(by: key.publicKey) == true)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // A seal going backwards, or a line that is not a seal, is reported with its line.
        let backwards = try AuditSeal.sign(trail: "t_acme", position: 5, headHash: "d", with: key)
        try command.append(backwards)
        #expect(throws: ServiceError.self) { try host.latestSeals() }
        let fresh = AuditSealLog(path: path)
        do {
            _ = try fresh.latestSeals()
            Issue.record("a seal going backwards was accepted")
        } catch let error as ServiceError {
            #expect(error.message.contains("line 4"), "\(error.message)")
        }
    }
}
