public import Glibc

/// Starts programs with `posix_spawn`: standard input from `/dev/null`, standard output and
/// error to one descriptor. Wraps the C calls once for every module that starts programs.
public enum Subprocess {
    /// Starts `arguments[0]` (a full path) with `arguments` and exactly `environment`.
    /// - Returns: The child's process id.
    /// - Throws: `SubprocessError` when the program cannot be started.
    public static func spawn(
        _ arguments: [String], environment: [String: String], output: Int32
    ) throws(SubprocessError)
        -> pid_t
    {
        precondition(!arguments.isEmpty, "a program to run is required")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with no blocked signals and default handlers: a thread of this
        // process may block SIGTERM (the host waits for it on a signal source), and a mask the
        // child inherited would make it deaf to `kill`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var processID: pid_t = 0
        let status = posix_spawn(&processID, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw SubprocessError("cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        return processID
    }

    /// The exit code in a `waitpid` status, or 128 + the signal number for a killed program
    /// (`WIFEXITED`/`WEXITSTATUS` spelled out: Glibc's macros do not import into Swift).
    public static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// A program that could not be started or waited for.
public struct SubprocessError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
