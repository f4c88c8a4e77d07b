import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexInstitutional
import ScryptexTestSupport
import Testing

@testable import ScryptexKYC

/// Issue 18: `INSTITUTIONAL_KYC_PROVIDER=onfido|sumsub|jumio` selects an adapter that opens a
/// verification at the provider and reads the provider's notifications; each is tested against a
/// local fake that checks credentials the way the provider does. Signatures here are computed with
/// the `openssl` command, not the code under test.
@Suite("KYC provider adapters", .serialized)
struct KYCProviderTests {
    static let account = InstitutionalAccount(
        id: UUID(), parentId: nil, accountName: "Main", accountType: .hedgeFund, legalName: "Quiet Meadow Partners LLC",
        jurisdiction: "US", totalAUM: ExactDecimal(0), regulatoryIdentifiers: [:], kycStatus: .pending,
        kycReviewDue: nil, killSwitchEngaged: false, limits: TradingLimits(), createdAt: Date(), updatedAt: Date())

    /// The hexadecimal HMAC of `body` under `key`, by `openssl dgst`.
    static func opensslHMAC(_ body: String, key: String, digest: String = "sha256") async throws -> String {
        let file = NSTemporaryDirectory() + "kyc-body-" + UUID().uuidString
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = try ChildProcess("/usr/bin/openssl", ["dgst", "-\(digest)", "-hmac", key, "-r", file])
        _ = await process.waitForExit(timeout: .seconds(10))
        return String(process.output.prefix { $0 != " " })
    }

