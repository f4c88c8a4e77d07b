public import ScryptexHTTP
public import ScryptexIdentity

/// Mail through a relay (`SMTP_URL`): each message submitted on its own connection over TLS,
/// from `MAIL_FROM`. A relay that refuses it makes the send fail with the relay's answer.
public struct SMTPMailTransport: MailTransport {
    let client: SMTPClient
    let sender: String

    public init(client: SMTPClient, sender: String) {
        self.client = client
        self.sender = sender
    }

    public func send(_ message: MailMessage) async throws {
        try await client.send(message.rfc5322(from: sender), from: sender, to: [message.to])
    }
}
