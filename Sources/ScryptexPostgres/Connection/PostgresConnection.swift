public import ScryptexCore
public import ScryptexEventLoops
import Synchronization

/// One connection to PostgreSQL, driven by an event loop.
///
/// The connection's socket is registered with one `EventLoop` (the caller's, when it runs on
/// one); statements are sent with libpq's non-blocking calls and their results read when the
/// loop sees the socket readable. No thread ever waits on the database: a caller suspends, and
/// is resumed by the loop when the answer is in. Statements that do not need each other's
/// results go out together in pipeline mode (`BEGIN`, the opening of a transaction and its first
/// statement: one round trip), and statements are prepared once per connection and then
/// executed by name.
///
/// A connection serves one task at a time; share connections through `PostgresConnectionPool`.
/// Cancelling the awaiting task cancels the running statement on the server.
public final class PostgresConnection: Sendable {
    private let driver: LoopBound<PostgresConnectionDriver>
    let status: PostgresConnectionStatus
    public let configuration: PostgresConfiguration
    /// The loop the connection's socket is registered with.
    public let loop: EventLoop
    /// When the connection was opened (the pool retires connections past a lifetime).
    public let openedAt = ContinuousClock.now
    /// The server's version number, e.g. `150018` for 15.18.
    public let serverVersion: Int
    /// The server process serving this connection.
    public let backendProcessID: Int32
    let logger: Logger
    private let nextRequestID = Atomic<UInt64>(1)
    /// Statements of a transaction not sent yet: they go out with the next statement.
    private let pendingOpening = Mutex<PostgresTransactionOpening?>(nil)
    /// The opening every pipeline of a read-only transaction carries, and whether one was sent.
    private let repeatingOpening = Mutex<(opening: PostgresTransactionOpening, used: Bool)?>(nil)
    /// The `statementTimeout` of the transaction in progress, if it set one (zero: none).
    private let transactionStatementTimeout = Mutex<Duration?>(nil)
    /// Values derived from what this connection is connected to (which never changes), made
    /// once per connection by `remember(_:as:)`.
    private let remembered = Mutex<[String: String]>([:])
    /// Where each request's round trip is recorded (the pool's, for its connections).
    let timings: PostgresTimings?

    private init(
        driver: PostgresConnectionDriver, configuration: PostgresConfiguration, logger: Logger,
        timings: PostgresTimings?
    ) {
        self.timings = timings
        self.driver = LoopBound(value: driver, loop: driver.loop)
        self.status = driver.status
        self.loop = driver.loop
        self.configuration = configuration
        self.logger = logger
        // Read on the loop right after connecting, before anyone else has the driver.
        self.serverVersion = driver.serverVersion
        self.backendProcessID = driver.backendProcessID
    }

    deinit {
        driver.withValue { $0.close() }
    }

    /// Opens a connection, trying once, on `loop` (by default the caller's loop if it runs on
    /// one of the shared group's, else the next of that group).
    /// - Throws: `PostgresError` with code `.connectionFailed` and libpq's reason.
    /// Connects, lends the connection to `body`, and closes it afterwards, whatever happens.
    @discardableResult
    public static func withConnection<Result>(
        configuration: PostgresConfiguration, logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let connection = try await connect(configuration: configuration, logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    public static func connect(
        configuration: PostgresConfiguration, on loop: EventLoop? = nil, logger: Logger,
        timings: PostgresTimings? = nil
    ) async throws -> PostgresConnection {
        let loop = loop ?? EventLoopGroup.shared.preferredLoop()
        let handle = try LibPQConnectionHandle.startConnecting(
            parameters: configuration.libpqParameters, logger: logger)
        let driver = PostgresConnectionDriver(
            loop: loop, handle: handle, status: PostgresConnectionStatus(), logger: logger)
        let bound = LoopBound(value: driver, loop: loop)
        let timeout = Duration.seconds(configuration.connectTimeoutSeconds)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            bound.withValue { $0.connect(timeout: timeout, continuation: continuation) }
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<PostgresConnection, Never>) in
            bound.withValue { driver in
                continuation.resume(
                    returning: PostgresConnection(
                        driver: driver, configuration: configuration, logger: logger, timings: timings))
            }
        }
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

    // MARK: Sending work

    /// Hands `work` to the loop and waits for its answer. Whatever happens on the server, the
    /// answer comes by a deadline: the timeout and two seconds for the cancel to land, or
    /// `configuration.answerDeadline`; a server that answers neither the statement nor the cancel
    /// (stopped, partitioned away) gets the connection closed and the caller `.statementTimeout`.
    func send(
        _ work: PostgresWork, timeout: Duration? = nil, endsTransaction: Bool = false
    ) async throws
        -> PostgresOutput
    {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let deadline = answerDeadline(timeout: timeout)
        let driver = self.driver
        let started = timings == nil ? nil : ContinuousClock.now
        defer { if let started { timings?.statements.record(.now - started) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<PostgresOutput, any Error>) in
                let request = PostgresRequest(id: id, work: work, timeout: timeout, answerDeadline: deadline) {
                    continuation.resume(with: $0)
                }
                request.endsTransaction = endsTransaction
                let box = RequestBox(request: request)
                driver.withValue { $0.submit(box.request) }
            }
        } onCancel: {
            driver.withValue { $0.cancel(id, becauseOfTimeout: false) }
        }
    }

