import Foundation
import Glibc
public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// A private PostgreSQL cluster that Scryptex creates and runs itself when `DATABASE_URL` is
/// unset.
///
/// The cluster lives in `<root>/postgres` (root is `SCRYPTEX_DATA_DIR`), listens on a unix
/// socket (in the data folder, or a short folder under `/tmp` when that path is too long for a
/// socket), and on `127.0.0.1:<port>` only when a port is asked for. The cluster is reused on
/// the next start; a `postmaster.pid` left by a killed server is recognised as stale and
/// removed, and PostgreSQL's own crash recovery brings the data back.
///
/// PostgreSQL refuses to run as root: when started as root, the server programs run as an
/// unprivileged system user (`postgres` when it exists, else `scryptex-postgres`, created).
public struct EmbeddedPostgres: Sendable {
    public struct Options: Sendable {
        /// The Scryptex data folder; the cluster goes in its `postgres` subfolder.
        public var rootDirectory: String
        /// Also listen on `127.0.0.1:port` (with a password) when set.
        public var tcpPort: Int?
        /// `false` turns off fsync and friends: fast, for tests only; a crash can lose data.
        public var isDurable: Bool
        public var databaseName: String
        public var superuser: String
        /// PostgreSQL's `max_connections`: 200 for a host; the shared test server, which every
        /// test's pools and listeners use at once, takes more.
        public var maximumConnections: Int

        public init(
            rootDirectory: String,
            tcpPort: Int? = nil,
            isDurable: Bool = true,
            databaseName: String = "scryptex",
            superuser: String = "scryptex",
            maximumConnections: Int = 200
        ) {
            self.rootDirectory = rootDirectory
            self.tcpPort = tcpPort
            self.isDurable = isDurable
            self.databaseName = databaseName
            self.superuser = superuser
            self.maximumConnections = maximumConnections
        }
    }

    public enum Status: Sendable, Equatable, CustomStringConvertible {
        case notInitialized
        case stopped
        case running(processID: Int32)

        public var description: String {
            switch self {
            case .notInitialized: "not initialized"
            case .stopped: "stopped"
            case .running(let processID): "running (pid \(processID))"
            }
        }
    }

    public enum StartOutcome: Sendable, Equatable {
        /// The cluster was already running; it was left as it was.
        case alreadyRunning
        /// The cluster was started (and created first when `initialized` is true).
        case started(initialized: Bool)
    }

    public let options: Options
    private let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    // MARK: Paths

    public var rootDirectory: String { Self.absolute(options.rootDirectory) }

    /// The cluster's files: `<root>/postgres`, unless the host runs as root and the unprivileged
    /// user that runs PostgreSQL cannot pass through the folders above the root (a clone inside
    /// `/root`, which is 0700) — then a folder of its own under `/var/lib/scryptex/clusters`,
    /// named after the root folder, so every run finds the same one. A cluster already in
    /// either place stays there.
    public var dataDirectory: String { Self.dataDirectory(for: rootDirectory) }

    /// Where clusters go whose root folder the cluster user cannot reach.
    public static let reachableClusters = "/var/lib/scryptex/clusters"

    static func dataDirectory(for root: String) -> String {
        let local = root + "/postgres"
        guard geteuid() == 0, !FileManager.default.fileExists(atPath: local + "/PG_VERSION") else { return local }
        let relocated = reachableClusters + "/" + String(SHA256.hexDigest(root).prefix(16)) + "/postgres"
        if FileManager.default.fileExists(atPath: relocated + "/PG_VERSION") { return relocated }
        // The user that will run PostgreSQL (created later when neither exists: then only what
        // any user may pass counts).
        let account = ["postgres", "scryptex-postgres"].lazy.compactMap { (name: String) in getpwnam(name) }.first
        let (uid, gid) = account.map { ($0.pointee.pw_uid, $0.pointee.pw_gid) } ?? (uid_t.max, gid_t.max)
        return canTraverse(ancestorsOf: root, uid: uid, gid: gid) ? local : relocated
    }

