import ScryptexCore
import ScryptexEventLoops
import Synchronization

/// What a connection is asked to do in one flight.
enum PostgresWork: Sendable {
    /// Statements sent together in pipeline mode and synced once: a failing statement aborts
    /// the ones after it, exactly as the server does.
    case pipeline([PostgresStatement])
    /// A script of statements without parameters (simple protocol), for SQL in the program.
    case script(String)
    /// `COPY … FROM STDIN` and its data (COPY text format).
    case copy(sql: String, data: [UInt8])
}

/// One statement of a pipeline.
struct PostgresStatement: Sendable {
    var sql: String
    var bindings: PostgresBindings
    /// Whether to run it as a named prepared statement (cached per connection).
    var prepared: Bool

    init(_ query: PostgresQuery, prepared: Bool = true) {
        sql = query.sql
        bindings = query.bindings
        self.prepared = prepared
    }

    init(static sql: String) {
        self.sql = sql
        bindings = PostgresBindings()
        prepared = true
    }
}

enum PostgresOutput: Sendable {
    /// One outcome per statement of a pipeline, in order.
    case pipeline([Result<PostgresRows, PostgresError>])
    /// The rows of a script's last statement, or of a COPY.
    case rows(PostgresRows)
}

/// The state visible outside the loop: read by the pool without a hop.
final class PostgresConnectionStatus: Sendable {
    let isClosed = Atomic<Bool>(false)
    /// Outside any transaction once the requests submitted so far are done.
    let endsIdle = Atomic<Bool>(true)
    let pendingRequests = Atomic<Int>(0)
}

/// Drives one libpq connection from an event loop: the connection's socket is registered with
/// the loop; requests are sent without blocking and their results read as the socket becomes
/// readable; timeouts are loop timers.
///
/// Loop-confined: every method and property is used on `loop`'s thread only (callers come in
/// through `LoopBound`), so it needs no locks.
final class PostgresConnectionDriver: EventLoopSource {
    let loop: EventLoop
    private let handle: LibPQConnectionHandle
    private let logger: Logger
    let status: PostgresConnectionStatus
    private(set) var canceller: PostgresCanceller?

    private var registration: (token: UInt64, socket: Int32)?
    private var watchingWrites = false

    private enum Phase {
        case connecting(CheckedContinuation<Void, any Error>, EventLoopTimer)
        case ready
        case closed(PostgresError)
    }

    private var phase: Phase = .ready
    private var requests: [PostgresRequest] = []
    private var highestSubmittedID: UInt64 = 0
    private var cancelledBeforeSubmission: Set<UInt64> = []
    private var statementCache: PreparedStatementCache
    /// Called on the loop with each notification received (LISTEN).
    var notificationHandler: ((PostgresNotification) -> Void)?
    /// Called on the loop once, when the connection breaks or is closed.
    var closeHandler: (() -> Void)?

    init(loop: EventLoop, handle: LibPQConnectionHandle, status: PostgresConnectionStatus, logger: Logger) {
        self.loop = loop
        self.handle = handle
        self.status = status
        self.logger = logger
        statementCache = PreparedStatementCache(capacity: 256)
    }

    // MARK: Connecting

    func connect(timeout: Duration, continuation: CheckedContinuation<Void, any Error>) {
        let timer = loop.schedule(at: loop.now + timeout) { [self] in
            fail(
                PostgresError(
                    code: .connectionFailed, message: "no connection within \(timeout.wholeMilliseconds / 1000) s"))
        }
        phase = .connecting(continuation, timer)
        // libpq's first step is to wait until the socket is writable.
        watch(readable: false, writable: true)
    }

    private func continueConnecting() {
        guard case .connecting(let continuation, let timer) = phase else { return }
        switch handle.pollConnect() {
        case .waitForReadable:
            watch(readable: true, writable: false)
        case .waitForWritable:
            watch(readable: false, writable: true)
        case .connected:
            loop.cancel(timer)
            phase = .ready
            canceller = handle.makeCanceller()
            watch(readable: true, writable: false)
            continuation.resume()
        case .failed(let error):
            fail(error)
        }
    }