    /// How long a request may go unanswered before the server counts as stalled: its own timeout,
    /// else the transaction's statement timeout (none: an hour), each with 2 s for the answer
    /// to arrive, else the configuration's.
    private func answerDeadline(timeout: Duration?) -> Duration {
        if let timeout { return timeout + .seconds(2) }
        if let limit = transactionStatementTimeout.withLock({ $0 }) {
            return limit == .zero ? .seconds(3600) : limit + .seconds(2)
        }
        return configuration.answerDeadline
    }

    /// Sends a request and does not wait for its answer (a read-only transaction's COMMIT): the
    /// connection runs it before anything sent later, and closes itself if it fails.
    func sendWithoutWaiting(_ work: PostgresWork, endsTransaction: Bool) {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let logger = self.logger
        let request = PostgresRequest(
            id: id, work: work, timeout: nil, answerDeadline: configuration.answerDeadline
        ) { outcome in
            if case .failure(let error) = outcome {
                logger.warning("a statement sent without waiting failed", ["error": String(describing: error)])
            }
        }
        request.endsTransaction = endsTransaction
        // Said now, not when the loop takes the request: the pool may look before that.
        if endsTransaction { status.endsIdle.store(true, ordering: .relaxed) }
        let box = RequestBox(request: request)
        driver.withValue { $0.submit(box.request) }
    }

    /// Runs statements in one pipeline (one round trip), sending first any transaction opening
    /// still pending; returns one outcome per statement.
    func pipeline(
        _ statements: [PostgresStatement], timeout: Duration? = nil
    ) async throws
        -> [Result<PostgresRows, PostgresError>]
    {
        let repeating = repeatingOpening.withLock { state -> PostgresTransactionOpening? in
            state?.used = true
            return state?.opening
        }
        let opening = repeating ?? pendingOpening.withLock { $0.take() }
        let all = (opening?.statements ?? []) + statements
        guard case .pipeline(let results) = try await send(.pipeline(all), timeout: timeout) else {
            preconditionFailure("a pipeline answers with a pipeline's results")
        }
        guard let opening else { return results }
        let openingCount = opening.statements.count
        for result in results.prefix(openingCount) {
            if case .failure(let error) = result { throw error }
        }
        if openingCount > 0, case .success(let rows) = results[openingCount - 1] {
            try opening.verify(rows)
        }
        return Array(results.dropFirst(openingCount))
    }

    /// Sends a pending transaction opening on its own (before a script or a COPY).
    private func sendPendingOpening() async throws {
        if repeatingOpening.withLock({ $0 != nil }) {
            throw PostgresError(
                code: .invalidArgument,
                message: "a script or COPY cannot run in a read-only transaction (it runs as single pipelines)")
        }
        if pendingOpening.withLock({ $0 != nil }) { _ = try await pipeline([]) }
    }

    var hasPendingOpening: Bool { pendingOpening.withLock { $0 != nil } }

    func setPendingOpening(_ opening: PostgresTransactionOpening?) {
        pendingOpening.withLock { $0 = opening }
    }

    // MARK: Statements

