import Foundation
import ScryptexTestSupport
import Testing

/// Password reset mail through a real relay (`SMTP_URL`), as production sends it.
@Suite("Portal mail through an SMTP relay", .serialized)
struct MailRelayTests {
    @Test(.timeLimit(.minutes(3)))
    func aResetLinkGoesThroughTheRelayAndWorks() async throws {
        let relay = try await SMTPRelay(mode: .startTLS)
        let host = try await PortalHost(environment: [
            "SMTP_URL": "smtp://mailer:s3cret%20pass@localhost:\(relay.port)",
            "SMTP_CA_FILE": relay.trustedCertificatesFile, "MAIL_FROM": "accounts@platform.example",
        ])
        do {
            _ = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
            let session = CurlSession(host: host, tenant: "acme")
            func ask(_ email: String) async throws -> (status: Int, headers: String, body: String) {
                let form = try await session.get("/portal/password-reset")
                let token = try #require(CurlSession.formToken(in: form.body))
                return try await session.post("/portal/password-reset", [("csrf", token), ("email", email)])
            }
            let answer = try await ask("ada@acme.example")
            #expect(answer.status == 200 && answer.body.contains("If that address belongs to a member"))
            let mail = try #require(try await relay.waitForMessages(1).first, "no mail reached the relay")
            #expect(mail.from == "accounts@platform.example" && mail.to == ["ada@acme.example"])
            #expect(mail.user == "mailer" && mail.tls)
            #expect(mail.data.contains("Subject: Reset your Acme Prime password\r\n"))
            #expect(mail.data.contains("Message-ID: <") && mail.data.contains("@platform.example>"))
            // Nothing went to the development outbox.
            #expect(!FileManager.default.fileExists(atPath: host.root + "/outbox"))
            let link = try #require(
                mail.data.split(whereSeparator: \.isNewline).first { $0.hasPrefix("https://") }.map(String.init))
            let opened = try await session.get(String(link.dropFirst(host.url("acme", "").count)))
            #expect(opened.status == 303 && opened.headers.contains("Location: /portal/password-reset/new"))
            let form = try await session.get("/portal/password-reset/new")
            let token = try #require(CurlSession.formToken(in: form.body))
            let done = try await session.post(
                "/portal/password-reset/new",
                [("csrf", token), ("password", "relay-delivered-pass"), ("confirmation", "relay-delivered-pass")])
            #expect(done.status == 303)
            #expect(
                try await CurlSession(host: host, tenant: "acme").signIn(
                    email: "ada@acme.example", password: "relay-delivered-pass"))
            // An unknown address: the same answer, and nothing more at the relay.
            let unknown = try await ask("nobody@acme.example")
            #expect(unknown.status == answer.status && unknown.body.contains("If that address belongs to a member"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try relay.received().count == 1)
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(3)))
    func aRelayThatRefusesChangesNothingTheAskerSeesAndIsLogged() async throws {
        let relay = try await SMTPRelay(mode: .startTLS)
        let host = try await PortalHost(environment: [
            "SMTP_URL": "smtp://mailer:wrong@localhost:\(relay.port)", "SMTP_CA_FILE": relay.trustedCertificatesFile,
        ])
        do {
            _ = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
            let session = CurlSession(host: host, tenant: "acme")
            let form = try await session.get("/portal/password-reset")
            let token = try #require(CurlSession.formToken(in: form.body))
            let answer = try await session.post(
                "/portal/password-reset", [("csrf", token), ("email", "ada@acme.example")])
            // A member's address answers as any other would: an error here would tell who is one.
            #expect(answer.status == 200 && answer.body.contains("If that address belongs to a member"))
            #expect(
                await host.process.waitForOutput(
                    containing: "a password reset mail could not be sent", timeout: .seconds(10)))
            #expect(host.process.output.contains("535"))
            #expect(!host.process.output.contains("/password-reset/link/"), "the link is never logged")
            #expect(try relay.received().isEmpty)
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