    var serverVersion: Int { handle.serverVersion }
    var backendProcessID: Int32 { handle.backendProcessID }

    // MARK: Registration with the loop

    /// Registers the current socket for the given readiness (it may change while connecting).
    private func watch(readable: Bool, writable: Bool) {
        let socket = handle.socket
        guard socket >= 0 else { return }
        var events = readable ? EventLoopEvents.readable | EventLoopEvents.peerClosed : 0
        if writable { events |= EventLoopEvents.writable }
        if let registration, registration.socket == socket {
            loop.modify(token: registration.token, descriptor: socket, events: events)
        } else {
            if let registration { loop.deregister(token: registration.token, descriptor: registration.socket) }
            registration = (loop.register(self, descriptor: socket, events: events), socket)
        }
        watchingWrites = writable
    }

    func handle(events: UInt32) {
        if case .connecting = phase {
            continueConnecting()
            return
        }
        guard case .ready = phase else { return }
        if events & EventLoopEvents.writable != 0 { flushOutput() }
        if events & ~EventLoopEvents.writable != 0 { readInput() }
    }

    // MARK: Requests

    func submit(_ request: PostgresRequest) {
        highestSubmittedID = max(highestSubmittedID, request.id)
        if cancelledBeforeSubmission.remove(request.id) != nil {
            request.finish(
                .failure(PostgresError(code: .cancelled, message: "the statement was cancelled before it started")))
            return
        }
        if case .closed(let error) = phase {
            request.finish(.failure(error))
            return
        }
        status.pendingRequests.add(1, ordering: .relaxed)
        // A caller that hands the connection back before its COMMIT is answered relies on it.
        if request.endsTransaction { status.endsIdle.store(true, ordering: .relaxed) }
        request.deadlineTimer = loop.schedule(at: loop.now + request.answerDeadline) { [self] in
            expire(request)
        }
        requests.append(request)
        if requests.count == 1, case .ready = phase { start(request) }
    }

    /// Cancels request `id`: dropped if it has not been sent, else cancelled on the server.
    func cancel(_ id: UInt64, becauseOfTimeout: Bool) {
        guard let index = requests.firstIndex(where: { $0.id == id }) else {
            if id > highestSubmittedID { cancelledBeforeSubmission.insert(id) }
            return
        }
        let request = requests[index]
        if becauseOfTimeout { request.timedOut = true } else { request.cancelRequested = true }
        if index == 0 && request.isSent {
            canceller?.requestCancel()
        } else if index > 0 {
            requests.remove(at: index)
            complete(
                request,
                .failure(
                    PostgresError(
                        code: becauseOfTimeout ? .statementTimeout : .cancelled,
                        message: "the statement was cancelled before it started")),
                startNext: false)
        }
    }

    /// The answer deadline passed: the server is stalled. The caller is failed and the
    /// connection closed (nothing is blocked on it, so nothing waits for the server).
    private func expire(_ request: PostgresRequest) {
        request.deadlineTimer = nil
        fail(
            PostgresError(
                code: .statementTimeout,
                message: "the database did not answer within \(request.answerDeadline.wholeMilliseconds) ms"))
    }