    /// Runs a statement and returns its rows.
    /// - Parameters:
    ///   - query: The statement; interpolated values are bound as parameters.
    ///   - timeout: Cancel the statement on the server if it runs longer than this.
    /// - Throws: `PostgresError`; a server error carries its SQLSTATE and fields.
    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> PostgresRows {
        try await pipeline([PostgresStatement(query)], timeout: timeout)[0].get()
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
        try await sendPendingOpening()
        guard case .rows(let rows) = try await send(.script(script), timeout: timeout) else {
            preconditionFailure("a script answers with rows")
        }
        return rows
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
        try await sendPendingOpening()
        guard case .rows(let result) = try await send(.copy(sql: sql, data: CopyTextFormat.encode(rows))) else {
            preconditionFailure("a COPY answers with rows")
        }
        return result.affectedRowCount
    }

    /// Sends a notification to every session listening on `channel`.
    public func notify(channel: String, payload: String) async throws {
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// `BEGIN` (with the statement timeout and `opening`) is not sent on its own: it goes out in
    /// the same pipeline as the body's first statement. A read-only transaction's `COMMIT` is
    /// not waited for: the connection runs it before anything else, and the server refuses any
    /// write inside (`BEGIN … READ ONLY`), so the body's results stand whatever it answers.
    /// - Parameters:
    ///   - isolationLevel: The transaction's isolation level.
    ///   - readOnly: Whether the transaction may only read.
    ///   - statementTimeout: A `SET LOCAL statement_timeout` for every statement inside (zero:
    ///     none, for migrations); the client waits that long (and 2 s) for each answer.
    ///   - opening: Statements that open the transaction (assuming a tenant's role, say) and a
    ///     check of the rows of the last one, run before the body's first statement is trusted.
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        readOnly: Bool = false,
        statementTimeout: Duration? = nil,
        opening: PostgresTransactionOpening? = nil,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        if readOnly && isolationLevel == .readCommitted && statementTimeout == nil {
            return try await withReadOnlyFlights(opening: opening, body)
        }
        var statements = [
            PostgresStatement(static: "BEGIN ISOLATION LEVEL \(isolationLevel.sql)\(readOnly ? " READ ONLY" : "")")
        ]
        if let statementTimeout {
            statements.append(
                PostgresStatement(static: "SET LOCAL statement_timeout = \(statementTimeout.wholeMilliseconds)"))
        }
        statements += opening?.statements ?? []
        let verify: @Sendable (PostgresRows) throws -> Void =
            opening?.verify ?? PostgresTransactionOpening.acceptAnything
        setPendingOpening(PostgresTransactionOpening(statements: statements, verify: verify))
        transactionStatementTimeout.withLock { $0 = statementTimeout }
        defer { transactionStatementTimeout.withLock { $0 = nil } }
        do {
            let result = try await body(PostgresTransaction(connection: self, depth: 0))
            if opening != nil && hasPendingOpening {
                // The body ran no statement, but the opening's check must still pass.
                _ = try await pipeline([])
            } else if pendingOpening.withLock({ $0.take() }) != nil {
                // The body ran no statement: there is no transaction to end.
                return result
            }
            if readOnly {
                sendWithoutWaiting(.pipeline([PostgresStatement(static: "COMMIT")]), endsTransaction: true)
            } else {
                try await endTransaction("COMMIT")
            }
            return result
        } catch {
            if pendingOpening.withLock({ $0.take() }) == nil { await rollbackQuietly("ROLLBACK") }
            throw error
        }
    }

    /// A read-only READ COMMITTED transaction as a series of flights: each of the body's pipelines
    /// carries the opening in front (`transaction_read_only` and the caller's statements) and is
    /// its own implicit transaction, ended by its sync point — no `BEGIN`, no `COMMIT`. The body
    /// cannot tell the difference: under READ COMMITTED every statement takes a fresh snapshot
    /// anyway, writes are refused by the server, and the opening's settings are local to each
    /// flight. Scripts and COPY (which cannot join a pipeline) are refused.
    private func withReadOnlyFlights<Result>(
        isolation: isolated (any Actor)? = #isolation,
        opening: PostgresTransactionOpening?,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        let statements =
            [PostgresStatement(static: "SELECT set_config('transaction_read_only', 'on', true)")]
            + (opening?.statements ?? [])
        let verify: @Sendable (PostgresRows) throws -> Void =
            opening?.verify ?? PostgresTransactionOpening.acceptAnything
        repeatingOpening.withLock {
            $0 = (PostgresTransactionOpening(statements: statements, verify: verify), false)
        }
        defer { repeatingOpening.withLock { $0 = nil } }
        let result = try await body(PostgresTransaction(connection: self, depth: 0))
        if opening != nil, repeatingOpening.withLock({ $0?.used == false }) {
            // The body ran no statement, but the opening's check must still pass.
            _ = try await pipeline([])
        }
        return result
    }

