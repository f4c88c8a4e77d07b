import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexTestSupport
import Testing

@testable import ScryptexACME

@Suite("Which domains need a certificate from the authority")
struct CertificateRenewalTests {
    @Test func aDomainNeedsACertificateWhenItHasNoneADevelopmentOneOrOneAboutToExpire() throws {
        let root = "/tmp/scryptex-acme-renewal-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let certificates = ACMECertificates(
            options: .init(
                directoryURL: nil, email: nil, trustedCertificatesFile: nil, renewDays: 30, checkInterval: .seconds(60),
                dataDirectory: root),
            logger: TestDatabase.logger)
        let folder = CertificateFolder(dataDirectory: root)
        try FileManager.default.createDirectory(atPath: folder.certificatesPath, withIntermediateDirectories: true)
        func install(_ domain: String, _ certificate: CertificateAndKey) throws {
            try CertificateFolder.write(certificate.privateKeyPEM, to: folder.keyPath(for: domain), mode: 0o600)
            try CertificateFolder.write(
                certificate.certificatePEM, to: folder.certificatePath(for: domain), mode: 0o644)
        }
        let authority = try CertificateFactory.makeAuthority(commonName: "Test Issuer", organization: "Test Issuer Inc")
        #expect(certificates.needsCertificate("none.example"))
        try folder.ensureDevelopmentCertificates(for: ["dev.example"])
        #expect(certificates.needsCertificate("dev.example"))
        try install(
            "fresh.example",
            try CertificateFactory.makeServerCertificate(domains: ["fresh.example"], signedBy: authority, validDays: 90)
        )
        #expect(!certificates.needsCertificate("fresh.example"))
        try install(
            "expiring.example",
            try CertificateFactory.makeServerCertificate(
                domains: ["expiring.example"], signedBy: authority, validDays: 20))
        #expect(certificates.needsCertificate("expiring.example"))
        // 32 days left is outside a 30-day window, 28 inside.
        #expect(!certificates.needsCertificate("fresh.example", now: Date().addingTimeInterval(58 * 86_400)))
        #expect(certificates.needsCertificate("fresh.example", now: Date().addingTimeInterval(62 * 86_400)))
        try install(
            "other.example",
            try CertificateFactory.makeServerCertificate(domains: ["another.example"], signedBy: authority))
        #expect(certificates.needsCertificate("other.example"))
        try FileManager.default.removeItem(atPath: folder.keyPath(for: "fresh.example"))
        #expect(certificates.needsCertificate("fresh.example"))

        // A usable wildcard for the parent covers a name without a certificate of its own; a
        // development wildcard does not.
        #expect(certificates.needsCertificate("acme.partners.example"))
        try install(
            "*.partners.example",
            try CertificateFactory.makeServerCertificate(domains: ["*.partners.example"], signedBy: authority))
        #expect(!certificates.needsCertificate("acme.partners.example"))
        #expect(certificates.needsCertificate("deep.acme.partners.example"))
        try folder.ensureDevelopmentCertificates(for: ["*.dev-partners.example"])
        #expect(certificates.needsCertificate("acme.dev-partners.example"))
    }

    @Test func ordersAreBudgetedPerHour() {
        var budget = OrderBudget(limit: 2, window: .seconds(3600))
        let start = ContinuousClock.now
        let taken = [0, 10, 20, 3599, 3600, 3605, 3610].map { budget.spend(at: start + .seconds($0)) }
        #expect(taken == [true, true, false, false, true, false, true])
    }
}