    private func start(_ request: PostgresRequest) {
        request.isSent = true
        if let timeout = request.timeout {
            request.timeoutTimer = loop.schedule(at: loop.now + timeout) { [self] in
                cancel(request.id, becauseOfTimeout: true)
            }
        }
        var sent: Bool
        switch request.work {
        case .pipeline(let statements):
            sent = handle.enterPipelineMode()
            var evicted: [String] = []
            for (index, statement) in statements.enumerated() where sent {
                if statement.prepared {
                    let key = PreparedStatementCache.Key(sql: statement.sql, types: statement.bindings.types)
                    let (name, isNew, dropped) = statementCache.name(for: key)
                    if let dropped { evicted.append(dropped) }
                    if isNew {
                        request.newlyPrepared.append(key)
                        sent = handle.sendPrepare(name: name, sql: statement.sql, bindings: statement.bindings)
                        request.expectations.append(.preparation(statement: index, name: name))
                    }
                    sent = sent && handle.sendPrepared(name: name, bindings: statement.bindings)
                } else {
                    sent = handle.sendStatement(statement.sql, bindings: statement.bindings)
                }
                request.expectations.append(.statement(index))
            }
            // Statements the cache let go are deallocated on the server at the end of the
            // flight (if an earlier statement fails they stay until the connection closes).
            for name in evicted where sent {
                sent = handle.sendStatement("DEALLOCATE \(name)", bindings: PostgresBindings())
                request.expectations.append(.deallocation)
            }
            request.outcomes = Array(repeating: nil, count: statements.count)
            sent = sent && handle.pipelineSync()
            request.expectations.append(.sync)
        case .script(let sql):
            sent = handle.sendScript(sql)
        case .copy(let sql, _):
            sent = handle.sendScript(sql)
        }
        guard sent else {
            fail(handle.connectionError())
            return
        }
        flushOutput()
    }

    private func flushOutput() {
        guard let request = requests.first, request.isSent else {
            if watchingWrites { watch(readable: true, writable: false) }
            return
        }
        if request.copyOffset != nil, !sendCopyData(request) { return }
        switch handle.flush() {
        case .done:
            if watchingWrites { watch(readable: true, writable: false) }
        case .pending:
            if !watchingWrites { watch(readable: true, writable: true) }
        case .failed:
            fail(handle.connectionError())
        }
    }

    /// Queues as much COPY data as libpq takes; false if the connection broke.
    private func sendCopyData(_ request: PostgresRequest) -> Bool {
        guard case .copy(_, let data) = request.work, var offset = request.copyOffset else { return true }
        while offset < data.count {
            let end = min(offset + 64 * 1024, data.count)
            guard let queued = handle.putCopyData(data[offset..<end]) else {
                fail(handle.connectionError())
                return false
            }
            if !queued { break }
            offset = end
        }
        request.copyOffset = offset
        if offset == data.count {
            guard let ended = handle.putCopyEnd(failure: nil) else {
                fail(handle.connectionError())
                return false
            }
            if ended { request.copyOffset = nil }
        }
        return true
    }

    private func readInput() {
        guard handle.consumeInput() else {
            fail(handle.connectionError())
            return
        }
        processResults()
        deliverNotifications()
    }

    private func deliverNotifications() {
        let notifications = handle.takeNotifications()
        guard let notificationHandler else { return }
        for notification in notifications { notificationHandler(notification) }
    }

    private func processResults() {
        while let request = requests.first, request.isSent, !handle.isBusy {
            let result = handle.nextResult()
            switch request.work {
            case .pipeline:
                if let output = request.receivePipelineResult(result) { complete(request, output, startNext: true) }
            case .script, .copy:
                // A COPY is a script whose server asks for the data first.
                if case .copyIn = result, case .copy = request.work {
                    request.copyOffset = 0
                    flushOutput()
                    return
                }
                if case .end = result {
                    complete(
                        request, request.firstError.map { .failure($0) } ?? .success(.rows(request.lastRows ?? .empty)),
                        startNext: true)
                } else {
                    request.receiveScriptResult(result)
                }
            }
            if case .closed = phase { return }
        }
    }