    /// Ends the transaction with `statement` (COMMIT or ROLLBACK) and waits for the answer.
    private func endTransaction(_ statement: String) async throws {
        guard
            case .pipeline(let results) = try await send(
                .pipeline([PostgresStatement(static: statement)]), endsTransaction: true)
        else { preconditionFailure("a pipeline answers with a pipeline's results") }
        _ = try results[0].get()
    }

    /// Issues a rollback, logging instead of throwing when it fails: the body's error is the one
    /// that matters, and a connection whose rollback failed is discarded by the pool.
    func rollbackQuietly(_ statement: String) async {
        do {
            if statement == "ROLLBACK" {
                try await endTransaction(statement)
            } else {
                try await executeScript(statement)
            }
        } catch {
            logger.warning("rollback failed", ["error": String(describing: error)])
        }
    }

    // MARK: Health

    /// Whether the connection is open and will be outside any transaction once the requests
    /// sent so far are answered: known without a round trip (the loop notices a closed socket).
    public var isHealthy: Bool {
        !status.isClosed.load(ordering: .acquiring) && status.endsIdle.load(ordering: .relaxed)
    }

    /// Checks with a round trip that the server answers.
    public func ping() async -> Bool {
        (try? await query("SELECT 1", timeout: .seconds(2))) != nil
    }

    public var isClosed: Bool { status.isClosed.load(ordering: .acquiring) }

    /// Closes the connection after the requests already sent.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            close { continuation.resume() }
        }
    }

    /// Closes the connection on its loop without waiting for it: `closed` runs on the loop once
    /// it is (for a caller that must not suspend, such as the pool giving a connection back).
    func close(then closed: @escaping @Sendable () -> Void) {
        driver.withValue { driver in
            driver.close()
            closed()
        }
    }

    // MARK: Notifications (used by the listener)

    /// Delivers every notification received on this connection to `handler` (on the loop), and
    /// calls `closed` once when the connection breaks.
    func observe(
        notifications handler: @escaping @Sendable (PostgresNotification) -> Void,
        closed: @escaping @Sendable () -> Void
    ) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            driver.withValue { driver in
                driver.notificationHandler = handler
                if driver.status.isClosed.load(ordering: .acquiring) {
                    closed()
                } else {
                    driver.closeHandler = closed
                }
                continuation.resume()
            }
        }
    }
}

/// Statements that open a transaction, sent with its first statement, and a check of the rows
/// of the last one (a tenant's schema canary, say): a failing check fails the transaction before
/// the body sees any result.
public struct PostgresTransactionOpening: Sendable {
    @Sendable static func acceptAnything(_ rows: PostgresRows) {}

    var statements: [PostgresStatement]
    var verify: @Sendable (PostgresRows) throws -> Void

    public init(statements: [PostgresQuery], verify: @escaping @Sendable (PostgresRows) throws -> Void = { _ in }) {
        self.statements = statements.map { PostgresStatement($0) }
        self.verify = verify
    }

    init(statements: [PostgresStatement], verify: @escaping @Sendable (PostgresRows) throws -> Void) {
        self.statements = statements
        self.verify = verify
    }
}

/// Carries a request (loop-confined, not `Sendable`) to the loop that will own it.
/// `@unchecked Sendable` is sound: the request is created here and touched only on the loop
/// from the moment it is handed over.
private struct RequestBox: @unchecked Sendable {
    let request: PostgresRequest
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

extension PostgresConnection {
    /// A value derived from this connection's server or database (its database's name, a role
    /// prefix made from it): made by `make` the first time `key` is asked on this connection,
    /// then kept for the connection's life.
    public func remember(_ key: String, as make: () async throws -> String) async throws -> String {
        if let known = remembered.withLock({ $0[key] }) { return known }
        let value = try await make()
        remembered.withLock { $0[key] = value }
        return value
    }
}
