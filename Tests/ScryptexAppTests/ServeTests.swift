import Foundation
import Glibc
import ScryptexEmbeddedPostgres
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("scryptex serve as a process", .serialized)
struct ServeTests {
    /// Runs curl and returns its output, or records that it failed.
    static func curl(_ arguments: [String]) async throws -> String {
        let process = try ChildProcess("/usr/bin/curl", ["-s"] + arguments)
        let status = await process.waitForExit(timeout: .seconds(20))
        #expect(status == 0, "curl \(arguments) exited with \(String(describing: status))")
        return process.output
    }

    @Test(.timeLimit(.minutes(2)))
    func servesTenantsOverHTTPSAndStopsCleanlyOnSIGTERM() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpsPort = try FreePort.tcp()
        let httpPort = try FreePort.tcp()
        let metricsPort = try FreePort.tcp()
        // The project's demo tenants, from its tenants/ folder.
        let tenants = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tenants").path

        let host = try ChildProcess(
            executable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
                "HTTP_LISTEN": "127.0.0.1:\(httpPort)", "SCRYPTEX_EVENT_LOOPS": "2", "SCRYPTEX_TENANTS_DIR": tenants,
                "METRICS_LISTEN": "127.0.0.1:\(metricsPort)",
                "SCRYPTEX_TEMPLATES_DIR": tenants.replacingOccurrences(of: "/tenants", with: "/templates"),
            ]
        )
        let ready = await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60))
        #expect(ready, "the host never became ready:\n\(host.output)")
        let cluster = EmbeddedPostgres(options: .init(rootDirectory: root), logger: TestDatabase.logger)
        guard ready, case .running = cluster.status() else {
            Issue.record("the host or its embedded cluster is not running: \(cluster.status())")
            host.send(SIGKILL)
            return
        }

        // HTTPS with the development CA it created, readiness through the database.
        let ca = root + "/tls/ca.pem"
        #expect(try await Self.curl(["--cacert", ca, "https://localhost:\(httpsPort)/healthz"]) == #"{"status":"ok"}"#)
        #expect(
            try await Self.curl(["--cacert", ca, "https://localhost:\(httpsPort)/readyz"]).contains(
                #""status":"ready""#))

        // Each demo tenant answers on its own domain with its own branding; others get 404 or 421.
        for (domain, product) in [("acme.localhost", "Acme Prime"), ("zenith.localhost", "Zenith Markets")] {
            let branding = try await Self.curl([
                "--cacert", ca, "https://\(domain):\(httpsPort)/api/enterprise/branding",
            ])
            #expect(branding.contains("\"productName\":\"\(product)\""), "\(domain): \(branding)")
        }
        // The whole answer, as a partner's front end reads it (keys sorted, unset fields left out).
        let acmeBranding = try await Self.curl([
            "--cacert", ca, "https://acme.localhost:\(httpsPort)/api/enterprise/branding",
        ])
        #expect(
            acmeBranding
                == ##"{"colors":{"accent":"#F2A900","background":"#FFFFFF","primary":"#0B3D91"},"cssVariables":{"--font-family":"IBM Plex Sans, sans-serif","--radius":"4px"},"displayName":"Acme Capital","legalFooter":"Acme Capital Management LLC is a demonstration tenant of Scryptex Host.","productName":"Acme Prime","supportEmail":"prime-desk@acme.example","supportURL":"https://acme.example/support"}"##,
            "\(acmeBranding)")
        let platform = try await Self.curl([
            "-i", "--cacert", ca, "https://localhost:\(httpsPort)/api/enterprise/branding",
        ])
        #expect(platform.contains("404 Not Found"))
        #expect(!platform.contains("acme") && !platform.contains("zenith"))
        let misdirected = try await Self.curl([
            "-i", "--cacert", ca, "-H", "Host: zenith.localhost",
            "https://acme.localhost:\(httpsPort)/api/enterprise/branding",
        ])
        #expect(misdirected.contains("421 Misdirected Request"))
        // The server name and the Host header are compared in one normal form: capitals and a
        // final dot name the same tenant.
        let capitals = try await Self.curl([
            "--cacert", ca, "--connect-to", "::127.0.0.1:\(httpsPort)",
            "https://ACME.Localhost.:\(httpsPort)/api/enterprise/branding",
        ])
        #expect(capitals.contains("\"productName\":\"Acme Prime\""), "\(capitals)")

        // The host keeps two spare tenant schemas built; a tenant created meanwhile (here by the
        // CLI, another process) takes one, answers on its domain at once, and the host builds a
        // replacement.
        let database = try await PostgresConnection.connect(
            configuration: cluster.configuration, logger: TestDatabase.logger)
        func spareCount() async throws -> Int {
            try await database.query("SELECT count(*) AS n FROM platform.tenant_spare_schemas").first!.decode(
                "n", as: Int.self)
        }
        func waitForSpares(_ expected: Int) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if try await spareCount() == expected { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        #expect(try await waitForSpares(2), "the host did not build its spare schemas")
        let create = try ChildProcess(
            executable, ["tenant", "create", "nova", "--name", "Nova Capital"],
            environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info"])
        #expect(await create.waitForExit(timeout: .seconds(30)) == 0, "\(create.output)")
        #expect(create.output.contains(#""schema":"spare""#), "\(create.output)")
        // The host learns of it through NOTIFY (within a second).
        var novaBranding = ""
        let created = ContinuousClock.now
        while ContinuousClock.now - created < .seconds(5) {
            novaBranding = try await Self.curl(["-k", "https://nova.localhost:\(httpsPort)/api/enterprise/branding"])
            if novaBranding.contains(#""productName":"Nova Capital""#) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(novaBranding.contains(#""productName":"Nova Capital""#), "\(novaBranding)")
        #expect(try await waitForSpares(2), "the host did not replace the spare that was taken")
        await database.close()

        // An operator makes an owner key with the CLI; it works over HTTPS on that tenant's domain
        // only, and every other enterprise route wants a credential.
        let keyMaker = try ChildProcess(
            executable, ["apikey", "create", "--tenant", "acme", "--role", "owner"],
            environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "error"])
        #expect(await keyMaker.waitForExit(timeout: .seconds(30)) == 0, "\(keyMaker.output)")
        let key = try #require(keyMaker.output.split(separator: "\n").first { $0.hasPrefix("sxk_") })
        let me = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(key)",
            "https://acme.localhost:\(httpsPort)/api/enterprise/auth/me",
        ])
        #expect(me.contains(#""roles":["owner"]"#), "\(me)")
        let verify = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(key)",
            "https://acme.localhost:\(httpsPort)/api/enterprise/audit-trail/verify",
        ])
        #expect(verify.contains(#""recordsChecked""#) && !verify.contains("firstBrokenLink"), "\(verify)")
        let crossTenant = try await Self.curl([
            "-i", "--cacert", ca, "-H", "Authorization: Bearer \(key)",
            "https://zenith.localhost:\(httpsPort)/api/enterprise/auth/me",
        ])
        #expect(crossTenant.contains("401 Unauthorized"))
        let anonymous = try await Self.curl([
            "-i", "--cacert", ca, "https://acme.localhost:\(httpsPort)/api/enterprise/api-keys",
        ])
        #expect(anonymous.contains("401 Unauthorized") && anonymous.contains("WWW-Authenticate: Bearer"))
        #expect(!host.output.contains(String(key.split(separator: ".")[1])), "a key's secret reached the log")

        // The compliance engine end to end over HTTPS: an account, then a pre-trade check.
        let account = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "-d",
            #"{"accountName":"Acme Hedge Fund","accountType":"hedge_fund","legalName":"Acme Hedge Fund LLC","jurisdiction":"US","totalAUM":1000000000,"regulatoryIdentifiers":{"sec_number":"801-12345","cik":"0001234567"}}"#,
            "https://acme.localhost:\(httpsPort)/api/enterprise/accounts",
        ])
        let accountID = try #require(
            (try? JSONSerialization.jsonObject(with: Data(account.utf8)) as? [String: Any])?["id"] as? String,
            "\(account)")
        let check = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "-d",
            #"{"accountId":"\#(accountID)","symbol":"ETH/USDC","quantity":1000,"price":2500,"side":"buy"}"#,
            "https://acme.localhost:\(httpsPort)/api/enterprise/compliance/check-trade",
        ])
        #expect(check.contains(#""decision":"rejected""#) && check.contains("KYC is pending"), "\(check)")

        // Orders over HTTPS: KYC approved by a second person, then an order is checked, rests,
        // is filled, and the fill is booked as a trade.
        let officerMaker = try ChildProcess(
            executable, ["apikey", "create", "--tenant", "acme", "--role", "compliance_officer"],
            environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "error"])
        #expect(await officerMaker.waitForExit(timeout: .seconds(30)) == 0, "\(officerMaker.output)")
        let officerKey = try #require(officerMaker.output.split(separator: "\n").first { $0.hasPrefix("sxk_") })
        func acme(_ path: String, key: Substring, _ body: String? = nil) async throws -> [String: Any] {
            let text = try await Self.curl(
                ["--cacert", ca, "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json"]
                    + (body.map { ["-d", $0] } ?? []) + ["https://acme.localhost:\(httpsPort)/api/enterprise" + path])
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? ["raw": text]
        }
        _ = try await acme("/accounts/\(accountID)/kyc/submit", key: key, "")
        let approved = try await acme(
            "/accounts/\(accountID)/kyc/decision", key: officerKey, #"{"status":"approved","reason":"verified"}"#)
        #expect(approved["kycStatus"] as? String == "approved", "\(approved)")
        _ = try await acme("/compliance/reference-prices", key: key, #"{"symbol":"ETH/USDC","price":2500}"#)
        _ = try await acme("/compliance/fx-rates", key: key, #"{"currency":"USDC","usdPerUnit":1}"#)
        let order = try await acme(
            "/orders", key: key,
            #"{"accountId":"\#(accountID)","clientOrderId":"https-1","symbol":"ETH/USDC","side":"buy","quantity":10,"price":2500}"#
        )
        let placed = try #require(order["order"] as? [String: Any], "\(order)")
        #expect(placed["status"] as? String == "open", "\(order)")
        let orderID = try #require(placed["id"] as? String)
        let fill = try await acme("/orders/\(orderID)/fills", key: key, #"{"quantity":10,"price":2499.5}"#)
        #expect((fill["order"] as? [String: Any])?["status"] as? String == "filled", "\(fill)")
        #expect(fill["tradeId"] as? String != nil)
        let stored = try await acme("/orders/\(orderID)", key: key)
        #expect(stored["status"] as? String == "filled" && stored["filledQuantity"] as? String == "10", "\(stored)")

        // White-label end to end over HTTPS: a platform admin creates an instance, fee events flow
        // in, October closes; a certificate for the new domain made on disk is served without a
        // restart, and the partner reads its statement on its own domain.
        let adminMaker = try ChildProcess(
            executable, ["admin-key", "create", "--name", "ops"],
            environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "error"])
        #expect(await adminMaker.waitForExit(timeout: .seconds(30)) == 0, "\(adminMaker.output)")
        let adminKey = try #require(adminMaker.output.split(separator: "\n").first { $0.hasPrefix("sxa_") })
        func admin(_ path: String, _ body: String? = nil) async throws -> String {
            try await Self.curl(
                ["--cacert", ca, "-H", "Authorization: Bearer \(adminKey)", "-H", "Content-Type: application/json"]
                    + (body.map { ["-d", $0] } ?? []) + [
                        "https://localhost:\(httpsPort)/api/enterprise/white-label" + path
                    ])
        }
        let instance = try await admin(
            "/instances",
            #"{"slug":"orion","displayName":"Orion Capital","plan":"starter","branding":{"productName":"Orion Prime"}}"#
        )
        let ownerKey = try #require(
            (try? JSONSerialization.jsonObject(with: Data(instance.utf8)) as? [String: Any])?["ownerKey"] as? String,
            "\(instance)")
        _ = try await admin(
            "/orion/plans", #"{"effectiveFrom":"2026-10","plan":{"model":"flat","currency":"USD","percent":"20"}}"#)
        let ingested = try await admin(
            "/fee-events",
            #"{"events":[{"partner":"orion","idempotencyKey":"f-1","product":"trading_fees","amount":"150.00","currency":"USD","occurredAt":"2026-10-05T12:00:00Z"}]}"#
        )
        #expect(ingested.contains(#""recorded":1"#), "\(ingested)")
        #expect(try await admin("/periods/2026-10/close", "").contains(#""slug":"orion""#))
        // Issue 18: the new instance's domain gets a development certificate by itself (no ACME
        // here), so the partner's domain is served without `curl -k` and without a restart.
        var served = false
        let waitingSince = ContinuousClock.now
        while !served, ContinuousClock.now - waitingSince < .seconds(10) {
            let probe = try ChildProcess(
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "--cacert", ca, "https://orion.localhost:\(httpsPort)/healthz"])
            served = await probe.waitForExit(timeout: .seconds(10)) == 0
            if !served { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(served, "no certificate for the new domain was served within 10 s:\n\(host.output)")
        let statement = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(ownerKey)",
            "https://orion.localhost:\(httpsPort)/api/enterprise/white-label/orion/statements/2026-10",
        ])
        #expect(
            statement.contains(#""share":"30.00""#) && statement.contains(#""closingPayable":"30.00""#), "\(statement)")
        let page = try await Self.curl([
            "--cacert", ca, "-H", "Authorization: Bearer \(ownerKey)", "-H", "Accept: text/html",
            "https://orion.localhost:\(httpsPort)/api/enterprise/white-label/orion/statements/2026-10",
        ])
        #expect(page.contains("<title>Orion Prime revenue-share statement 2026-10</title>"), "\(page)")
        // A browser lays the statement out and prints it (the partner's "save as PDF").
        try page.write(toFile: root + "/statement.html", atomically: true, encoding: .utf8)
        try await HeadlessBrowser.printToPDF("file://\(root)/statement.html", output: root + "/statement.pdf")
        let pdf = try String(decoding: Data(contentsOf: URL(fileURLWithPath: root + "/statement.pdf")), as: UTF8.self)
        let pages =
            pdf.components(separatedBy: "/Type /Page").count - 1
            - (pdf.components(separatedBy: "/Type /Pages").count - 1)
        #expect(pdf.hasPrefix("%PDF-") && (1...3).contains(pages), "\(pages) pages")
        let everyone = try await admin("/all/revenue")
        #expect(everyone.contains(#""slug":"orion""#) && everyone.contains(#""partnerShare":"30.00""#), "\(everyone)")

        // Another process (the CLI) suspends a tenant; the running host answers 503 for it soon after
        // (milliseconds when idle; 10 s allowed for a loaded CI machine).
        let suspend = try ChildProcess(
            executable, ["tenant", "suspend", "acme"], environment: ["SCRYPTEX_DATA_DIR": root])
        #expect(await suspend.waitForExit(timeout: .seconds(30)) == 0, "\(suspend.output)")
        let suspendedAt = ContinuousClock.now
        var answer = ""
        while ContinuousClock.now - suspendedAt < .seconds(10) {
            answer = try await Self.curl([
                "-i", "--cacert", ca, "https://acme.localhost:\(httpsPort)/api/enterprise/branding",
            ])
            if answer.contains("503 Service Unavailable") { break }
        }
        #expect(answer.contains("503 Service Unavailable"), "the suspension did not reach the host within 10 s")
        // What a customer's browser shows: the partner's own unavailable page, and for a name
        // nobody serves, a page that names no partner.
        let suspendedPage = try await HeadlessBrowser.documentObjectModel(of: "https://acme.localhost:\(httpsPort)/")
        #expect(
            suspendedPage.contains("Acme Prime is temporarily unavailable")
                && suspendedPage.contains("mailto:prime-desk@acme.example"), "\(suspendedPage)")
        let nobody = try await HeadlessBrowser.documentObjectModel(of: "https://nobody.localhost:\(httpsPort)/")
        #expect(nobody.contains("Nothing is served at this address") && !nobody.contains("Acme"), "\(nobody)")
        #expect(cluster.status() != .stopped, "the CLI must not stop a cluster it did not start")

        // The plain HTTP port answers ACME HTTP-01 challenges from the webroot folder, nothing else.
        let challenges = root + "/acme/.well-known/acme-challenge"
        try FileManager.default.createDirectory(atPath: challenges, withIntermediateDirectories: true)
        try "token_AZ-09.thumbprint".write(toFile: challenges + "/token_AZ-09", atomically: true, encoding: .utf8)
        #expect(
            try await Self.curl(["http://acme.localhost:\(httpPort)/.well-known/acme-challenge/token_AZ-09"])
                == "token_AZ-09.thumbprint")
        for token in ["unknown", "..%2F..%2Fmaster.key", "a.b"] {
            let answer = try await Self.curl([
                "-i", "--path-as-is", "http://acme.localhost:\(httpPort)/.well-known/acme-challenge/\(token)",
            ])
            #expect(answer.contains("404 Not Found"), "\(token): \(answer)")
        }

        // The plain HTTP port redirects to HTTPS.
        let redirect = try await Self.curl(["-i", "http://localhost:\(httpPort)/healthz?a=1"])
        #expect(redirect.contains("308 Permanent Redirect"))
        #expect(redirect.contains("Location: https://localhost:\(httpsPort)/healthz?a=1"))

        // Metrics for Prometheus, in its text format, counting what happened above.
        let exposition = try await Self.curl(["http://127.0.0.1:\(metricsPort)/metrics"])
        let samples = try PrometheusSamples(parsing: exposition)
        #expect(samples.value("scryptex_http_responses_total", ["listener": "https", "class": "2xx"]) ?? 0 >= 10)
        #expect(samples.value("scryptex_http_responses_total", ["listener": "https", "class": "4xx"]) ?? 0 >= 2)
        #expect(samples.value("scryptex_http_responses_total", ["listener": "http", "class": "3xx"]) ?? 0 >= 1)
        #expect(samples.value("scryptex_tls_handshakes_total", ["listener": "https", "kind": "full"]) ?? 0 >= 10)
        let answered = samples.value("scryptex_http_response_seconds_count", ["listener": "https"]) ?? 0
        #expect(answered >= 10)
        #expect(
            samples.value("scryptex_http_response_seconds_bucket", ["listener": "https", "le": "+Inf"]) == answered)
        #expect(samples.value("scryptex_tenants", ["status": "suspended"]) == 1)
        #expect(samples.value("scryptex_tenants", ["status": "active"]) ?? 0 >= 2)
        #expect(samples.value("scryptex_database_connections", ["cluster": "primary", "state": "idle"]) ?? 0 >= 1)
        #expect(samples.value("scryptex_tls_certificates", [:]) ?? 0 >= 3)
        let expiry = samples.first("scryptex_tls_certificate_earliest_expiry_timestamp_seconds")?.value ?? 0
        #expect(expiry > Date().timeIntervalSince1970 + 86_400 * 300)  // development certificates: 397 days
        // Per tenant (the acme requests above), the pool's waits and round trips, the job kinds.
        #expect(samples.value("scryptex_tenant_requests_total", ["tenant": "acme", "class": "2xx"]) ?? 0 >= 1)
        #expect(samples.value("scryptex_tenant_request_seconds_count", ["tenant": "acme"]) ?? 0 >= 1)
        #expect(samples.value("scryptex_database_acquire_seconds_count", ["cluster": "primary"]) ?? 0 >= 1)
        #expect(samples.value("scryptex_database_statement_seconds_count", ["cluster": "primary"]) ?? 0 >= 1)
        #expect(exposition.contains("# TYPE scryptex_job_duration_seconds histogram"))
        // Prometheus' own checker accepts the exposition.
        let file = root + "/metrics.txt"
        try exposition.write(toFile: file, atomically: true, encoding: .utf8)
        let checker = try ChildProcess("/bin/sh", ["-c", "/usr/bin/promtool check metrics < '\(file)'"])
        #expect(await checker.waitForExit(timeout: .seconds(30)) == 0, "promtool: \(checker.output)")
        // Every metric the shipped Grafana dashboard plots is one the host exposes.
        let dashboard = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("docs/grafana/scryptex-host.json"), encoding: .utf8)
        let plotted = Set(
            dashboard.matches(of: /scryptex_[a-z_]+/).map { String($0.output) }.map {
                $0.hasSuffix("_bucket") ? String($0.dropLast(7)) : $0
            })
        #expect(plotted.count >= 8)
        for name in plotted {
            #expect(exposition.contains("# TYPE \(name) "), "the dashboard plots \(name), which /metrics does not have")
        }
        #expect(samples.value("process_resident_memory_bytes", [:]) ?? 0 > 1_000_000)
        #expect(samples.value("process_open_fds", [:]) ?? 0 > 5)
        #expect(
            try await Self.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(metricsPort)/"])
                == "404")

        // Every log line is a JSON object.
        for line in host.output.split(separator: "\n") {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil, "not a JSON log line: \(line)")
        }

        host.send(SIGTERM)
        let status = await host.waitForExit(timeout: .seconds(30))
        #expect(status == 0)
        #expect(host.output.contains("\"signal\":\"SIGTERM\""))
        #expect(host.output.contains("embedded PostgreSQL stopped"))
        #expect(cluster.status() == .stopped)
    }

    @Test func badConfigurationStopsStartUp() async throws {
        let host = try ChildProcess(
            ChildProcess.scryptexExecutable, ["serve"], environment: ["HTTPS_LISTEN": "everywhere"])
        #expect(await host.waitForExit(timeout: .seconds(20)) == 1)
        #expect(host.output.contains("HTTPS_LISTEN='everywhere' is not valid"))
    }

    @Test func aMalformedTenantFileStopsStartUpNamingFileAndField() async throws {
        let root = "/tmp/scryptex-serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let tenants = root + "/tenants"
        try FileManager.default.createDirectory(atPath: tenants, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #"{"slug":"broken","displayName":"Broken","branding":{"productName":"B","colors":{"primary":"red"}}}"#
            .write(toFile: tenants + "/broken.json", atomically: true, encoding: .utf8)
        let httpsPort = try FreePort.tcp()
        let host = try ChildProcess(
            ChildProcess.scryptexExecutable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root + "/data", "SCRYPTEX_TENANTS_DIR": tenants,
                "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
                "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
            ]
        )
        #expect(await host.waitForExit(timeout: .seconds(60)) == 1)
        #expect(
            host.output.contains("broken.json: field 'branding.colors.primary': 'red' is not a colour like #0B3D91"))
    }

    @Test func aFailedStartUndoesWhatItOpenedInReverse() async throws {
        let root = "/tmp/scryptex-serve-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // The redirect port is the HTTPS port: the second listener cannot start.
        let port = try FreePort.tcp()
        let host = try ChildProcess(
            ChildProcess.scryptexExecutable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root + "/data", "SCRYPTEX_TENANTS_DIR": root + "/no-tenants",
                "HTTPS_LISTEN": "127.0.0.1:\(port)", "HTTP_LISTEN": "127.0.0.1:\(port)",
            ]
        )
        #expect(await host.waitForExit(timeout: .seconds(60)) == 1)
        #expect(host.output.contains("\(port)"), "\(host.output)")
        #expect(!host.output.contains("scryptex host ready"))
        // The cluster it started is stopped again.
        #expect(host.output.contains("embedded PostgreSQL stopped"), "\(host.output)")
        let cluster = EmbeddedPostgres(options: .init(rootDirectory: root + "/data"), logger: TestDatabase.logger)
        #expect(cluster.status() == .stopped)
    }
}
