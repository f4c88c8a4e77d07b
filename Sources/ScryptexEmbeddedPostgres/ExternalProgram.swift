import Dispatch
import Foundation
import Glibc
import ScryptexCore

/// Runs a program to completion and captures what it printed.
///
/// Programs are started with `posix_spawn` and reaped with a blocking `waitpid` on a Dispatch
/// thread (never a thread of the Swift concurrency pool). Output goes to an unlinked temporary
/// file rather than a pipe: a server that `pg_ctl` starts inherits the descriptor, so a pipe
/// would never reach its end.
enum ExternalProgram {
    struct Outcome: Sendable {
        var status: Int32
        var output: String
        var succeeded: Bool { status == 0 }
    }

    /// Runs `executable` with `arguments`, as `user` (through `runuser`) when given.
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) async throws -> Outcome {
        var argv = [executable] + arguments
        if let user {
            let runuser = try locate("runuser", in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            argv = [runuser, "-u", user, "--"] + argv
        }
        let command = argv
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try spawnAndWait(command) })
            }
        }
    }

    private static func spawnAndWait(_ argv: [String]) throws -> Outcome {
        var template = Array("/tmp/scryptex-program-XXXXXX".utf8CString)
        let capture = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard capture >= 0 else { throw EmbeddedPostgresError("could not create a temporary file: \(errorText())") }
        // Only the duplicates on 1 and 2 are for the child; the original closes on exec.
        _ = fcntl(capture, F_SETFD, FD_CLOEXEC)
        defer { close(capture) }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })

        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C.UTF-8"
        environment.removeValue(forKey: "PGDATA")
        let processID: pid_t
        do {
            processID = try Subprocess.spawn(argv, environment: environment, output: capture)
        } catch {
            throw EmbeddedPostgresError(error.message)
        }
        var status: Int32 = 0
        while waitpid(processID, &status, 0) < 0 {
            guard errno == EINTR else { throw EmbeddedPostgresError("waiting for \(argv[0]) failed: \(errorText())") }
        }
        let exitStatus = Subprocess.exitCode(fromWaitStatus: status)

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        lseek(capture, 0, SEEK_SET)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(capture, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        return Outcome(status: exitStatus, output: String(decoding: output, as: UTF8.self))
    }

    /// The full path of `name` in one of `folders` or on `PATH`.
    static func locate(_ name: String, in folders: [String] = []) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in folders + path.split(separator: ":").map(String.init) {
            let candidate = folder + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw EmbeddedPostgresError("the program '\(name)' was not found on PATH")
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// A failure to prepare, start or stop the embedded cluster; the message says what to do.
public struct EmbeddedPostgresError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