    private func complete(
        _ request: PostgresRequest, _ outcome: Result<PostgresOutput, PostgresError>, startNext: Bool
    ) {
        if startNext, let first = requests.first, first === request {
            requests.removeFirst()
            if handle.isInPipelineMode { _ = handle.exitPipelineMode() }
        }
        if let timer = request.timeoutTimer { loop.cancel(timer) }
        if let timer = request.deadlineTimer { loop.cancel(timer) }
        forgetInvalidatedStatements(request, outcome)
        status.pendingRequests.subtract(1, ordering: .relaxed)
        let idle = handle.isIdleOutsideTransaction
        if requests.isEmpty { status.endsIdle.store(idle, ordering: .relaxed) }
        request.finish(outcome.mapError { request.classify($0) })
        if request.endsTransaction && !idle && startNext {
            // A COMMIT or ROLLBACK that left a transaction open: never let another caller in.
            fail(PostgresError(code: .connectionClosed, message: "the transaction did not end; connection closed"))
            return
        }
        if requests.isEmpty && closeWhenIdle {
            fail(PostgresError(code: .connectionClosed, message: "the connection is closed"))
            return
        }
        if startNext, let next = requests.first, !next.isSent, case .ready = phase { start(next) }
    }

    /// A server that dropped or replanned a prepared statement incompatibly ("cached plan must
    /// not change result type" after a migration, `DISCARD ALL`) gets it prepared afresh.
    private func forgetInvalidatedStatements(
        _ request: PostgresRequest, _ outcome: Result<PostgresOutput, PostgresError>
    ) {
        var errors: [PostgresError] = []
        switch outcome {
        case .failure(let error): errors = [error]
        case .success(.pipeline(let results)):
            errors = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        case .success(.rows): return
        }
        guard !errors.isEmpty else { return }
        // Statements prepared in a failed flight may not exist on the server.
        for key in request.newlyPrepared { statementCache.remove(key) }
        for error in errors
        where error.sqlState == .featureNotSupported || error.sqlState == .invalidSQLStatementName {
            statementCache.removeAll()
        }
    }

    // MARK: Failure and closing

    /// The connection is unusable: every request fails with `error` and the socket is closed.
    func fail(_ error: PostgresError) {
        if case .closed = phase { return }
        if case .connecting(let continuation, let timer) = phase {
            loop.cancel(timer)
            continuation.resume(throwing: PostgresError(code: .connectionFailed, message: error.message))
        }
        phase = .closed(error)
        status.isClosed.store(true, ordering: .releasing)
        status.endsIdle.store(false, ordering: .relaxed)
        if let registration { loop.deregister(token: registration.token, descriptor: registration.socket) }
        registration = nil
        handle.finish()
        let failed = requests
        requests.removeAll()
        for request in failed {
            if let timer = request.timeoutTimer { loop.cancel(timer) }
            if let timer = request.deadlineTimer { loop.cancel(timer) }
            status.pendingRequests.subtract(1, ordering: .relaxed)
            request.finish(.failure(error))
        }
        closeHandler?()
        closeHandler = nil
        notificationHandler = nil
    }

    /// Closes the connection once the requests already submitted are done.
    func close() {
        if requests.isEmpty {
            fail(PostgresError(code: .connectionClosed, message: "the connection is closed"))
        } else {
            closeWhenIdle = true
        }
    }

    private var closeWhenIdle = false
}

/// One request in flight on a driver (loop-confined, like the driver).
final class PostgresRequest {
    enum Expectation {
        case preparation(statement: Int, name: String)
        case statement(Int)
        case deallocation
        case sync
    }

    let id: UInt64
    let work: PostgresWork
    let timeout: Duration?
    let answerDeadline: Duration
    private let completion: (Result<PostgresOutput, PostgresError>) -> Void
    var isSent = false
    var cancelRequested = false
    var timedOut = false
    var timeoutTimer: EventLoopTimer?
    var deadlineTimer: EventLoopTimer?
    var copyOffset: Int?
    /// A COMMIT or ROLLBACK: the connection is outside a transaction once it is answered.
    var endsTransaction = false
    var newlyPrepared: [PreparedStatementCache.Key] = []

    // Pipeline bookkeeping.
    var expectations: [Expectation] = []
    private var cursor = 0
    private var currentHasResult = false
    var outcomes: [Result<PostgresRows, PostgresError>?] = []
    private var pipelineError: PostgresError?

