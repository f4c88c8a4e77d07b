import Foundation
public import Glibc
import ScryptexCore

/// A program started by a test, with its standard output and error going to a file the test can
/// read while it runs.
public final class ChildProcess: Sendable {
    public let processID: pid_t
    public let outputPath: String

    /// Starts `executable` with `arguments` and extra `environment` variables.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        outputPath = "/tmp/scryptex-child-" + String(UInt64.random(in: 0...UInt64.max), radix: 16) + ".log"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw ChildProcessError(message: "cannot create \(outputPath)") }
        defer { close(output) }
        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        do {
            processID = try Subprocess.spawn([executable] + arguments, environment: merged, output: output)
        } catch {
            throw ChildProcessError(message: error.message)
        }
    }

    /// The output file goes with the object: a test that wants it in its failure message reads
    /// `output` before then. (Leaving one per run behind filled `/tmp` with thousands.)
    deinit {
        unlink(outputPath)
    }

    /// Everything the program printed so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Waits until the output contains `text`; false if the time runs out or the program exits.
    public func waitForOutput(containing text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if hasExited { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return output.contains(text)
    }

    /// Whether the program has ended (it is a zombie, not yet reaped by `waitForExit`).
    public var hasExited: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(processID)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return true }
        return state == "Z" || state == "X"
    }

    public func send(_ signal: Int32) {
        kill(processID, signal)
    }

    /// Waits for the program to exit and returns its exit status (128 + signal when killed), or
    /// nil if it is still running after `timeout`.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        func reaped() -> Int32? {
            var status: Int32 = 0
            return waitpid(processID, &status, WNOHANG) == processID ? Subprocess.exitCode(fromWaitStatus: status) : nil
        }
        while ContinuousClock.now < deadline {
            if let status = reaped() { return status }
            try? await Task.sleep(for: .milliseconds(100))
        }
        // Once more after the deadline: on a loaded machine the sleep above can end long after
        // the program did, and a program that finished in time has not timed out.
        return reaped()
    }

    /// The built `scryptex` executable beside the test bundle.
    public static var scryptexExecutable: String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // The test binary may sit inside a `.xctest` bundle folder.
        if folder.path.hasSuffix(".xctest") { folder = folder.deletingLastPathComponent() }
        return folder.appendingPathComponent("scryptex").path
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
