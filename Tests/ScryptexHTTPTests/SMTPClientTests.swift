import Foundation
import ScryptexHTTP
import ScryptexTestSupport
import Testing

/// The SMTP client against a real relay (aiosmtpd) on loopback: STARTTLS and implicit TLS with
/// the relay's certificate verified, AUTH PLAIN, the envelope and the message as received.
@Suite("SMTP submission to a real relay", .serialized)
struct SMTPClientTests {
    static let message = """
        From: no-reply@platform.example\r
        To: ada@acme.example\r
        Subject: Reset your password\r
        \r
        Open this link:
        .a line that starts with a dot
        ..and one with two
        The end.
        """

    @Test func aMessageGoesThroughSTARTTLSWithAuthAndArrivesIntact() async throws {
        let relay = try await SMTPRelay(mode: .startTLS)
        let client = try SMTPClient(
            url: "smtp://mailer:s3cret%20pass@localhost:\(relay.port)",
            trustedCertificatesFile: relay.trustedCertificatesFile)
        #expect(client.security == .startTLS && client.password == "s3cret pass")
        try await client.send(Self.message, from: "no-reply@platform.example", to: ["ada@acme.example"])
        let received = try #require(try await relay.waitForMessages(1).first)
        #expect(received.from == "no-reply@platform.example" && received.to == ["ada@acme.example"])
        #expect(received.user == "mailer" && received.tls)
        // Dot-stuffing undone by the relay: the lines arrive as written.
        let expected = Self.message.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(received.data.replacingOccurrences(of: "\r\n", with: "\n").hasPrefix(expected), "\(received.data)")
    }

    @Test func implicitTLSWorksAndAWrongPasswordIsRefusedWithTheRelaysAnswer() async throws {
        let relay = try await SMTPRelay(mode: .implicitTLS)
        let good = try SMTPClient(
            url: "smtps://mailer:s3cret%20pass@localhost:\(relay.port)",
            trustedCertificatesFile: relay.trustedCertificatesFile)
        try await good.send("Subject: hi\r\n\r\nbody", from: "a@platform.example", to: ["b@acme.example"])
        #expect(try await relay.waitForMessages(1).first?.tls == true)
        let wrong = try SMTPClient(
            url: "smtps://mailer:nope@localhost:\(relay.port)", trustedCertificatesFile: relay.trustedCertificatesFile)
        do {
            try await wrong.send("Subject: hi\r\n\r\nbody", from: "a@platform.example", to: ["b@acme.example"])
            Issue.record("a wrong password was accepted")
        } catch let error as SMTPError {
            #expect(error.message.contains("refused AUTH PLAIN (credentials): 535"), "\(error)")
            #expect(!error.message.contains("nope"))
        }
        #expect(try relay.received().count == 1)
    }

    @Test func noTLSNoCredentials() async throws {
        // A relay without STARTTLS: smtp:// refuses to go on in the clear.
        let plain = try await SMTPRelay(mode: .plain)
        let client = try SMTPClient(url: "smtp://mailer:s3cret@localhost:\(plain.port)")
        do {
            try await client.send("Subject: x\r\n\r\ny", from: "a@platform.example", to: ["b@acme.example"])
            Issue.record("smtp:// went on without TLS")
        } catch let error as SMTPError {
            #expect(error.message.contains("does not offer STARTTLS"), "\(error)")
        }
        // A certificate from an authority the client does not trust: the handshake fails.
        let relay = try await SMTPRelay(mode: .startTLS)
        let untrusting = try SMTPClient(url: "smtp://mailer:s3cret%20pass@localhost:\(relay.port)")
        do {
            try await untrusting.send("Subject: x\r\n\r\ny", from: "a@platform.example", to: ["b@acme.example"])
            Issue.record("an untrusted certificate was accepted")
        } catch let error as SMTPError {
            #expect(error.message.contains("TLS handshake") && error.message.contains("certificate"), "\(error)")
        }
        #expect(try relay.received().isEmpty)
        #expect(try plain.received().isEmpty)
    }

    @Test func urlsAreCheckedAndPasswordsNeverShown() throws {
        #expect(throws: SMTPError.self) { try SMTPClient(url: "smtp+insecure://user:pw@localhost:25") }
        #expect(throws: SMTPError.self) { try SMTPClient(url: "smtp+insecure://mail.example.com:25") }
        #expect(throws: SMTPError.self) { try SMTPClient(url: "http://mail.example.com") }
        #expect(try SMTPClient(url: "smtps://relay.example").port == 465)
        #expect(try SMTPClient(url: "smtp+insecure://localhost").security == .none)
        #expect(SMTPClient.redacted("smtps://u:hunter2@relay.example:465") == "smtps://u:***@relay.example:465")
    }

    @Test func addressesThatWouldSmuggleACommandAreRefusedBeforeConnecting() async throws {
        let client = try SMTPClient(url: "smtps://relay.invalid")
        for address in ["a@b.example>\r\nRCPT TO:<c@d.example", "a\n@b.example", ""] {
            do {
                try await client.send("Subject: x\r\n\r\ny", from: "a@platform.example", to: [address])
                Issue.record("'\(address)' was accepted")
            } catch let error as SMTPError {
                #expect(error.message.contains("is not a mail address"), "\(error)")
            }
        }
    }
}