    /// Whether a user may pass through every existing folder above `path` (the root folder
    /// itself is made passable when the cluster is created).
    static func canTraverse(ancestorsOf path: String, uid: uid_t, gid: gid_t) -> Bool {
        var folder = ""
        for component in path.split(separator: "/").dropLast() {
            folder += "/" + component
            var info = stat()
            guard stat(folder, &info) == 0 else { return true }  // created later, passable
            let mode = info.st_mode
            let passable =
                info.st_uid == uid
                ? mode & S_IXUSR != 0 : info.st_gid == gid ? mode & S_IXGRP != 0 : mode & S_IXOTH != 0
            if !passable { return false }
        }
        return true
    }
    public var logFile: String { dataDirectory + "/server.log" }
    var passwordFile: String { rootDirectory + "/postgres.password" }
    var socketPort: Int { options.tcpPort ?? 5432 }

    /// The folder holding the server's unix socket.
    public var socketDirectory: String {
        // sun_path holds 108 bytes; the socket's file name adds "/.s.PGSQL.NNNNN".
        if dataDirectory.utf8.count + 16 < 100 { return dataDirectory }
        return "/tmp/scryptex-" + String(SHA256.hexDigest(dataDirectory).prefix(12))
    }

    /// How `user` connects to the cluster's database over its unix socket (local connections
    /// are trusted: the socket folder belongs to the cluster's user).
    public func socketConfiguration(user: String) -> PostgresConfiguration {
        PostgresConfiguration(host: socketDirectory, port: socketPort, user: user, database: options.databaseName)
    }

    /// The database the host uses.
    public var databaseName: String { options.databaseName }

    /// How to connect to the cluster's database.
    public var configuration: PostgresConfiguration {
        if let port = options.tcpPort {
            return PostgresConfiguration(
                host: "127.0.0.1", port: port, user: options.superuser, password: storedPassword(),
                database: options.databaseName
            )
        }
        return PostgresConfiguration(
            host: socketDirectory, port: socketPort, user: options.superuser, database: options.databaseName
        )
    }

    // MARK: Status

    public func status() -> Status {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else { return .notInitialized }
        guard let processID = Self.processID(inLockFile: dataDirectory + "/postmaster.pid"),
            Self.isPostgresProcess(processID)
        else { return .stopped }
        return .running(processID: processID)
    }

    // MARK: Start and stop