    static func notification(_ body: String, _ headers: [String: String]) -> KYCNotification {
        KYCNotification(body: Array(body.utf8)) { name in
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    static func settings(
        _ provider: KYCProviderSettings.Provider, _ fake: KYCProviderFake, _ url: String, _ caFile: String
    ) -> KYCProviderSettings {
        switch provider {
        case .onfido:
            KYCProviderSettings(
                provider: .onfido, apiURL: url, apiToken: fake.onfidoToken, webhookSecret: fake.webhookSecret,
                workflow: "wf-kyb", trustedCertificatesFile: caFile)
        case .sumsub:
            KYCProviderSettings(
                provider: .sumsub, apiURL: url, apiToken: fake.sumsubAppToken, apiSecret: fake.sumsubSecretKey,
                webhookSecret: fake.webhookSecret, workflow: "basic kyb level", trustedCertificatesFile: caFile)
        case .jumio:
            KYCProviderSettings(
                provider: .jumio, apiURL: url, authURL: url, retrievalURL: url, apiToken: fake.jumioClientID,
                apiSecret: fake.jumioClientSecret, workflow: "10013", trustedCertificatesFile: caFile)
        }
    }

    @Test func onfidoRunsTheWorkflowAndReadsOnlySignedCompletions() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            let provider = Self.settings(.onfido, fake, url, caFile).makeProvider()
            let submission = try await provider.submit(Self.account, notificationURL: "")
            let run = try #require(fake.recorded.withLock { $0.onfidoRuns[submission.reference] })
            #expect(run.contains(#""workflow_id":"wf-kyb""#) && run.contains("Quiet Meadow Partners LLC"))
            #expect(run.contains(Self.account.id.uuidString.lowercased()))

            let completed =
                #"{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"id":"\#(submission.reference)","status":"approved"}}}"#
            let signature = try await Self.opensslHMAC(completed, key: fake.webhookSecret)
            let outcome = try await provider.outcome(of: Self.notification(completed, ["X-SHA2-Signature": signature]))
            #expect(
                outcome
                    == KYCOutcome(reference: submission.reference, decision: .approved, detail: "workflow run approved")
            )
            for status in ["declined", "review"] {
                let body = completed.replacingOccurrences(of: "approved", with: status)
                let signed = Self.notification(
                    body, ["x-sha2-signature": try await Self.opensslHMAC(body, key: fake.webhookSecret)])
                #expect(
                    try await provider.outcome(of: signed)?.decision == (status == "declined" ? .rejected : .review))
            }
            // A body changed after signing, a missing or foreign signature: refused.
            let tampered = completed.replacingOccurrences(of: "approved", with: "declined")
            for headers in [["X-SHA2-Signature": signature], [:], ["X-SHA2-Signature": "zz"]] {
                let error = await #expect(throws: ServiceError.self) {
                    try await provider.outcome(of: Self.notification(tampered, headers))
                }
                #expect(error?.code == .unauthenticated)
            }
            // A progress event says nothing about the outcome.
            let started =
                #"{"payload":{"resource_type":"workflow_run","action":"workflow_run.started","object":{"id":"x"}}}"#
            #expect(
                try await provider.outcome(
                    of: Self.notification(started, ["X-SHA2-Signature": fake.onfidoSignature(started)])) == nil)
            #expect(fake.recorded.withLock { $0.refused } == 0)
        }
    }

    @Test func sumsubSignsEveryRequestAndChecksTheWebhookDigest() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            let provider = Self.settings(.sumsub, fake, url, caFile).makeProvider()
            let submission = try await provider.submit(Self.account, notificationURL: "")
            let applicant = try #require(fake.recorded.withLock { $0.sumsubApplicants[submission.reference] })
            #expect(applicant.contains(#""companyName":"Quiet Meadow Partners LLC""#))
            #expect(fake.recorded.withLock { $0.refused } == 0, "the fake accepted the request signature")

            // A wrong secret key is refused by the provider: the error names it and its answer.
            var wrong = Self.settings(.sumsub, fake, url, caFile)
            wrong.apiSecret = "not-the-secret"
            let refused = await #expect(throws: ServiceError.self) {
                try await wrong.makeProvider().submit(Self.account, notificationURL: "")
            }
            #expect(refused?.code == .upstreamFailed && refused?.message.contains("sumsub answered 401") == true)

            let green =
                #"{"applicantId":"\#(submission.reference)","type":"applicantReviewed","reviewStatus":"completed","reviewResult":{"reviewAnswer":"GREEN"}}"#
            let digest = try await Self.opensslHMAC(green, key: fake.webhookSecret)
            #expect(
                try await provider.outcome(
                    of: Self.notification(
                        green, ["X-Payload-Digest": digest, "X-Payload-Digest-Alg": "HMAC_SHA256_HEX"]))
                    == KYCOutcome(reference: submission.reference, decision: .approved, detail: "review GREEN"))
            let red =
                #"{"applicantId":"\#(submission.reference)","type":"applicantReviewed","reviewResult":{"reviewAnswer":"RED","reviewRejectType":"FINAL","rejectLabels":["SANCTIONS","ADVERSE_MEDIA"]}}"#
            let redDigest = try await Self.opensslHMAC(red, key: fake.webhookSecret, digest: "sha512")
            let rejected = try await provider.outcome(
                of: Self.notification(red, ["X-Payload-Digest": redDigest, "X-Payload-Digest-Alg": "HMAC_SHA512_HEX"]))
            #expect(
                rejected?.decision == .rejected && rejected?.detail == "review RED (FINAL): SANCTIONS, ADVERSE_MEDIA")
            // The digest of one algorithm does not pass as another; an unknown algorithm is refused.
            for headers in [
                ["X-Payload-Digest": redDigest, "X-Payload-Digest-Alg": "HMAC_SHA256_HEX"],
                ["X-Payload-Digest": digest, "X-Payload-Digest-Alg": "MD5"],
                ["X-Payload-Digest-Alg": "HMAC_SHA256_HEX"],
            ] {
                let error = await #expect(throws: ServiceError.self) {
                    try await provider.outcome(of: Self.notification(red, headers))
                }
                #expect(error?.code == .unauthenticated)
            }
            let created = #"{"applicantId":"a","type":"applicantCreated"}"#
            #expect(
                try await provider.outcome(
                    of: Self.notification(created, ["X-Payload-Digest": fake.sumsubDigest(created)]))
                    == nil)
        }
    }

    @Test func jumioCallbacksArePromptsAndTheDecisionComesFromItsAPI() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            let provider = Self.settings(.jumio, fake, url, caFile).makeProvider()
            let submission = try await provider.submit(
                Self.account, notificationURL: "https://acme.example/api/webhooks/kyc")
            let execution = try #require(fake.recorded.withLock { $0.jumioExecutions[submission.reference] })
            #expect(execution.callbackURL == "https://acme.example/api/webhooks/kyc")
            #expect(execution.userReference == Self.account.id.uuidString.lowercased())

            let callback =
                #"{"callbackSentAt":"2026-12-05T10:00:00Z","workflowExecution":{"id":"\#(execution.execution)","status":"PROCESSED"},"account":{"id":"\#(execution.account)"}}"#
            // The callback claims PROCESSED, but Jumio's API says it is still running: nothing yet.
            #expect(try await provider.outcome(of: Self.notification(callback, [:])) == nil)
            fake.setJumio(execution: execution.execution, status: "PROCESSED", decision: "PASSED")
            #expect(try await provider.outcome(of: Self.notification(callback, [:]))?.decision == .approved)
            fake.setJumio(execution: execution.execution, status: "PROCESSED", decision: "REJECTED")
            #expect(try await provider.outcome(of: Self.notification(callback, [:]))?.decision == .rejected)
            fake.setJumio(execution: execution.execution, status: "PROCESSED", decision: "WARNING")
            #expect(try await provider.outcome(of: Self.notification(callback, [:]))?.decision == .review)

            // A forged callback for an execution Jumio does not know, or with another account.
            let forged = callback.replacingOccurrences(of: execution.account, with: UUID().uuidString.lowercased())
            let error = await #expect(throws: ServiceError.self) {
                try await provider.outcome(of: Self.notification(forged, [:]))
            }
            #expect(error?.code == .upstreamFailed && error?.message.contains("jumio answered 404") == true)
            // An identifier that would change the retrieval URL is refused before any request.
            let traversal = callback.replacingOccurrences(of: execution.account, with: "../../oauth2")
            let invalid = await #expect(throws: ServiceError.self) {
                try await provider.outcome(of: Self.notification(traversal, [:]))
            }
            #expect(invalid?.code == .invalidInput && invalid?.message.contains("account.id") == true)
        }
    }

    @Test func anOutageOrAnUnreachableProviderNamesItself() async throws {
        let fake = KYCProviderFake()
        try await TestHTTPSServer.with(fake.router) { url, caFile in
            fake.recorded.withLock { $0.failures = 1 }
            let error = await #expect(throws: ServiceError.self) {
                try await Self.settings(.onfido, fake, url, caFile).makeProvider().submit(
                    Self.account, notificationURL: "")
            }
            #expect(error?.code == .upstreamFailed)
            #expect(
                error?.message.contains("onfido answered 500 to POST /v3.6/applicants") == true,
                "\(String(describing: error))")
        }
        let closed = "https://127.0.0.1:\(try FreePort.tcp())"
        let error = await #expect(throws: ServiceError.self) {
            try await Self.settings(.sumsub, fake, closed, "/etc/ssl/certs/ca-certificates.crt").makeProvider().submit(
                Self.account, notificationURL: "")
        }
        #expect(error?.code == .upstreamFailed && error?.message.contains("sumsub could not be reached") == true)
    }
}
