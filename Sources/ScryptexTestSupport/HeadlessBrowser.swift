import Foundation

/// Debian's Chromium without a display, for checking pages the way a partner's customers see
/// them: the DOM after the browser parsed and laid out the page, or the page printed to PDF.
///
/// Certificate errors are ignored (the host's development CA is not in Chromium's store; curl
/// and `openssl s_client` check TLS elsewhere), the sandbox is off (tests run as root), and each
/// call gets a profile folder of its own.
public enum HeadlessBrowser {
    public static let executable = "/usr/bin/chromium"

    /// The document Chromium built from `url`, serialized.
    public static func documentObjectModel(of url: String) async throws -> String {
        try await run(["--dump-dom", url]).output
    }

    /// Prints `url` to a PDF file at `output`, as a browser's Print would.
    public static func printToPDF(_ url: String, output: String) async throws {
        _ = try await run(["--no-pdf-header-footer", "--print-to-pdf=\(output)", url])
        guard FileManager.default.fileExists(atPath: output) else {
            throw ChildProcessError(message: "chromium printed nothing for \(url)")
        }
    }

    private static func run(_ arguments: [String]) async throws -> (output: String, status: Int32) {
        let profile =
            NSTemporaryDirectory() + "scryptex-chromium-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let output = profile + ".out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        // Its log lines go to standard error; the DOM (standard output) is kept apart from them.
        let browser = try ChildProcess(
            "/bin/sh",
            [
                "-c", "exec \"$0\" \"$@\" > \(output)", executable, "--headless", "--no-sandbox", "--disable-gpu",
                "--ignore-certificate-errors", "--user-data-dir=\(profile)",
            ] + arguments)
        guard let status = await browser.waitForExit(timeout: .seconds(60)) else {
            browser.send(SIGKILL)
            throw ChildProcessError(message: "chromium did not finish within 60 s")
        }
        guard status == 0 else {
            throw ChildProcessError(message: "chromium exited with \(status): \(browser.output.suffix(2000))")
        }
        return ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "", status)
    }
}