    // Script bookkeeping.
    var lastRows: PostgresRows?
    var firstError: PostgresError?

    init(
        id: UInt64, work: PostgresWork, timeout: Duration?, answerDeadline: Duration,
        completion: @escaping (Result<PostgresOutput, PostgresError>) -> Void
    ) {
        self.id = id
        self.work = work
        self.timeout = timeout
        self.answerDeadline = answerDeadline
        self.completion = completion
    }

    func finish(_ outcome: Result<PostgresOutput, PostgresError>) {
        completion(outcome)
    }

    /// Files one result of a pipeline; returns the output when the sync point arrives.
    func receivePipelineResult(_ result: LibPQConnectionHandle.Result) -> Result<PostgresOutput, PostgresError>? {
        switch result {
        case .end:
            // The end of one statement's results: move on to the next expectation.
            if currentHasResult {
                cursor += 1
                currentHasResult = false
            }
            return nil
        case .pipelineSync:
            let aborted = PostgresError(
                code: .server,
                message: "not run: an earlier statement in the same pipeline failed"
                    + (pipelineError.map { " (\($0.message))" } ?? ""))
            let results = outcomes.map { $0 ?? .failure(aborted) }
            return .success(.pipeline(results))
        case .pipelineAborted:
            currentHasResult = true
            return nil
        case .rows(let rows):
            currentHasResult = true
            if cursor < expectations.count, case .statement(let index) = expectations[cursor] {
                outcomes[index] = .success(rows)
            }
            return nil
        case .error(let error):
            currentHasResult = true
            pipelineError = pipelineError ?? error
            if cursor < expectations.count {
                switch expectations[cursor] {
                case .statement(let index), .preparation(let index, _): outcomes[index] = .failure(error)
                case .deallocation, .sync: break
                }
            }
            return nil
        case .copyIn:
            currentHasResult = true
            return nil
        }
    }

    func receiveScriptResult(_ result: LibPQConnectionHandle.Result) {
        switch result {
        case .rows(let rows): lastRows = rows
        case .error(let error): firstError = firstError ?? error
        default: break
        }
    }

    /// Turns a server "query canceled" error into a timeout or cancellation error when this
    /// client asked for it.
    func classify(_ error: PostgresError) -> PostgresError {
        guard error.sqlState == .queryCanceled else { return error }
        var classified = error
        if timedOut {
            classified.code = .statementTimeout
        } else if cancelRequested {
            classified.code = .cancelled
        }
        return classified
    }
}

extension Result where Success == PostgresOutput, Failure == PostgresError {
    fileprivate func mapError(_ transform: (PostgresError) -> PostgresError) -> Self {
        switch self {
        case .success(.pipeline(let results)):
            .success(.pipeline(results.map { $0.mapError(transform) }))
        case .success: self
        case .failure(let error): .failure(transform(error))
        }
    }
}

/// Names of the statements prepared on one connection, least recently used first out.
struct PreparedStatementCache {
    struct Key: Hashable {
        var sql: String
        var types: [PostgresDataType]
    }

    private var names: [Key: (name: String, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var nextNumber = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The statement's name; `isNew` when it must be prepared first, and a name to deallocate
    /// when the cache was full.
    mutating func name(for key: Key) -> (name: String, isNew: Bool, evicted: String?) {
        clock += 1
        if let known = names[key] {
            names[key] = (known.name, clock)
            return (known.name, false, nil)
        }
        var evicted: String?
        if names.count >= capacity, let oldest = names.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            names.removeValue(forKey: oldest.key)
            evicted = oldest.value.name
        }
        nextNumber += 1
        let name = "scryptex_\(nextNumber)"
        names[key] = (name, clock)
        return (name, true, evicted)
    }

    mutating func remove(_ key: Key) {
        names.removeValue(forKey: key)
    }

    mutating func removeAll() {
        names.removeAll()
    }
}