    /// Creates the cluster if needed, starts it if it is not running, and makes sure the
    /// database exists.
    /// - Throws: `EmbeddedPostgresError` saying what failed, with the server log's last lines.
    @discardableResult
    public func start() async throws -> StartOutcome {
        let programs = try await ServerPrograms.locate()
        let user = try await Self.clusterUser(logger: logger)
        var initialized = false
        switch status() {
        case .running:
            try await ensureDatabase()
            return .alreadyRunning
        case .notInitialized:
            try await initialize(programs: programs, user: user)
            initialized = true
        case .stopped:
            removeStaleLockFiles()
        }
        try prepareSocketDirectory(user: user)
        try writeSettings(user: user)
        var attempt = 1
        while true {
            let outcome = try await ExternalProgram.run(
                programs.pgCtl, ["start", "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-s"], as: user
            )
            if outcome.succeeded { break }
            // After a crash, old server processes can hold shared memory for a moment.
            if attempt < 5 {
                logger.warning("embedded PostgreSQL did not start; retrying", ["attempt": String(attempt)])
                try await Task.sleep(for: .milliseconds(500 * attempt))
                removeStaleLockFiles()
                attempt += 1
                continue
            }
            throw EmbeddedPostgresError(
                "embedded PostgreSQL did not start (pg_ctl exit \(outcome.status)): \(outcome.output.trimmed)\n\(logTail())"
            )
        }
        logger.info(
            "embedded PostgreSQL started",
            ["data_dir": dataDirectory, "socket_dir": socketDirectory, "initialized": String(initialized)]
        )
        try await ensureDatabase()
        return .started(initialized: initialized)
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, data is flushed).
    /// - Returns: Whether it was running.
    @discardableResult
    public func stop() async throws -> Bool {
        guard case .running = status() else { return false }
        let programs = try await ServerPrograms.locate()
        let user = try await Self.clusterUser(logger: logger)
        let outcome = try await ExternalProgram.run(
            programs.pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "-s"], as: user)
        guard outcome.succeeded else {
            throw EmbeddedPostgresError("embedded PostgreSQL did not stop: \(outcome.output.trimmed)")
        }
        logger.info("embedded PostgreSQL stopped", ["data_dir": dataDirectory])
        return true
    }

    // MARK: Creating the cluster

    private func initialize(programs: ServerPrograms, user: String?) async throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: rootDirectory, withIntermediateDirectories: true)
        // The cluster user must be able to pass through the root folder to its data folder.
        chmod(rootDirectory, user == nil ? 0o700 : 0o711)
        if fileManager.fileExists(atPath: dataDirectory),
            let contents = try? fileManager.contentsOfDirectory(atPath: dataDirectory), !contents.isEmpty
        {
            throw EmbeddedPostgresError(
                "\(dataDirectory) exists and is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away, it was not touched"
            )
        }
        if !dataDirectory.hasPrefix(rootDirectory + "/") {
            logger.notice(
                "the cluster's files go to a folder PostgreSQL's user can reach: the folders above the data folder are closed to it",
                ["cluster_dir": dataDirectory, "data_dir": rootDirectory, "run_as": user ?? "self"])
        }
        try fileManager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        chmod(dataDirectory, 0o700)
        try Self.giveOwnership(of: dataDirectory, to: user)
        if let user {
            let check = try await ExternalProgram.run("/usr/bin/test", ["-w", dataDirectory], as: user)
            if !check.succeeded {
                throw EmbeddedPostgresError(
                    "the system user '\(user)' that runs PostgreSQL cannot reach \(dataDirectory): make the folders above it traversable (chmod o+x) or set SCRYPTEX_DATA_DIR to a folder such as /var/lib/scryptex"
                )
            }
        }

        let password = SecureRandom.hexToken(byteCount: 24)
        try Self.writeSecret(password + "\n", to: passwordFile)
        // initdb runs as the cluster user, so it reads the password from a file of its own.
        let passwordCopy = "/tmp/scryptex-initdb-" + SecureRandom.hexToken(byteCount: 8)
        try Self.writeSecret(password + "\n", to: passwordCopy)
        defer { unlink(passwordCopy) }
        try Self.giveOwnership(of: passwordCopy, to: user)

        var arguments = [
            "-D", dataDirectory, "-U", options.superuser, "-E", "UTF8", "--no-locale",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + passwordCopy,
        ]
        if !options.isDurable { arguments.append("--no-sync") }
        logger.info("creating embedded PostgreSQL cluster", ["data_dir": dataDirectory, "run_as": user ?? "self"])
        let outcome = try await ExternalProgram.run(programs.initdb, arguments, as: user)
        guard outcome.succeeded else {
            throw EmbeddedPostgresError("initdb failed (exit \(outcome.status)): \(outcome.output.trimmed)")
        }
        let include = "\n# Added by Scryptex: settings rewritten on every start.\ninclude_if_exists = 'scryptex.conf'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(include.utf8))
        try handle.close()
    }

    private func prepareSocketDirectory(user: String?) throws {
        guard socketDirectory != dataDirectory else { return }
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        chmod(socketDirectory, 0o700)
        try Self.giveOwnership(of: socketDirectory, to: user)
    }

    private func writeSettings(user: String?) throws {
        var settings = """
            # Written by Scryptex on every start of the embedded cluster; edit postgresql.conf instead.
            listen_addresses = '\(options.tcpPort == nil ? "" : "127.0.0.1")'
            port = \(socketPort)
            unix_socket_directories = '\(socketDirectory.replacingOccurrences(of: "'", with: "''"))'
            unix_socket_permissions = 0700
            max_connections = \(options.maximumConnections)
            shared_buffers = 256MB
            log_min_messages = warning
            log_line_prefix = '%m [%p] '

            """
        if !options.isDurable {
            settings += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        }
        let path = dataDirectory + "/scryptex.conf"
        try Data(settings.utf8).write(to: URL(fileURLWithPath: path))
        try Self.giveOwnership(of: path, to: user)
    }

    private func ensureDatabase() async throws {
        var maintenance = configuration
        maintenance.database = "postgres"
        let connection = try await PostgresConnection.connect(
            configuration: maintenance, retryingFor: .seconds(15), logger: logger)
        do {
            let exists = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(options.databaseName)")
            if exists.isEmpty {
                let name = try SQLIdentifier(options.databaseName)
                do {
                    try await connection.executeScript("CREATE DATABASE \(name.quoted)")
                    logger.info("created database", ["database": options.databaseName])
                } catch let error as PostgresError where error.sqlState == .duplicateDatabase {
                    // Another process created it first.
                }
            }
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }

    // MARK: Stale lock files

    /// Removes `postmaster.pid` and the socket lock file when the process they name is gone
    /// (or is not PostgreSQL: after a reboot the number may belong to anything).
    private func removeStaleLockFiles() {
        for path in [dataDirectory + "/postmaster.pid", socketDirectory + "/.s.PGSQL.\(socketPort).lock"] {
            guard let processID = Self.processID(inLockFile: path) else { continue }
            if !Self.isPostgresProcess(processID) {
                logger.warning("removing stale PostgreSQL lock file", ["path": path, "pid": String(processID)])
                unlink(path)
            }
        }
    }

    static func processID(inLockFile path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let first = text.split(separator: "\n").first
        else { return nil }
        return Int32(first.trimmingCharacters(in: .whitespaces)).map { abs($0) }
    }

    static func isPostgresProcess(_ processID: Int32) -> Bool {
        guard processID > 0, kill(processID, 0) == 0 || errno == EPERM else { return false }
        guard let name = try? String(contentsOfFile: "/proc/\(processID)/comm", encoding: .utf8) else { return false }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed == "postgres" || trimmed == "postmaster"
    }

    private func storedPassword() -> String? {
        (try? String(contentsOfFile: passwordFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func logTail() -> String {
        guard let log = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "(no server log)" }
        return "last lines of \(logFile):\n" + log.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    // MARK: Users and files

    /// The user that runs the server programs: nil when not root (they run as the caller).
    static func clusterUser(logger: Logger) async throws -> String? {
        guard geteuid() == 0 else { return nil }
        for candidate in ["postgres", "scryptex-postgres"] where getpwnam(candidate) != nil {
            logger.debug("running embedded PostgreSQL as an unprivileged user", ["user": candidate])
            return candidate
        }
        logger.notice("creating system user 'scryptex-postgres' to run PostgreSQL, which refuses to run as root")
        let useradd = try ExternalProgram.locate("useradd", in: ["/usr/sbin", "/sbin"])
        let outcome = try await ExternalProgram.run(
            useradd, ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "scryptex-postgres"]
        )
        guard outcome.succeeded else {
            throw EmbeddedPostgresError(
                "could not create the system user 'scryptex-postgres': \(outcome.output.trimmed)")
        }
        return "scryptex-postgres"
    }

    static func giveOwnership(of path: String, to user: String?) throws {
        guard let user, let account = getpwnam(user) else { return }
        if chown(path, account.pointee.pw_uid, account.pointee.pw_gid) != 0 {
            throw EmbeddedPostgresError("could not hand \(path) to user '\(user)': \(String(cString: strerror(errno)))")
        }
    }

    static func writeSecret(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw EmbeddedPostgresError("could not write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else {
            throw EmbeddedPostgresError("could not write \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/" + path).standardizedFileURL.path
    }
}

/// Where the PostgreSQL server programs are.
struct ServerPrograms {
    var initdb: String
    var pgCtl: String

    /// `SCRYPTEX_POSTGRES_BINDIR`, then `pg_config --bindir`, then the newest
    /// `/usr/lib/postgresql/*/bin`, then `PATH`.
    static func locate() async throws -> ServerPrograms {
        var folders: [String] = []
        if let configured = ProcessInfo.processInfo.environment["SCRYPTEX_POSTGRES_BINDIR"] {
            folders.append(configured)
        }
        if let pgConfig = try? ExternalProgram.locate("pg_config"),
            let outcome = try? await ExternalProgram.run(pgConfig, ["--bindir"]), outcome.succeeded
        {
            folders.append(outcome.output.trimmed)
        }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        folders += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        for folder in folders {
            let initdb = folder + "/initdb"
            let pgCtl = folder + "/pg_ctl"
            if FileManager.default.isExecutableFile(atPath: initdb), FileManager.default.isExecutableFile(atPath: pgCtl)
            {
                return ServerPrograms(initdb: initdb, pgCtl: pgCtl)
            }
        }
        if let initdb = try? ExternalProgram.locate("initdb"), let pgCtl = try? ExternalProgram.locate("pg_ctl") {
            return ServerPrograms(initdb: initdb, pgCtl: pgCtl)
        }
        throw EmbeddedPostgresError(
            "the PostgreSQL server programs (initdb, pg_ctl) were not found: install Debian's 'postgresql' package (apt-get install postgresql), set SCRYPTEX_POSTGRES_BINDIR, or set DATABASE_URL to use an existing server"
        )
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
