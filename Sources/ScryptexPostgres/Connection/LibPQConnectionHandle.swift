internal import CLibPQ
import Dispatch
import Glibc
import ScryptexCore
import Synchronization

/// Owns one libpq connection (`PGconn`). This file is the only place in the module that touches
/// libpq's pointers; everything else works with Swift values.
///
/// `@unchecked Sendable` is sound here because:
/// - `connection` is used only from blocks running on the owning `PostgresConnection`'s serial
///   dispatch queue (one at a time), or from `deinit` once no other reference exists;
/// - `cancelToken` (`PGcancel`) is documented by libpq as safe to use from any thread with
///   `PQcancel` while the connection is busy, and is freed only in `deinit`;
/// - all other mutable state is `Atomic`.
final class LibPQConnectionHandle: @unchecked Sendable {
    private let connection: OpaquePointer
    private let cancelToken: OpaquePointer?
    private let noticeRelay: NoticeRelay
    private let finished = Atomic<Bool>(false)
    private let abandoned = Atomic<Bool>(false)

    // Cancellation bookkeeping: query ids are unique per handle, 0 means none.
    private let nextQueryID = Atomic<UInt64>(1)
    private let activeQuery = Atomic<UInt64>(0)
    private let cancelRequestedQuery = Atomic<UInt64>(0)
    private let timedOutQuery = Atomic<UInt64>(0)

    private init(connection: OpaquePointer, logger: Logger) {
        self.connection = connection
        self.cancelToken = PQgetCancel(connection)
        self.noticeRelay = NoticeRelay(logger: logger)
        // Server notices (NOTICE, WARNING) go to the JSON log instead of libpq's raw stderr
        // output. The relay lives as long as this handle, which outlives the connection.
        PQsetNoticeProcessor(
            connection,
            { context, message in
                guard let context, let message else { return }
                Unmanaged<NoticeRelay>.fromOpaque(context).takeUnretainedValue().relay(String(cString: message))
            },
            Unmanaged.passUnretained(noticeRelay).toOpaque()
        )
    }

    deinit {
        if !finished.load(ordering: .acquiring) {
            PQfinish(connection)
        }
        if let cancelToken {
            PQfreeCancel(cancelToken)
        }
    }

    /// Opens a connection with keyword/value parameters (never a spliced connection string).
    static func connect(parameters: [(String, String)], logger: Logger) throws(PostgresError) -> LibPQConnectionHandle {
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keywordPointers = keywords.map { UnsafePointer<CChar>($0) } + [nil]
        let valuePointers = values.map { UnsafePointer<CChar>($0) } + [nil]
        let connection = keywordPointers.withUnsafeBufferPointer { keywordBuffer in
            valuePointers.withUnsafeBufferPointer { valueBuffer in
                PQconnectdbParams(keywordBuffer.baseAddress, valueBuffer.baseAddress, 0)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmedMessage(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: message)
        }
        return LibPQConnectionHandle(connection: connection, logger: logger)
    }

    // MARK: Lifecycle and state

    /// Closes the connection; later calls fail with `.connectionClosed`.
    func finish() {
        if finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            PQfinish(connection)
        }
    }

    var isFinished: Bool { finished.load(ordering: .acquiring) }

    /// Marks the connection as given up on: a statement got no answer in time, and its thread
    /// may stay blocked in libpq until the socket fails. It is never used again.
    func abandon() { abandoned.store(true, ordering: .releasing) }

    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    /// Whether libpq still considers the connection good.
    var isConnectionOK: Bool { !isFinished && PQstatus(connection) == CONNECTION_OK }

    /// Whether the connection is outside any transaction and idle.
    var isIdleOutsideTransaction: Bool { !isFinished && PQtransactionStatus(connection) == PQTRANS_IDLE }

    var serverVersion: Int { Int(PQserverVersion(connection)) }
    var backendProcessID: Int32 { PQbackendPID(connection) }
    var socket: Int32 { PQsocket(connection) }

