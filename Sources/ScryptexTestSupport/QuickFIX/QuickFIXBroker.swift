import Foundation
import Glibc

/// A FIX 4.4 broker no one here wrote, for tests: QuickFIX (Debian's libquickfix-dev), built
/// once per source version from `executor.cpp` beside this file and started on a fresh port and
/// folder. It acknowledges every order and fills it (in full under 100, in two halves from 100;
/// from 1000 it rests), cancels resting orders and refuses to cancel the others.
public struct QuickFIXBroker: Sendable {
    public let process: ChildProcess
    public let port: Int
    public let folder: String

    static var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent() }

    /// Builds the executor (g++; QuickFIX 1.15's headers need C++11 with dynamic exception
    /// specifications) unless this version was built already.
    public static func executable() async throws -> String {
        let source = fixtures.appendingPathComponent("executor.cpp").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let digest = bytes.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        let binary = "/tmp/scryptex-fix-executor-" + String(digest, radix: 16)
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        // Suites running at once may each build it: each into a file of its own, the first one
        // moved into place wins and the others use it.
        let part = binary + ".part-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let build = try ChildProcess(
            "/usr/bin/g++",
            ["-std=gnu++11", "-DHAVE_SSL=1", "-O1", "-o", part, source, "-lquickfix", "-lpthread"])
        let status = await build.waitForExit(timeout: .seconds(300))
        guard status == 0 else {
            throw ChildProcessError(
                message: "g++ could not build the QuickFIX executor (\(String(describing: status))): \(build.output)")
        }
        // rename(2) replaces atomically: a suite that built it too just puts the same program in place.
        guard rename(part, binary) == 0 else {
            try? FileManager.default.removeItem(atPath: part)
            throw ChildProcessError(message: "cannot move the QuickFIX executor into place: errno \(errno)")
        }
        return binary
    }

    /// Starts the executor as BROKER for SCRYPTEX; with `certificate` (PEM certificate and key
    /// for `localhost`), QuickFIX's SSL acceptor.
    public static func start(certificate: (pem: String, key: String)? = nil) async throws -> QuickFIXBroker {
        let folder = "/tmp/scryptex-quickfix-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let port = try FreePort.tcp()
        var tls = ""
        if let certificate {
            try certificate.pem.write(toFile: folder + "/server.pem", atomically: true, encoding: .utf8)
            try certificate.key.write(toFile: folder + "/server.key", atomically: true, encoding: .utf8)
            tls = """
                ServerCertificateFile=\(folder)/server.pem
                ServerCertificateKeyFile=\(folder)/server.key
                SSLProtocol=+TLSv1.2

                """
        }
        let configuration = """
            [DEFAULT]
            ConnectionType=acceptor
            SocketAcceptPort=\(port)
            SocketReuseAddress=Y
            FileStorePath=\(folder)/store
            FileLogPath=\(folder)/log
            StartTime=00:00:00
            EndTime=00:00:00
            UseDataDictionary=N
            \(tls)BeginString=FIX.4.4
            SenderCompID=BROKER

            [SESSION]
            TargetCompID=SCRYPTEX
            """
        try configuration.write(toFile: folder + "/executor.cfg", atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            try await executable(), [folder + "/executor.cfg"] + (certificate == nil ? [] : ["ssl"]))
        guard await process.waitForOutput(containing: "ready", timeout: .seconds(20)) else {
            throw ChildProcessError(message: "the QuickFIX executor did not start: \(process.output)")
        }
        return QuickFIXBroker(process: process, port: port, folder: folder)
    }

    public func stop() async {
        process.send(SIGTERM)
        _ = await process.waitForExit(timeout: .seconds(10))
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// What the executor logged of its messages and events.
    public var log: String {
        let folder = folder + "/log"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".messages.current.log") || $0.hasSuffix(".event.current.log") }
            .compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
    }

    /// A TCP proxy to this broker that spoils the broker's `number`th message on the first
    /// connection — `drop`, `corrupt` (its checksum) or `cut` (the connection closed before it)
    /// — and passes everything on later ones (`fixproxy.py`). Returns the process and its port.
    public func proxy(_ action: String, message number: Int) async throws -> (process: ChildProcess, port: Int) {
        let script = Self.fixtures.appendingPathComponent("fixproxy.py").path
        let port = try FreePort.tcp()
        let process = try ChildProcess(
            "/usr/bin/python3", [script, String(port), String(self.port), action, String(number)])
        guard await process.waitForOutput(containing: "listening", timeout: .seconds(20)) else {
            throw ChildProcessError(message: "the FIX proxy did not start: \(process.output)")
        }
        return (process, port)
    }
}
