import Foundation
import ScryptexTestSupport
import Testing

/// The partner portal used the way a partner's people use it: Chromium, driven through
/// WebDriver, against `scryptex serve` with the demo tenants.
@Suite("The partner portal in a real browser", .serialized)
struct PortalBrowserTests {
    @Test(.timeLimit(.minutes(5)))
    func anOwnerSignsInWithAnAuthenticatorOpensAnAccountChecksATradeGetsAReportAndSignsOut() async throws {
        let host = try await PortalHost()
        let browser = try await WebDriver()
        defer { browser.quit() }
        do {
            try await walkThrough(host: host, browser: browser)
        } catch {
            Issue.record(
                "\(error)\n--- page ---\n\((try? browser.text) ?? "")\n--- host ---\n\(host.process.output.suffix(3000))"
            )
        }
        await host.stop()
    }

    func walkThrough(host: PortalHost, browser: WebDriver) async throws {
        let password = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
        #expect(password.count == 20)
        // Reference data the check needs, set through the API by an integration.
        let key = try await host.newAPIKey("acme", role: "owner")
        for (path, body) in [
            ("/api/enterprise/compliance/instruments", #"{"symbol":"BTC/USD","priceDecimals":2,"quantityDecimals":8}"#),
            ("/api/enterprise/compliance/reference-prices", #"{"symbol":"BTC/USD","price":"64000"}"#),
        ] {
            let answer = try await host.curl([
                "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "-d", body,
                host.url("acme", path),
            ])
            #expect((200..<300).contains(answer.status), "\(path): \(answer.body)")
        }

        // The domain's root leads to the sign-in page, in Acme's branding.
        try browser.open(host.url("acme", "/"))
        #expect(try browser.currentURL.hasSuffix("/portal/sign-in"))
        #expect(try browser.title == "Sign in · Acme Prime")
        try browser.type("ada@acme.example", into: "#email")
        try browser.type(password, into: "#password")
        try await browser.follow("form.stacked button[type=submit]")
        #expect(try browser.currentURL.hasSuffix("/portal"))
        #expect(try browser.text.contains("Assets under management"))

        // Adds an authenticator: the secret is on the page; the code comes from an independent
        // RFC 6238 implementation; the recovery codes are shown once.
        try await browser.follow("nav a[href=\"/portal/security\"]")
        try await browser.follow("form.stacked button[type=submit]")
        let secret = try browser.text(of: try browser.element("#secret"))
        #expect(secret.count >= 32, "\(secret)")
        try browser.type(try await IndependentTOTP.code(secret: secret), into: "#confirm-code")
        try await browser.follow("form.stacked button[type=submit]")
        #expect(try browser.text.contains("Your authenticator is on"))
        #expect(try browser.elements(".secret li").count == 10)

        // Signs out; signing in again wants the code.
        try await browser.follow("header form button")
        #expect(try await browser.waitForURL { $0.hasSuffix("/portal/sign-in") })
        try browser.type("ada@acme.example", into: "#email")
        try browser.type(password, into: "#password")
        try await browser.follow("form.stacked button[type=submit]")
        #expect(try browser.text.contains("is not right"), "a password alone is no longer enough")
        try browser.type(password, into: "#password")
        try browser.type(try await IndependentTOTP.code(secret: secret, offsetSteps: 1), into: "#code")
        try await browser.follow("form.stacked button[type=submit]")
        let afterCode = try browser.text
        #expect(try browser.currentURL.hasSuffix("/portal"), "\(afterCode)")

        // Opens an account.
        try await browser.follow("nav a[href=\"/portal/accounts\"]")
        try browser.type("Acme Macro Fund", into: "#accountName")
        try browser.choose("hedge_fund", in: "#accountType")
        try browser.type("Acme Macro Fund LP", into: "#legalName")
        try browser.type("US", into: "#jurisdiction")
        try browser.type("250000000", into: "#totalAUM")
        try await browser.follow("form.stacked button[type=submit]")
        #expect(try browser.title == "Acme Macro Fund · Acme Prime")
        let accountPath = try browser.currentURL.replacingOccurrences(of: host.url("acme", ""), with: "")
        #expect(accountPath.hasPrefix("/portal/accounts/"))

        // Runs a pre-trade check on it.
        try await browser.follow("nav a[href=\"/portal/checks\"]")
        try browser.type("BTC/USD", into: "#symbol")
        try browser.type("2", into: "#quantity")
        try browser.type("64000", into: "#price")
        try await browser.follow("form.stacked button[type=submit]")
        let decision = try browser.text(of: try browser.element("#decision"))
        #expect(decision.hasPrefix("Decision: "), "\(decision)")
        let checked = try browser.text
        #expect(checked.contains("Notional 128000"), "\(checked)")

        // Asks for a report; the page follows the job until it completes, then offers the file.
        try browser.open(host.url("acme", accountPath))
        try browser.choose("cftc_large_trader", in: "#type")
        try browser.type("2026-12-03", into: "#period")
        try await browser.follow("form[action$=\"/reports\"] button")
        var link: String?
        for _ in 0..<60 where link == nil {
            try await Task.sleep(for: .milliseconds(500))
            try browser.open(host.url("acme", accountPath))
            link = try? browser.attribute("href", of: "a[href$=\"format=csv\"]")
        }
        let reportsPage = try browser.text
        let download = try #require(link, "the report never completed: \(reportsPage)")
        // The download, with the browser's own session cookie.
        let cookies = try browser.cookies()
        let session = try #require(cookies["__Host-scryptex_session"])
        let file = try await host.curl(["-b", "__Host-scryptex_session=\(session)", host.url("acme", download)])
        #expect(file.status == 200)
        #expect(file.body.hasPrefix("as_of,symbol,side,quantity,price,value,sources"), "\(file.body)")

        // A form posted without its token is refused.
        try await browser.follow("nav a[href=\"/portal/accounts\"]")
        try browser.execute(#"document.querySelector('form[action="/portal/accounts"] input[name=csrf]').remove()"#)
        try browser.type("Forged", into: "#accountName")
        try browser.type("Forged LP", into: "#legalName")
        try await browser.follow("form[action=\"/portal/accounts\"] button")
        let refused = try browser.text
        #expect(refused.contains("security token is missing"), "\(refused)")
        try browser.open(host.url("acme", "/portal/accounts"))
        #expect(try !browser.text.contains("Forged"))

        // Signs out: the session is over, pages lead back to sign-in.
        try await browser.follow("header form button")
        #expect(try await browser.waitForURL { $0.hasSuffix("/portal/sign-in") })
        try browser.open(host.url("acme", "/portal/accounts"))
        #expect(try browser.currentURL.contains("/portal/sign-in"))
        let stale = try await host.curl(["-b", "__Host-scryptex_session=\(session)", host.url("acme", "/portal")])
        #expect(stale.status == 303 && stale.headers.contains("/portal/sign-in?expired=1"))
    }

    @Test(.timeLimit(.minutes(3)))
    func twoTenantsLookTheirOwnAndBothReadWell() async throws {
        let host = try await PortalHost()
        let browser = try await WebDriver()
        defer { browser.quit() }
        var shots: [String: Data] = [:]
        for (tenant, product) in [("acme", "Acme Prime"), ("zenith", "Zenith Markets")] {
            try browser.open(host.url(tenant, "/portal/sign-in"))
            #expect(try browser.title == "Sign in · \(product)")
            shots[tenant] = try browser.screenshot()
            // The colours the browser computed for each text and its surface.
            for (text, surface) in [
                ("header.site .product", "header.site"), ("main h1", "body"),
                ("form.stacked button", "form.stacked button"),
                ("footer.site a", "body"),
            ] {
                let foreground = try #require(Self.rgb(try browser.cssValue("color", of: text)))
                let background = try #require(Self.rgb(try browser.cssValue("background-color", of: surface)))
                let ratio = Self.contrast(foreground, background)
                #expect(ratio >= 4.5, "\(tenant): \(text) on \(surface) has \(ratio):1")
            }
        }
        let acme = try #require(shots["acme"])
        let zenith = try #require(shots["zenith"])
        #expect(acme.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG")
        #expect(acme != zenith, "the two tenants' pages look the same")
        let folder = NSTemporaryDirectory() + "scryptex-portal-screenshots"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try acme.write(to: URL(fileURLWithPath: folder + "/acme-sign-in.png"))
        try zenith.write(to: URL(fileURLWithPath: folder + "/zenith-sign-in.png"))
        await host.stop()
    }

    @Test(.timeLimit(.minutes(4)))
    func aPlatformAdminProvisionsSuspendsAndResumesATenantOnTheConsole() async throws {
        let host = try await PortalHost()
        let browser = try await WebDriver()
        defer { browser.quit() }
        do {
            let output = try await host.command(["admin-key", "create", "--name", "console-browser"])
            let key = try #require(output.split(separator: "\n").first { $0.hasPrefix("sxa_") }.map(String.init))
            let console = "https://localhost:\(host.httpsPort)/console"
            try browser.open(console)
            #expect(try browser.currentURL.hasSuffix("/console/sign-in"))
            try browser.type(key, into: "#key")
            try await browser.follow("form.stacked button[type=submit]")
            let overview = try browser.currentURL
            #expect(overview.hasSuffix("/console"), "\(overview)")
            #expect(try browser.text.contains("Acme Capital"))
            // The session cookie is the console's, host-only; the key is not kept anywhere.
            #expect(try browser.cookies().keys.contains("__Host-scryptex_console"))
            #expect(!(try browser.cookies().values.contains { $0.contains(key) }))

            // Provisions a tenant with the form: its first owner key is shown once.
            try browser.type("orion", into: "#slug")
            try browser.type("Orion Partners", into: "#displayName")
            try await browser.follow("form[action=\"/console/tenants\"] button[type=submit]")
            let created = try browser.text
            #expect(created.contains("orion is provisioned"), "\(created.prefix(600))")
            let ownerKey = try browser.text(of: try browser.element("p.secret"))
            #expect(ownerKey.hasPrefix("sxk_") && ownerKey.contains("."), "\(ownerKey)")

            // The tenant's page: domains with their certificate state; suspended, then resumed.
            try browser.open(console + "/tenants/orion")
            #expect(try browser.text.contains("orion.localhost"))
            #expect(try browser.text.contains("Domains and certificates"))
            try await browser.follow("form[action=\"/console/tenants/orion/suspend\"] button")
            #expect(try browser.elements("form[action=\"/console/tenants/orion/resume\"]").count == 1)
            #expect(try browser.elements("form[action=\"/console/tenants/orion/suspend\"]").isEmpty)
            var suspended = (status: 0, headers: "", body: "")
            for _ in 0..<50 {
                suspended = try await host.curl(["-k", "-H", "Accept: text/html", host.url("orion", "/portal/sign-in")])
                if suspended.status == 503 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(suspended.status == 503)
            try await browser.follow("form[action=\"/console/tenants/orion/resume\"] button")
            #expect(try browser.elements("form[action=\"/console/tenants/orion/suspend\"]").count == 1)

            // Revenue across partners, from the menu; then signing out ends the session.
            try await browser.follow("nav a[href=\"/console/revenue\"]")
            #expect(try browser.title == "Revenue across partners · Scryptex platform")
            try await browser.follow("header form button[type=submit]")
            #expect(try browser.currentURL.hasSuffix("/console/sign-in"))
            try browser.open(console)
            #expect(try browser.currentURL.hasSuffix("/console/sign-in"))
        } catch {
            Issue.record(
                "\(error)\n--- page ---\n\((try? browser.text) ?? "")\n--- host ---\n\(host.process.output.suffix(3000))"
            )
        }
        await host.stop()
    }

    /// `rgb(1, 2, 3)` or `rgba(1, 2, 3, 1)`, opaque only.
    static func rgb(_ css: String) -> (Double, Double, Double)? {
        let numbers = css.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }.split(separator: ",").map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard numbers.count >= 3, let red = numbers[0], let green = numbers[1], let blue = numbers[2] else {
            return nil
        }
        if numbers.count == 4, numbers[3] != 1 { return nil }
        return (red, green, blue)
    }

    /// WCAG 2.1's contrast ratio, written out here independently of the host's.
    static func contrast(_ first: (Double, Double, Double), _ second: (Double, Double, Double)) -> Double {
        func luminance(_ color: (Double, Double, Double)) -> Double {
            func linear(_ channel: Double) -> Double {
                let value = channel / 255
                return value <= 0.03928 ? value / 12.92 : pow((value + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * linear(color.0) + 0.7152 * linear(color.1) + 0.0722 * linear(color.2)
        }
        let (a, b) = (luminance(first), luminance(second))
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)
    }
}
