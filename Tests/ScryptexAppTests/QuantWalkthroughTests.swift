import Foundation
import Glibc
import ScryptexTestSupport
import Testing

/// Issue 19's "done when", as a partner would do it: `scripts/quant-walkthrough` (curl over
/// HTTPS) against `scryptex serve` on its embedded cluster with the demo tenants.
@Suite("The quant walk-through against a running host", .serialized)
struct QuantWalkthroughTests {
    @Test(.timeLimit(.minutes(5)))
    func theWalkthroughRunsOverHTTPS() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let root = "/tmp/scryptex-walkthrough-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpsPort = try FreePort.tcp()
        let host = try ChildProcess(
            executable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
                "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())", "METRICS_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
                "SCRYPTEX_TENANTS_DIR": project + "/tenants", "SCRYPTEX_TEMPLATES_DIR": project + "/templates",
            ])
        let ready = await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60))
        guard ready else {
            host.send(SIGKILL)
            Issue.record("the host never became ready:\n\(host.output)")
            return
        }
        let walkthrough = try ChildProcess(
            "/bin/bash", [project + "/scripts/quant-walkthrough"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "HTTPS_PORT": String(httpsPort), "SCRYPTEX": executable,
                "MARKET_DATA": SharedData.path("market"), "LOG_LEVEL": "error",
            ])
        let status = await walkthrough.waitForExit(timeout: .seconds(240))
        let output = walkthrough.output
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
        host.send(SIGTERM)
        #expect(await host.waitForExit(timeout: .seconds(30)) == 0)
    }

    /// Issue 20's "done when": the four model kinds trained on the real ETH data over HTTPS,
    /// their predictions taken, the host restarted, the same predictions again.
    @Test(.timeLimit(.minutes(10)))
    func theMLWalkthroughSurvivesARestart() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let root = "/tmp/scryptex-ml-walkthrough-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpsPort = try FreePort.tcp()
        let environment = [
            "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
            "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())", "METRICS_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
            "SCRYPTEX_TENANTS_DIR": project + "/tenants", "SCRYPTEX_TEMPLATES_DIR": project + "/templates",
        ]
        // A lighter forest and LSTM than the script's defaults: the suite shares two cores with
        // tests that time things.
        let script = [
            "SCRYPTEX_DATA_DIR": root, "HTTPS_PORT": String(httpsPort), "SCRYPTEX": executable,
            "MARKET_DATA": SharedData.path("market"), "LOG_LEVEL": "error", "TREES": "40", "EPOCHS": "4",
        ]
        let state = root + "-predictions"
        defer { try? FileManager.default.removeItem(atPath: state) }
        for step in ["train", "verify"] {
            let host = try ChildProcess(executable, ["serve"], environment: environment)
            guard await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60)) else {
                host.send(SIGKILL)
                Issue.record("the host never became ready:\n\(host.output)")
                return
            }
            let walkthrough = try ChildProcess(
                "/bin/bash", [project + "/scripts/ml-walkthrough", step, state], environment: script)
            let status = await walkthrough.waitForExit(timeout: .seconds(400))
            #expect(status == 0, "the \(step) step failed:\n\(walkthrough.output)")
            if step == "train" {
                for expected in [
                    "ETH-USD: 1826 bars", "random_forest: accuracy", "svm: accuracy 0.5151515151515151",
                    "lstm: accuracy", "ensemble: accuracy", "vs majority-class baseline", "trained on cpu",
                    "model: model 'svm' (svm, version 1); it learnt from bars up to", "== trained ==",
                ] {
                    #expect(walkthrough.output.contains(expected), "missing '\(expected)' in:\n\(walkthrough.output)")
                }
            } else {
                #expect(walkthrough.output.contains("== verified =="), "\(walkthrough.output)")
                #expect(!walkthrough.output.contains("DIFFERENT"))
            }
            host.send(SIGTERM)
            #expect(await host.waitForExit(timeout: .seconds(60)) == 0)
        }
    }

    /// Issue 21's "done when" so far: a strategy run over HTTPS with ticks and fills, quotes
    /// that move with volatility and inventory, a side-by-side replay and a sweep on the real
    /// hourly file.
    @Test(.timeLimit(.minutes(10)))
    func theMarketMakingWalkthroughRunsOverHTTPS() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let root = "/tmp/scryptex-mm-walkthrough-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpsPort = try FreePort.tcp()
        let host = try ChildProcess(
            executable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
                "HTTP_LISTEN": "127.0.0.1:\(try FreePort.tcp())", "METRICS_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
                "SCRYPTEX_TENANTS_DIR": project + "/tenants", "SCRYPTEX_TEMPLATES_DIR": project + "/templates",
            ])
        guard await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(60)) else {
            host.send(SIGKILL)
            Issue.record("the host never became ready:\n\(host.output)")
            return
        }
        let walkthrough = try ChildProcess(
            "/bin/bash", [project + "/scripts/market-making-walkthrough"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "HTTPS_PORT": String(httpsPort), "SCRYPTEX": executable,
                "MARKET_DATA": SharedData.path("market"), "LOG_LEVEL": "error",
            ])
        let status = await walkthrough.waitForExit(timeout: .seconds(400))
        let output = walkthrough.output
        #expect(status == 0, "the walk-through failed:\n\(output)")
        for expected in [
            "ETH-USDT: 27096 bars", "calm:", "jumpy (wider spread):", "duplicate: True; position 3",
            "bid size × e^(−η·q)", "ETH A-S      avellaneda_stoikov bars 27096",
            "ETH ladder   ladder             bars 27096",
            "6 parameter sets, best first:", "== done ==",
        ] {
            #expect(output.contains(expected), "missing '\(expected)' in:\n\(output)")
        }
        // The jumpy minute's spread is wider than the calm one's, and a long inventory moves the
        // reservation price below the mid.
        let spreads = output.split(separator: "\n").filter { $0.hasPrefix("mid ") }.compactMap { line -> Double? in
            guard let range = line.range(of: "spread ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0 != " " })
        }
        #expect(spreads.count == 3 && spreads[1] > spreads[0], "\(spreads)")
        host.send(SIGTERM)
        #expect(await host.waitForExit(timeout: .seconds(60)) == 0)
    }
}