    /// Reads whatever the server has sent without blocking (libpq keeps its socket non-blocking),
    /// so a server that went away is noticed. Returns false if the connection is broken.
    func consumeInput() -> Bool {
        guard !isFinished else { return false }
        // A server that shuts down sends a FATAL message, then closes the socket: the first read
        // may return only the message, so read a second time to see the end of the stream.
        for _ in 0..<2 {
            guard PQconsumeInput(connection) == 1, PQstatus(connection) == CONNECTION_OK else { return false }
        }
        return true
    }

    /// Notifications received so far, oldest first.
    func takeNotifications() -> [PostgresNotification] {
        guard !isFinished else { return [] }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(connection) {
            notifications.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra),
                    senderProcessID: notify.pointee.be_pid
                )
            )
            PQfreemem(notify)
        }
        return notifications
    }

    // MARK: Cancellation

    func reserveQueryID() -> UInt64 {
        nextQueryID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Marks `queryID` as running; throws if it was cancelled before it started.
    func begin(_ queryID: UInt64) throws(PostgresError) {
        activeQuery.store(queryID, ordering: .sequentiallyConsistent)
        if cancelRequestedQuery.load(ordering: .sequentiallyConsistent) == queryID {
            activeQuery.store(0, ordering: .sequentiallyConsistent)
            throw PostgresError(code: .cancelled, message: "the statement was cancelled before it started")
        }
    }

    func end(_ queryID: UInt64) {
        activeQuery.store(0, ordering: .sequentiallyConsistent)
    }

    /// Asks the server to cancel `queryID` if it is still running. Safe from any thread.
    func cancel(_ queryID: UInt64, becauseOfTimeout: Bool) {
        if becauseOfTimeout {
            timedOutQuery.store(queryID, ordering: .sequentiallyConsistent)
        }
        cancelRequestedQuery.store(queryID, ordering: .sequentiallyConsistent)
        guard activeQuery.load(ordering: .sequentiallyConsistent) == queryID, cancelToken != nil else { return }
        // PQcancel opens a connection to the server and waits for it to close, with no timeout:
        // against a stopped server it never returns. So it never runs on the caller's thread (a
        // cancellation handler may run on the cooperative pool), and a connection's cancel
        // requests share one queue of its own, so a stall blocks at most one thread per
        // connection and never another connection's cancels. The closure keeps `self`, and with
        // it the cancel object, alive until the request is sent.
        cancelQueue.async {
            guard self.activeQuery.load(ordering: .sequentiallyConsistent) == queryID, let token = self.cancelToken
            else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(token, &buffer, Int32(buffer.count))
        }
    }

    private let cancelQueue = DispatchQueue(label: "scryptex.postgres.cancel")

    /// Turns a server "query canceled" error into a timeout or cancellation error when this
    /// client asked for it.
    func classify(_ error: PostgresError, queryID: UInt64) -> PostgresError {
        guard error.sqlState == .queryCanceled else { return error }
        var classified = error
        if timedOutQuery.load(ordering: .sequentiallyConsistent) == queryID {
            classified.code = .statementTimeout
        } else if cancelRequestedQuery.load(ordering: .sequentiallyConsistent) == queryID {
            classified.code = .cancelled
        }
        return classified
    }

    // MARK: Statements

    /// Runs one statement with bound parameters (extended protocol, text format).
    func execute(_ sql: String, bindings: PostgresBindings) throws(PostgresError) -> PostgresRows {
        try ensureOpen()
        let values = bindings.values.map { $0.map { strdup($0) } ?? nil }
        defer { values.forEach { free($0) } }
        let types = bindings.types.map { Oid($0.rawValue) }
        let valuePointers = values.map { UnsafePointer<CChar>($0) }
        let result = valuePointers.withUnsafeBufferPointer { valueBuffer in
            types.withUnsafeBufferPointer { typeBuffer in
                PQexecParams(
                    connection, sql, Int32(bindings.count), typeBuffer.baseAddress, valueBuffer.baseAddress, nil, nil, 0
                )
            }
        }
        return try rows(from: result)
    }

    /// Runs a script of one or more statements without parameters (simple protocol), in one
    /// round trip, and returns the last statement's rows. Only for SQL compiled into the program,
    /// such as migrations.
    @discardableResult
    func executeScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        try ensureOpen()
        let result = PQexec(connection, sql)
        return try rows(from: result)
    }

    /// Runs `COPY … FROM STDIN` and streams `data` (COPY text format) to the server.
    /// - Returns: The number of rows copied.
    func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        try ensureOpen()
        guard let start = PQexec(connection, sql) else { throw connectionError() }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try rows(from: start)
            throw PostgresError(code: .server, message: "the server did not enter COPY IN mode")
        }
        PQclear(start)
        let chunkSize = 64 * 1024
        var offset = 0
        var failure: PostgresError?
        while offset < data.count {
            let end = min(offset + chunkSize, data.count)
            let status = data[offset..<end].withUnsafeBytes { chunk in
                PQputCopyData(connection, chunk.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(chunk.count))
            }
            if status != 1 {
                failure = connectionError()
                break
            }
            offset = end
        }
        if PQputCopyEnd(connection, failure == nil ? nil : "client failed while sending data") != 1 {
            failure = failure ?? connectionError()
        }
        var copied = 0
        var serverError: PostgresError?
        while let result = PQgetResult(connection) {
            do {
                copied = try rows(from: result).affectedRowCount
            } catch {
                serverError = serverError ?? error
            }
        }
        if let error = serverError ?? failure { throw error }
        return copied
    }

    // MARK: Results

    private func ensureOpen() throws(PostgresError) {
        guard !isFinished else {
            throw PostgresError(code: .connectionClosed, message: "the connection is closed")
        }
    }

    /// Copies a result into Swift values and frees it, or turns it into an error.
    private func rows(from result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else { throw connectionError() }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var names: [String] = []
            var types: [PostgresDataType] = []
            names.reserveCapacity(columnCount)
            types.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                names.append(String(cString: PQfname(result, column)))
                types.append(PostgresDataType(rawValue: PQftype(result, column)))
            }
            var cells: [String?] = []
            cells.reserveCapacity(rowCount * columnCount)
            for row in 0..<Int32(rowCount) {
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) == 1 {
                        cells.append(nil)
                    } else {
                        cells.append(String(cString: PQgetvalue(result, row, column)))
                    }
                }
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(
                columns: PostgresColumns(names: names, types: types),
                cells: cells,
                affectedRowCount: affected,
                commandTag: String(cString: PQcmdStatus(result))
            )
        default:
            throw serverError(from: result)
        }
    }

    private func serverError(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(scryptex_pq_diag_sqlstate()).map(SQLState.init(rawValue:))
        if sqlState == nil && PQstatus(connection) != CONNECTION_OK {
            return connectionError()
        }
        var error = PostgresError(
            code: .server,
            message: field(scryptex_pq_diag_message_primary())
                ?? Self.trimmedMessage(PQresultErrorMessage(result)),
            sqlState: sqlState
        )
        error.detail = field(scryptex_pq_diag_message_detail())
        error.hint = field(scryptex_pq_diag_message_hint())
        error.schemaName = field(scryptex_pq_diag_schema_name())
        error.tableName = field(scryptex_pq_diag_table_name())
        error.columnName = field(scryptex_pq_diag_column_name())
        error.constraintName = field(scryptex_pq_diag_constraint_name())
        return error
    }

    private func connectionError() -> PostgresError {
        PostgresError(code: .connectionClosed, message: Self.trimmedMessage(PQerrorMessage(connection)))
    }

    private static func trimmedMessage(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        let text = String(cString: message).trimmingWhitespace()
        return text.isEmpty ? "the connection to the server was lost" : text
    }
}

/// Passes server notices to the logger.
private final class NoticeRelay: Sendable {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func relay(_ message: String) {
        logger.debug("server notice", ["notice": message.trimmingWhitespace()])
    }
}
