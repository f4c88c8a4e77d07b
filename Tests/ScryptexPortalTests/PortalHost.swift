import Foundation
import Glibc
import ScryptexTestSupport
import Testing

/// `scryptex serve` as a process on loopback, with the project's demo tenants and templates,
/// its own data folder (embedded PostgreSQL, development CA) and a tool to run its CLI.
final class PortalHost: Sendable {
    let root: String
    let httpsPort: Int
    let process: ChildProcess

    static let projectFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// - Parameter environment: Settings beside the test's own (`ACME_DIRECTORY_URL`, …).
    init(environment extra: [String: String] = [:]) async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        root = "/tmp/scryptex-portal-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        httpsPort = try FreePort.tcp()
        let httpPort = try FreePort.tcp()
        process = try ChildProcess(
            executable, ["serve"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
                "HTTP_LISTEN": "127.0.0.1:\(httpPort)", "SCRYPTEX_EVENT_LOOPS": "2",
                "SCRYPTEX_TENANTS_DIR": Self.projectFolder + "/tenants",
                "SCRYPTEX_TEMPLATES_DIR": Self.projectFolder + "/templates", "RATE_LIMIT_LOGIN": "1000/s",
            ].merging(extra) { $1 })
        guard await process.waitForOutput(containing: "scryptex host ready", timeout: .seconds(90)) else {
            process.send(SIGKILL)
            throw WebDriver.Failure(description: "the host never became ready:\n\(process.output.suffix(3000))")
        }
    }

    func stop() async {
        process.send(SIGTERM)
        if await process.waitForExit(timeout: .seconds(30)) == nil { process.send(SIGKILL) }
        try? FileManager.default.removeItem(atPath: root)
    }

    func url(_ tenant: String, _ path: String) -> String { "https://\(tenant).localhost:\(httpsPort)\(path)" }

    /// Runs the CLI against this host's data; its standard output (first line: the secret).
    func command(_ arguments: [String]) async throws -> String {
        let command = try ChildProcess(
            ChildProcess.scryptexExecutable, arguments, environment: ["SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "error"])
        let status = await command.waitForExit(timeout: .seconds(60))
        guard status == 0 else {
            throw WebDriver.Failure(
                description: "scryptex \(arguments) exited \(String(describing: status)): \(command.output)")
        }
        return command.output
    }

    /// A new team member's password, made the way the README tells an operator to.
    func newUser(_ tenant: String, email: String, role: String) async throws -> String {
        let output = try await command(["user", "create", "--tenant", tenant, "--email", email, "--role", role])
        return String(output.split(separator: "\n").first { $0.count == 20 && !$0.contains(" ") } ?? "")
    }

    func newAPIKey(_ tenant: String, role: String) async throws -> String {
        let output = try await command(["apikey", "create", "--tenant", tenant, "--role", role])
        return String(output.split(separator: "\n").first { $0.hasPrefix("sxk_") } ?? "")
    }

    /// curl against the host (checking its certificate with the host's development CA):
    /// status, headers and body.
    func curl(_ arguments: [String]) async throws -> (status: Int, headers: String, body: String) {
        let marker = "\n--scryptex-status:"
        let process = try ChildProcess(
            "/usr/bin/curl",
            ["-s", "-D", "-", "--cacert", root + "/tls/ca.pem", "-w", marker + "%{http_code}"] + arguments)
        guard await process.waitForExit(timeout: .seconds(30)) == 0 else {
            throw WebDriver.Failure(description: "curl \(arguments) failed: \(process.output)")
        }
        let output = process.output
        guard let statusRange = output.range(of: marker, options: .backwards) else {
            throw WebDriver.Failure(description: "curl printed no status")
        }
        let status = Int(output[statusRange.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let response = output[..<statusRange.lowerBound]
        let split = response.range(of: "\r\n\r\n")
        return (
            status, split.map { String(response[..<$0.lowerBound]) } ?? String(response),
            split.map { String(response[$0.upperBound...]) } ?? ""
        )
    }
}

/// A person's browser session driven with curl: a cookie jar, the form token of the last page.
struct CurlSession {
    let host: PortalHost
    let tenant: String
    /// `["-k"]` for a tenant made during the test: it has no development certificate of its own
    /// (TLS is checked with the demo tenants' certificates elsewhere).
    var extraArguments: [String] = []
    let jar = NSTemporaryDirectory() + "scryptex-jar-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)

    func get(_ path: String) async throws -> (status: Int, headers: String, body: String) {
        try await host.curl(extraArguments + ["-b", jar, "-c", jar, host.url(tenant, path)])
    }

    func post(_ path: String, _ fields: [(String, String)]) async throws -> (status: Int, headers: String, body: String)
    {
        try await host.curl(
            extraArguments + ["-b", jar, "-c", jar] + fields.flatMap { ["--data-urlencode", "\($0.0)=\($0.1)"] }
                + [host.url(tenant, path)])
    }

    /// The form token on `page`.
    static func formToken(in page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in with a password (and a code); true when the portal let the person in.
    func signIn(email: String, password: String, code: String? = nil) async throws -> Bool {
        let form = try await get("/portal/sign-in")
        let token = try #require(Self.formToken(in: form.body))
        var fields = [("csrf", token), ("email", email), ("password", password)]
        if let code { fields.append(("code", code)) }
        let answer = try await post("/portal/sign-in", fields)
        return answer.status == 303 && answer.headers.contains("Location: /portal")
    }
}

/// RFC 6238 codes computed by Python's standard library, independently of the host's own.
enum IndependentTOTP {
    static func code(secret: String, offsetSteps: Int = 0) async throws -> String {
        let script = """
            import base64, hashlib, hmac, struct, sys, time
            key = base64.b32decode(sys.argv[1] + "=" * (-len(sys.argv[1]) % 8))
            counter = int(time.time()) // 30 + int(sys.argv[2])
            digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
            offset = digest[-1] & 15
            print("%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7fffffff) % 1000000))
            """
        let process = try ChildProcess("/usr/bin/python3", ["-c", script, secret, String(offsetSteps)])
        guard await process.waitForExit(timeout: .seconds(20)) == 0 else {
            throw WebDriver.Failure(description: "python3 failed: \(process.output)")
        }
        return process.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
