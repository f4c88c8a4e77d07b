import Foundation
import ScryptexTestSupport
import Testing

/// The platform console as a platform admin uses it, with curl against a running host.
@Suite("Platform console", .serialized)
struct ConsoleTests {
    @Test(.timeLimit(.minutes(4)))
    func anAdminSignsInWithTheirKeyProvisionsSuspendsResumesAndSetsFlags() async throws {
        let host = try await PortalHost()
        do {
            let output = try await host.command(["admin-key", "create", "--name", "ops"])
            let key = try #require(output.split(separator: "\n").first { $0.hasPrefix("sxa_") }.map(String.init))
            let console = CurlSession(host: host, tenant: "")
            func url(_ path: String) -> String { "https://localhost:\(host.httpsPort)\(path)" }
            func get(_ path: String) async throws -> (status: Int, headers: String, body: String) {
                try await host.curl(["-b", console.jar, "-c", console.jar, url(path)])
            }
            func post(
                _ path: String, _ fields: [(String, String)]
            ) async throws -> (status: Int, headers: String, body: String) {
                try await host.curl(
                    ["-b", console.jar, "-c", console.jar] + fields.flatMap { ["--data-urlencode", "\($0.0)=\($0.1)"] }
                        + [url(path)])
            }
            // Without a session: to sign in. A tenant's key or a wrong key does not sign in.
            let anonymous = try await get("/console")
            #expect(anonymous.status == 303 && anonymous.headers.contains("Location: /console/sign-in"))
            let tenantKey = try await host.newAPIKey("acme", role: "owner")
            for wrong in [tenantKey, "sxa_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nonsense"] {
                let refused = try await post("/console/sign-in", [("key", wrong)])
                #expect(refused.status == 401 && refused.body.contains("not a usable platform-admin key"))
            }
            // The console is not on tenant domains.
            let onTenant = try await host.curl([host.url("acme", "/console/sign-in")])
            #expect(onTenant.status == 404)

            let signedIn = try await post("/console/sign-in", [("key", key)])
            #expect(signedIn.status == 303 && signedIn.headers.contains("__Host-scryptex_console="))
            let overview = try await get("/console")
            #expect(overview.status == 200)
            #expect(overview.body.contains("Acme Capital") && overview.body.contains("Zenith"))
            #expect(overview.body.contains("Database: reachable"))
            #expect(!overview.body.contains("<script"))
            let csrf = try #require(CurlSession.formToken(in: overview.body))

            // Forms without the session's token are refused.
            let forged = try await post("/console/tenants/acme/suspend", [("reason", "no token")])
            #expect(forged.status == 403)
            // The admin API's export is the same archive.
            let api = try await host.curl([
                "-H", "Authorization: Bearer \(key)", url("/admin/api/tenants/zenith/export"),
            ])
            #expect(api.status == 200 && api.headers.lowercased().contains("content-type: application/x-ndjson"))
            #expect(api.body.contains("zenith") && !api.body.contains("Acme Capital"))

            // Provisions a tenant; its first owner key works on its new domain.
            let created = try await post(
                "/console/tenants",
                [("csrf", csrf), ("slug", "nova"), ("displayName", "Nova Capital"), ("feature.institutional", "on")])
            #expect(created.status == 201, "\(created.body)")
            let owner = try #require(
                created.body.range(of: #"<p class="secret">"#).map {
                    String(created.body[$0.upperBound...].prefix { $0 != "<" })
                })
            var me = (status: 0, headers: "", body: "")
            for _ in 0..<50 {
                // Its certificate is the platform's default until one is issued for it: -k (TLS is
                // checked for the demo tenants' own certificates elsewhere).
                me = try await host.curl([
                    "-k", "-H", "Authorization: Bearer \(owner)", host.url("nova", "/api/enterprise/auth/me"),
                ])
                if me.status == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(me.status == 200 && me.body.contains(#""roles":["owner"]"#), "\(me.body)")
            let duplicate = try await post(
                "/console/tenants", [("csrf", csrf), ("slug", "nova"), ("displayName", "Nova again")])
            #expect(duplicate.status == 400 || duplicate.status == 409)

            // Suspends acme: its portal shows the branded suspension page; resumes it.
            let suspended = try await post("/console/tenants/acme/suspend", [("csrf", csrf)])
            #expect(suspended.status == 303)
            var page = (status: 0, headers: "", body: "")
            for _ in 0..<50 {
                page = try await host.curl(["-H", "Accept: text/html", host.url("acme", "/portal/sign-in")])
                if page.status == 503 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(page.status == 503 && page.body.contains("Acme Prime"), "\(page.status)")
            #expect(try await post("/console/tenants/acme/resume", [("csrf", csrf)]).status == 303)
            let detail = try await get("/console/tenants/acme")
            #expect(detail.body.contains("<dd>active</dd>"), "\(detail.body)")

            // Flags: only the ticked ones stay on.
            let flags = try await post(
                "/console/tenants/nova/features",
                [("csrf", csrf), ("feature.institutional", "on"), ("feature.compliance", "on")])
            #expect(flags.status == 303)
            let nova = try await get("/console/tenants/nova")
            #expect(nova.body.contains(#"name="feature.compliance" checked"#))
            #expect(!nova.body.contains(#"name="feature.quant" checked"#))

            // Signs out: the session is over, even for a browser that kept the cookie.
            let jar = try String(contentsOfFile: console.jar, encoding: .utf8)
            let session = try #require(
                jar.split(separator: "\n").first { $0.contains("__Host-scryptex_console") }?.split(separator: "\t").last
            )
            #expect(try await post("/console/sign-out", [("csrf", csrf)]).status == 303)
            let after = try await host.curl(["-b", "__Host-scryptex_console=\(session)", url("/console")])
            #expect(after.status == 303 && after.headers.contains("Location: /console/sign-in"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(4)))
    func anAdminSeesCertificatesAndRevenueAndDownloadsATenantsArchive() async throws {
        // An ACME authority nobody answers at: every attempt fails, and the console says so.
        let closed = try FreePort.tcp()
        let host = try await PortalHost(environment: [
            "ACME_DIRECTORY_URL": "https://127.0.0.1:\(closed)/directory", "ACME_CHECK_SECONDS": "1",
        ])
        do {
            let output = try await host.command(["admin-key", "create", "--name", "ops"])
            let key = try #require(output.split(separator: "\n").first { $0.hasPrefix("sxa_") }.map(String.init))
            let console = CurlSession(host: host, tenant: "")
            func url(_ path: String) -> String { "https://localhost:\(host.httpsPort)\(path)" }
            func get(_ path: String) async throws -> (status: Int, headers: String, body: String) {
                try await host.curl(["-b", console.jar, "-c", console.jar, url(path)])
            }
            #expect(
                try await host.curl([
                    "-b", console.jar, "-c", console.jar, "--data-urlencode", "key=\(key)", url("/console/sign-in"),
                ])
                .status == 303)

            // The platform's own certificate on the overview; Acme's domain on its page: the
            // development certificate, and the failed ACME attempts.
            var overview = (status: 0, headers: "", body: "")
            for _ in 0..<100 {
                overview = try await get("/console")
                if overview.body.contains("last ACME attempt failed") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(overview.body.contains("Platform certificate (localhost)"), "\(overview.body)")
            #expect(overview.body.contains("last ACME attempt failed: cannot connect to 127.0.0.1"))
            var detail = (status: 0, headers: "", body: "")
            for _ in 0..<100 {
                detail = try await get("/console/tenants/acme")
                if detail.body.contains("in a row)") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(detail.status == 200)
            #expect(detail.body.contains("<th scope=\"row\">acme.localhost</th>"), "\(detail.body)")
            #expect(detail.body.contains("development CA: not trusted by browsers"))
            #expect(detail.body.contains(" days"))
            #expect(detail.body.contains(#"<span class="error">failed ("#), "\(detail.body)")
            #expect(detail.body.contains("next try"))

            // The archive downloads through the console's form and imports as a new tenant.
            let token = try #require(CurlSession.formToken(in: detail.body))
            let archive = try await host.curl(
                [
                    "-b", console.jar, "-c", console.jar, "--data-urlencode", "csrf=\(token)",
                    url("/console/tenants/acme/export"),
                ])
            #expect(archive.status == 200)
            #expect(archive.headers.lowercased().contains("content-disposition: attachment; filename=\"acme-"))
            #expect(archive.headers.lowercased().contains("cache-control: no-store"))
            let lines = archive.body.split(separator: "\n")
            #expect(lines.count > 5)
            #expect(
                lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] },
                "every line is a JSON object")
            let file = host.root + "/console-export.jsonl"
            try archive.body.write(toFile: file, atomically: true, encoding: .utf8)
            let imported = try await host.command(["tenant", "import", "--slug", "acme_copy", file])
            #expect(imported.contains("imported tenant acme_copy"), "\(imported)")
            let forged = try await host.curl([
                "-b", console.jar, "-c", console.jar, "-d", "x=1", url("/console/tenants/acme/export"),
            ])
            #expect(forged.status == 403)
            // The admin API's export is the same archive.
            let api = try await host.curl([
                "-H", "Authorization: Bearer \(key)", url("/admin/api/tenants/zenith/export"),
            ])
            #expect(api.status == 200 && api.headers.lowercased().contains("content-type: application/x-ndjson"))
            #expect(api.body.contains("zenith") && !api.body.contains("Acme Capital"))

            // Revenue across partners: the ledger's figures for each white-label partner.
            let revenue = try await get("/console/revenue")
            #expect(revenue.status == 200 && revenue.body.contains("Revenue across partners"), "\(revenue.body)")
            let adminAnswer = try await host.curl([
                "-H", "Authorization: Bearer \(key)", url("/api/enterprise/white-label/all/revenue"),
            ])
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(adminAnswer.body.utf8)) as? [String: Any],
                "\(adminAnswer.body)")
            let partners = report["partners"] as? [[String: Any]] ?? []
            #expect(!partners.isEmpty, "the demo tenants are white-label partners: \(report)")
            for partner in partners {
                let slug = try #require(partner["slug"] as? String)
                let revenueFigure = try #require(partner["revenue"] as? String)
                #expect(
                    revenue.body.contains(
                        #"<a href="/console/tenants/\#(slug)">\#(slug)</a></th><td>\#(partner["currency"] as? String ?? "")</td><td>\#(revenueFigure)</td>"#
                    ), "\(slug)")
            }
            #expect(!revenue.body.contains("<script"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
