import Dispatch
public import ScryptexCore
import Synchronization

/// One connection to PostgreSQL.
///
/// libpq's calls block, so each connection runs them on its own serial dispatch queue: a
/// thread from Dispatch's pool waits on the socket, never a thread of the Swift concurrency pool
/// and never a network event loop. Callers simply `await`.
///
/// A connection serves one task at a time; share connections through `PostgresConnectionPool`.
/// Cancelling the awaiting task cancels the running statement on the server.
public final class PostgresConnection: Sendable {
    let handle: LibPQConnectionHandle
    private let queue: DispatchQueue
    public let configuration: PostgresConfiguration
    /// When the connection was opened (the pool retires connections past a lifetime).
    public let openedAt = ContinuousClock.now
    let logger: Logger

    /// The statement waiting for an answer, with its deadline and how to fail it.
    private struct Waiting {
        var deadline: ContinuousClock.Instant
        var expire: @Sendable () -> Void
    }

    private let waiting = Mutex<Waiting?>(nil)
    /// Checks `waiting` four times a second while the connection is open (one sleeping task per
    /// connection, rather than a timer per statement).
    private let watchdog = Mutex<Task<Void, Never>?>(nil)

    private init(handle: LibPQConnectionHandle, configuration: PostgresConfiguration, logger: Logger) {
        self.handle = handle
        self.configuration = configuration
        self.logger = logger
        self.queue = DispatchQueue(label: "scryptex.postgres.connection")
        let watched = WeakConnection(self)
        watchdog.withLock {
            $0 = Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    guard let connection = watched.connection else { return }
                    connection.expireOverdueStatement()
                }
            }
        }
    }

    deinit {
        watchdog.withLock { $0?.cancel() }
    }

    private func expireOverdueStatement() {
        let expire: (@Sendable () -> Void)? = waiting.withLock { waiting in
            guard let current = waiting, ContinuousClock.now >= current.deadline else { return nil }
            waiting = nil
            return current.expire
        }
        expire?()
    }

    /// Opens a connection, trying once.
    /// - Throws: `PostgresError` with code `.connectionFailed` and libpq's reason.
    public static func connect(configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection
    {
        let parameters = configuration.libpqParameters
        let handle = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<LibPQConnectionHandle, any Error>) in
            DispatchQueue.global().async {
                do {
                    continuation.resume(
                        returning: try LibPQConnectionHandle.connect(parameters: parameters, logger: logger))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return PostgresConnection(handle: handle, configuration: configuration, logger: logger)
    }

    /// Opens a connection, retrying with exponential back-off (0.1 s doubling to 2 s) until
    /// `limit` has passed; for start-up, when the database may still be coming up.
    /// - Throws: the last connection error once the time is up.
    public static func connect(
        configuration: PostgresConfiguration,
        retryingFor limit: Duration,
        logger: Logger
    ) async throws -> PostgresConnection {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var delay = Duration.milliseconds(100)
        var attempt = 1
        while true {
            do {
                return try await connect(configuration: configuration, logger: logger)
            } catch let error as PostgresError where error.code == .connectionFailed && clock.now + delay < deadline {
                logger.warning(
                    "database not reachable yet; retrying",
                    [
                        "attempt": String(attempt), "retry_in_ms": String(delay.wholeMilliseconds),
                        "reason": error.message, "database": configuration.redactedDescription,
                    ]
                )
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                attempt += 1
            }
        }
    }

    /// Runs blocking libpq work on this connection's queue, with cancellation and an optional
    /// client-side timeout that cancels the statement on the server.
    ///
    /// Whatever happens on the server, the caller gets an answer by a deadline: the timeout and
    /// two seconds for the cancel to land, or `configuration.answerDeadline`. A server that is
    /// stopped answers neither the statement nor the cancel request; then the connection is
    /// abandoned (the pool drops it) and the caller gets `.statementTimeout`.
    func run<Result: Sendable>(
        timeout: Duration? = nil,
        _ work: @escaping @Sendable (LibPQConnectionHandle) throws(PostgresError) -> Result
    ) async throws -> Result {
        let handle = self.handle
        guard !handle.isAbandoned else {
            throw PostgresError(code: .connectionClosed, message: "the connection was abandoned after a stall")
        }
        let queue = self.queue
        let queryID = handle.reserveQueryID()
        let deadline = timeout.map { $0 + .seconds(2) } ?? configuration.answerDeadline
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                // Resumed once: by the work, or by the watchdog if the work never returns.
                let pending = Mutex<CheckedContinuation<Result, any Error>?>(continuation)
                @Sendable func finish(_ result: Swift.Result<Result, any Error>) {
                    pending.withLock { $0.take() }?.resume(with: result)
                }
                waiting.withLock {
                    $0 = Waiting(deadline: .now + deadline) {
                        handle.abandon()
                        finish(
                            .failure(
                                PostgresError(
                                    code: .statementTimeout,
                                    message: "the database did not answer within \(deadline.wholeMilliseconds) ms")))
                    }
                }
                queue.async { [self] in
                    do throws(PostgresError) {
                        try handle.begin(queryID)
                        defer { handle.end(queryID) }
                        if let timeout {
                            DispatchQueue.global().asyncAfter(
                                deadline: .now() + .milliseconds(Int(timeout.wholeMilliseconds))
                            ) {
                                handle.cancel(queryID, becauseOfTimeout: true)
                            }
                        }
                        let result = try work(handle)
                        self.waiting.withLock { $0 = nil }
                        finish(.success(result))
                    } catch {
                        self.waiting.withLock { $0 = nil }
                        finish(.failure(handle.classify(error, queryID: queryID)))
                    }
                }
            }
        } onCancel: {
            handle.cancel(queryID, becauseOfTimeout: false)
        }
    }

    // MARK: Statements

    /// Runs a statement and returns its rows.
    /// - Parameters:
    ///   - query: The statement; interpolated values are bound as parameters.
    ///   - timeout: Cancel the statement on the server if it runs longer than this.
    /// - Throws: `PostgresError`; a server error carries its SQLSTATE and fields.
    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> PostgresRows {
        let sql = query.sql
        let bindings = query.bindings
        return try await run(timeout: timeout) { handle throws(PostgresError) in
            try handle.execute(sql, bindings: bindings)
        }
    }

    /// Runs a statement and returns how many rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> Int {
        try await self.query(query, timeout: timeout).affectedRowCount
    }

    /// Runs several statements separated by semicolons, without parameters (simple protocol), in
    /// one round trip; returns the rows of the last one. Only for SQL written in the program,
    /// such as migrations; never for text built from input.
    @discardableResult
    public func executeScript(_ script: String, timeout: Duration? = nil) async throws -> PostgresRows {
        try await run(timeout: timeout) { handle throws(PostgresError) in
            try handle.executeScript(script)
        }
    }

    /// Copies rows into a table with `COPY … FROM STDIN`, the fastest bulk insert.
    /// - Parameters:
    ///   - table: The table, optionally schema-qualified through `schema`.
    ///   - columns: The columns the row values are for, in order.
    ///   - rows: One array of values per row; `nil` optionals become NULL.
    /// - Returns: The number of rows copied.
    @discardableResult
    public func copy(
        into table: SQLIdentifier,
        schema: SQLIdentifier? = nil,
        columns: [SQLIdentifier],
        rows: [[any PostgresEncodable]]
    ) async throws -> Int {
        for (number, row) in rows.enumerated() where row.count != columns.count {
            throw PostgresError(
                code: .invalidArgument,
                message: "COPY row \(number + 1) has \(row.count) values for \(columns.count) columns"
            )
        }
        let target = (schema.map { $0.quoted + "." } ?? "") + table.quoted
        let sql = "COPY \(target) (\(columns.map(\.quoted).joined(separator: ", "))) FROM STDIN"
        let data = CopyTextFormat.encode(rows)
        return try await run { handle throws(PostgresError) in
            try handle.copyIn(sql, data: data)
        }
    }

    /// Sends a notification to every session listening on `channel`.
    public func notify(channel: String, payload: String) async throws {
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// - Parameters:
    ///   - isolationLevel: The transaction's isolation level.
    ///   - statementTimeout: A `SET LOCAL statement_timeout` for every statement inside.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        statementTimeout: Duration? = nil,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await withTransaction(
            isolationLevel: isolationLevel, statementTimeout: statementTimeout, beginningWith: nil
        ) { transaction, _ in
            try await body(transaction)
        }
    }

    /// Runs `body` in a transaction whose first statements, `script`, go to the server in the
    /// same round trip as `BEGIN` (and the statement timeout); `body` gets the rows of the
    /// script's last statement. `script` is SQL written in the program (identifiers quoted), never
    /// text built from input.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        statementTimeout: Duration? = nil,
        beginningWith script: String?,
        _ body: (PostgresTransaction, PostgresRows) async throws -> Result
    ) async throws -> Result {
        var opening = "BEGIN ISOLATION LEVEL \(isolationLevel.sql)"
        if let statementTimeout { opening += "; SET LOCAL statement_timeout = \(statementTimeout.wholeMilliseconds)" }
        if let script { opening += "; " + script }
        let opened: PostgresRows
        do {
            opened = try await executeScript(opening)
        } catch {
            // A statement after BEGIN failed: the server skipped the rest of the script and holds
            // an aborted transaction. (When BEGIN itself failed there is none to end.)
            if statementTimeout != nil || script != nil { await rollbackQuietly("ROLLBACK") }
            throw error
        }
        do {
            let result = try await body(PostgresTransaction(connection: self, depth: 0), opened)
            try await executeScript("COMMIT")
            return result
        } catch {
            await rollbackQuietly("ROLLBACK")
            throw error
        }
    }

    /// Issues a rollback, logging instead of throwing when it fails: the body's error is the one
    /// that matters, and a connection whose rollback failed is discarded by the pool.
    func rollbackQuietly(_ statement: String) async {
        do {
            try await executeScript(statement)
        } catch {
            logger.warning("rollback failed", ["error": String(describing: error)])
        }
    }

    // MARK: Health

    /// Whether the connection is usable: not closed, not broken, not inside a transaction.
    /// Reads pending input first, so a server restart is noticed without a round trip.
    public func isHealthy() async -> Bool {
        (try? await run { handle in handle.consumeInput() && handle.isIdleOutsideTransaction }) ?? false
    }

    /// Checks with a round trip that the server answers.
    public func ping() async -> Bool {
        (try? await query("SELECT 1", timeout: .seconds(2))) != nil
    }

    /// The server's version number, e.g. `150018` for 15.18.
    public var serverVersion: Int { handle.serverVersion }

    /// The server process serving this connection.
    public var backendProcessID: Int32 { handle.backendProcessID }

    public var isClosed: Bool { handle.isFinished || handle.isAbandoned }

    /// Closes the connection after any running statement (an abandoned one when its stalled
    /// statement ends, without waiting for that).
    public func close() async {
        let handle = self.handle
        watchdog.withLock { $0?.cancel() }
        if handle.isAbandoned {
            queue.async { handle.finish() }
            return
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                handle.finish()
                continuation.resume()
            }
        }
    }

    // MARK: Notifications (used by the listener)

    func receiveNotifications() async throws -> (alive: Bool, notifications: [PostgresNotification]) {
        try await run { handle in
            let alive = handle.consumeInput()
            return (alive, handle.takeNotifications())
        }
    }
}

/// Transaction isolation levels.
public enum PostgresIsolationLevel: Sendable {
    case readCommitted
    case repeatableRead
    case serializable

    var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }
}

/// COPY's text format: tab-separated columns, `\N` for NULL, backslash escapes.
enum CopyTextFormat {
    static func encode(_ rows: [[any PostgresEncodable]]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(rows.count * 32)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { output.append(UInt8(ascii: "\t")) }
                guard let text = value.postgresText else {
                    output.append(contentsOf: "\\N".utf8)
                    continue
                }
                for byte in text.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
                    case UInt8(ascii: "\t"): output.append(contentsOf: "\\t".utf8)
                    case UInt8(ascii: "\n"): output.append(contentsOf: "\\n".utf8)
                    case UInt8(ascii: "\r"): output.append(contentsOf: "\\r".utf8)
                    default: output.append(byte)
                    }
                }
            }
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }
}

/// The watchdog's reference to its connection: weak, so an unreferenced connection is freed
/// (its deinit stops the watchdog).
private final class WeakConnection: Sendable {
    // A weak reference is read and cleared atomically by the runtime; `let` is not allowed for
    // weak properties, and nothing else writes it.
    nonisolated(unsafe) weak var connection: PostgresConnection?

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }
}
