import Foundation
import Glibc
import ScryptexBI
import ScryptexTestSupport
import Testing

/// A `scryptex serve` of its own — its data folder and ports, the project's demo tenants — and
/// the project's walk-through scripts run against it with curl.
struct WalkthroughHost {
    static let executable = ChildProcess.scryptexExecutable
    static let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    let root = "/tmp/scryptex-walkthrough-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let httpsPort: Int
    let environment: [String: String]

    /// - Parameter settings: More of the host's environment.
    init(settings: [String: String] = [:]) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.executable), "no scryptex binary at \(Self.executable)")
        httpsPort = try FreePort.tcp()
        environment = [
            "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
            "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())", "METRICS_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
            "SCRYPTEX_TENANTS_DIR": Self.project + "/tenants", "SCRYPTEX_TEMPLATES_DIR": Self.project + "/templates",
        ].merging(settings) { _, given in given }
    }

    /// The host, once ready; nil, with the issue recorded, when it never gets there.
    func start() async throws -> ChildProcess? {
        let host = try ChildProcess(Self.executable, ["serve"], environment: environment)
        guard await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60)) else {
            host.send(SIGKILL)
            Issue.record("the host never became ready:\n\(host.output)")
            return nil
        }
        return host
    }

    /// Runs `scripts/<script>` against the host; its exit status and output.
    func run(
        _ script: String, _ arguments: [String] = [], settings: [String: String] = [:],
        timeout: Duration = .seconds(400)
    ) async throws -> (status: Int32?, output: String) {
        let process = try ChildProcess(
            "/bin/bash", [Self.project + "/scripts/" + script] + arguments,
            environment: [
                "SCRYPTEX_DATA_DIR": root, "HTTPS_PORT": String(httpsPort), "SCRYPTEX": Self.executable,
                "MARKET_DATA": SharedData.path("market"), "LOG_LEVEL": "error",
            ].merging(settings) { _, given in given })
        let status = await process.waitForExit(timeout: timeout)
        return (status, process.output)
    }

    func stop(_ host: ChildProcess) async {
        host.send(SIGTERM)
        #expect(await host.waitForExit(timeout: .seconds(60)) == 0)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// The issues' "done when", as a partner would do it: the walk-through scripts (curl over
/// HTTPS) against `scryptex serve` on its embedded cluster with the demo tenants.
@Suite("The walk-throughs against a running host", .serialized)
struct QuantWalkthroughTests {
    /// Issue 19: market data, the seed strategy, a backtest, a search, portfolios, risk and
    /// attribution.
    @Test(.timeLimit(.minutes(5)))
    func theWalkthroughRunsOverHTTPS() async throws {
        let served = try WalkthroughHost()
        defer { served.remove() }
        guard let host = try await served.start() else { return }
        let (status, output) = try await served.run("quant-walkthrough", timeout: .seconds(240))
        #expect(status == 0, "the walk-through failed:\n\(output)")
        for expected in [
            "ETH-USD: 1826 bars, 2018-04-18T00:00:00Z to 2023-04-17T00:00:00Z",
            "BTC-USD: 1826 bars, 2018-04-18T00:00:00Z to 2023-04-17T00:00:00Z",
            // The seed strategy's default backtest: all the cash in whole units at the next open.
            "final equity 774781.01093", "trades 30", "a signal computed on bar t's close fills at bar t+1's open",
            "of 9 evaluated", "max_sharpe: weights", "hrp: weights", "beta ", "by asset, 2022",
            "\"Mean Reversion ETH\": {\"allocation\"", "ETH on BTC: beta", "== done ==",
        ] {
            #expect(output.contains(expected), "missing '\(expected)' in:\n\(output)")
        }
        await served.stop(host)
    }

    /// Issue 20: the four model kinds trained on the real ETH data over HTTPS, their
    /// predictions taken, the host restarted, the same predictions again.
    @Test(.timeLimit(.minutes(10)))
    func theMLWalkthroughSurvivesARestart() async throws {
        let served = try WalkthroughHost()
        defer { served.remove() }
        let state = served.root + "-predictions"
        defer { try? FileManager.default.removeItem(atPath: state) }
        for step in ["train", "verify"] {
            guard let host = try await served.start() else { return }
            // A lighter forest and LSTM than the script's defaults: the suite shares two cores
            // with tests that time things.
            let (status, output) = try await served.run(
                "ml-walkthrough", [step, state], settings: ["TREES": "40", "EPOCHS": "4"])
            #expect(status == 0, "the \(step) step failed:\n\(output)")
            if step == "train" {
                for expected in [
                    "ETH-USD: 1826 bars", "random_forest: accuracy", "svm: accuracy 0.5151515151515151",
                    "lstm: accuracy", "ensemble: accuracy", "vs majority-class baseline", "trained on cpu",
                    "model: model 'svm' (svm, version 1); it learnt from bars up to", "== trained ==",
                ] {
                    #expect(output.contains(expected), "missing '\(expected)' in:\n\(output)")
                }
            } else {
                #expect(output.contains("== verified =="), "\(output)")
                #expect(!output.contains("DIFFERENT"))
            }
            await served.stop(host)
        }
    }

    /// Issue 21 so far: a strategy run over HTTPS with ticks and fills, quotes that move with
    /// volatility and inventory, a side-by-side replay and a sweep on the real hourly file.
    @Test(.timeLimit(.minutes(10)))
    func theMarketMakingWalkthroughRunsOverHTTPS() async throws {
        let served = try WalkthroughHost()
        defer { served.remove() }
        guard let host = try await served.start() else { return }
        let (status, output) = try await served.run("market-making-walkthrough")
        #expect(status == 0, "the walk-through failed:\n\(output)")
        for expected in [
            "ETH-USDT: 27096 bars", "calm:", "jumpy (wider spread):", "duplicate: True; position 3",
            "bid size × e^(−η·q)", "ETH A-S      avellaneda_stoikov bars 27096",
            "ETH ladder   ladder             bars 27096",
            "6 parameter sets, best first:", "== done ==",
        ] {
            #expect(output.contains(expected), "missing '\(expected)' in:\n\(output)")
        }
        // The jumpy minute's spread is wider than the calm one's.
        let spreads = output.split(separator: "\n").filter { $0.hasPrefix("mid ") }.compactMap { line -> Double? in
            guard let range = line.range(of: "spread ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0 != " " })
        }
        #expect(spreads.count == 3 && spreads[1] > spreads[0], "\(spreads)")
        await served.stop(host)
    }

    /// Issue 22: a dashboard, a scheduled report with a webhook, its four files — and the
    /// webhook received, signed with the secret the report was given (after one refusal).
    @Test(.timeLimit(.minutes(5)))
    func theBusinessIntelligenceWalkthroughRunsOverHTTPS() async throws {
        let receiver = BIRoutesTests.Receiver()
        try await TestHTTPSServer.with(receiver.router) { url, caFile in
            let served = try WalkthroughHost(settings: [
                "BI_WEBHOOK_CA_FILE": caFile, "BI_WEBHOOK_PRIVATE_ADDRESSES": "allow",
            ])
            defer { served.remove() }
            guard let host = try await served.start() else { return }
            let (status, output) = try await served.run(
                "bi-walkthrough", settings: ["WEBHOOK_URL": url + "/hooks/reports"])
            #expect(status == 0, "the walk-through failed:\n\(output)")
            for expected in [
                "realised today 2000 USD, unrealised 7500 USD, net 9500 USD", "compliance score 100",
                "csv: 3 rows under day,instrument,pnl,volume,trades", "html: 4 charts, script: False",
                "first line: Acme Prime", "== done ==",
            ] {
                #expect(output.contains(expected), "missing '\(expected)' in:\n\(output)")
            }
            let secret = try #require(
                output.split(separator: "\n").first { $0.hasPrefix("webhook secret: ") }.map {
                    String($0.dropFirst("webhook secret: ".count))
                })
            // The first delivery is refused (500); the retry, 2 s later, is taken.
            for _ in 0..<120 where receiver.deliveries.withLock({ $0.count }) < 2 {
                try await Task.sleep(for: .milliseconds(250))
            }
            let seen = receiver.deliveries.withLock { $0 }
            #expect(seen.count == 2, "\(seen.count) deliveries")
            for delivery in seen {
                #expect(
                    WebhookSignature.verify(
                        delivery.signature, secret: secret, body: delivery.body,
                        now: Int(Date().timeIntervalSince1970)))
            }
            await served.stop(host)
        }
    }
}
