internal import CLibPQ
import Dispatch
import Glibc
import ScryptexCore

/// Owns one libpq connection (`PGconn`) in non-blocking mode. This file is the only place in the
/// module that touches libpq's pointers; everything else works with Swift values.
///
/// Not `Sendable`: a handle belongs to one `PostgresConnectionDriver` and is used only on that
/// driver's event loop thread. No call here blocks: connecting goes through `PQconnectPoll`,
/// statements are sent with `PQsend…` and read with `PQconsumeInput` / `PQgetResult` once the
/// loop reports the socket readable.
final class LibPQConnectionHandle {
    private let connection: OpaquePointer
    private let noticeRelay: NoticeRelay
    private(set) var isFinished = false

    private init(connection: OpaquePointer, logger: Logger) {
        self.connection = connection
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
        finish()
    }

    /// Starts connecting with keyword/value parameters (never a spliced connection string);
    /// `pollConnect` carries it on. A host name (not an address or socket folder) is resolved
    /// here, which may wait on DNS.
    static func startConnecting(
        parameters: [(String, String)], logger: Logger
    ) throws(PostgresError)
        -> LibPQConnectionHandle
    {
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
                PQconnectStartParams(keywordBuffer.baseAddress, valueBuffer.baseAddress, 0)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) != CONNECTION_BAD else {
            let message = Self.trimmedMessage(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: message)
        }
        return LibPQConnectionHandle(connection: connection, logger: logger)
    }

    enum ConnectProgress {
        case waitForReadable
        case waitForWritable
        case connected
        case failed(PostgresError)
    }

    /// One step of connecting; call again when the socket is ready as asked.
    func pollConnect() -> ConnectProgress {
        switch PQconnectPoll(connection) {
        case PGRES_POLLING_READING: return .waitForReadable
        case PGRES_POLLING_WRITING: return .waitForWritable
        case PGRES_POLLING_OK:
            guard PQsetnonblocking(connection, 1) == 0 else {
                return .failed(
                    PostgresError(code: .connectionFailed, message: "cannot make the connection non-blocking"))
            }
            return .connected
        default:
            return .failed(
                PostgresError(code: .connectionFailed, message: Self.trimmedMessage(PQerrorMessage(connection))))
        }
    }

    /// Closes the connection (idempotent).
    func finish() {
        guard !isFinished else { return }
        isFinished = true
        PQfinish(connection)
    }

    var socket: Int32 { isFinished ? -1 : PQsocket(connection) }
    var isConnectionOK: Bool { !isFinished && PQstatus(connection) == CONNECTION_OK }
    var isIdleOutsideTransaction: Bool { !isFinished && PQtransactionStatus(connection) == PQTRANS_IDLE }
    var serverVersion: Int { Int(PQserverVersion(connection)) }
    var backendProcessID: Int32 { PQbackendPID(connection) }

    /// A canceller for statements on this connection, usable from any thread.
    func makeCanceller() -> PostgresCanceller? {
        PQgetCancel(connection).map(PostgresCanceller.init(token:))
    }

    // MARK: Sending

    func enterPipelineMode() -> Bool { PQenterPipelineMode(connection) == 1 }
    func exitPipelineMode() -> Bool { PQexitPipelineMode(connection) == 1 }
    func pipelineSync() -> Bool { PQpipelineSync(connection) == 1 }
    var isInPipelineMode: Bool { PQpipelineStatus(connection) != PQ_PIPELINE_OFF }

    /// Queues one statement with bound parameters (extended protocol, text format, unnamed).
    func sendStatement(_ sql: String, bindings: PostgresBindings) -> Bool {
        withParameters(bindings) { count, types, values in
            PQsendQueryParams(connection, sql, count, types, values, nil, nil, 0) == 1
        }
    }

    /// Queues the preparation of a named statement.
    func sendPrepare(name: String, sql: String, bindings: PostgresBindings) -> Bool {
        let types = bindings.types.map { Oid($0.rawValue) }
        return types.withUnsafeBufferPointer {
            PQsendPrepare(connection, name, sql, Int32(types.count), $0.baseAddress) == 1
        }
    }

    /// Queues the execution of a statement prepared as `name`.
    func sendPrepared(name: String, bindings: PostgresBindings) -> Bool {
        withParameters(bindings) { count, _, values in
            PQsendQueryPrepared(connection, name, count, values, nil, nil, 0) == 1
        }
    }

    /// Queues a script of one or more statements without parameters (simple protocol; not in
    /// pipeline mode). Only SQL compiled into the program.
    func sendScript(_ sql: String) -> Bool { PQsendQuery(connection, sql) == 1 }

    private func withParameters(
        _ bindings: PostgresBindings,
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Bool
    ) -> Bool {
        let values = bindings.values.map { $0.map { strdup($0) } ?? nil }
        defer { values.forEach { free($0) } }
        let types = bindings.types.map { Oid($0.rawValue) }
        let valuePointers = values.map { UnsafePointer<CChar>($0) }
        return valuePointers.withUnsafeBufferPointer { valueBuffer in
            types.withUnsafeBufferPointer { typeBuffer in
                body(Int32(bindings.count), typeBuffer.baseAddress, valueBuffer.baseAddress)
            }
        }
    }

    enum FlushOutcome {
        case done
        case pending
        case failed
    }

    /// Sends queued output without blocking.
    func flush() -> FlushOutcome {
        switch PQflush(connection) {
        case 0: .done
        case 1: .pending
        default: .failed
        }
    }

    /// Queues COPY data: true if queued, false if libpq's buffer is full (flush, then retry),
    /// nil on a broken connection.
    func putCopyData(_ bytes: ArraySlice<UInt8>) -> Bool? {
        let status = bytes.withUnsafeBytes { chunk in
            PQputCopyData(connection, chunk.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(chunk.count))
        }
        return status == 1 ? true : status == 0 ? false : nil
    }

    func putCopyEnd(failure: String?) -> Bool? {
        let status = PQputCopyEnd(connection, failure)
        return status == 1 ? true : status == 0 ? false : nil
    }

    // MARK: Receiving

    /// Reads what the server has sent without blocking. False if the connection is broken.
    func consumeInput() -> Bool {
        !isFinished && PQconsumeInput(connection) == 1 && PQstatus(connection) == CONNECTION_OK
    }

    /// Whether `nextResult` would have to wait for more input.
    var isBusy: Bool { PQisBusy(connection) == 1 }

    enum Result {
        case rows(PostgresRows)
        case error(PostgresError)
        case copyIn
        case pipelineSync
        case pipelineAborted
        /// The end of one statement's results.
        case end
    }

    /// The next result, copied into Swift values (never call while `isBusy`).
    func nextResult() -> Result {
        guard let result = PQgetResult(connection) else { return .end }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return .rows(rows(from: result))
        case PGRES_COPY_IN: return .copyIn
        case PGRES_PIPELINE_SYNC: return .pipelineSync
        case PGRES_PIPELINE_ABORTED: return .pipelineAborted
        default: return .error(serverError(from: result))
        }
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

    // MARK: Results

    private func rows(from result: OpaquePointer) -> PostgresRows {
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

    /// The connection's last error, as a `.connectionClosed` error.
    func connectionError() -> PostgresError {
        PostgresError(
            code: .connectionClosed,
            message: isFinished ? "the connection is closed" : Self.trimmedMessage(PQerrorMessage(connection)))
    }

    private static func trimmedMessage(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        let text = String(cString: message).trimmingWhitespace()
        return text.isEmpty ? "the connection to the server was lost" : text
    }
}

/// Sends cancel requests for one connection's statements.
///
/// `PQcancel` opens a connection of its own and waits for the server to close it, with no
/// timeout: against a stopped server it never returns. So it runs on a serial queue of this
/// canceller's (a named helper thread while a request is out, none otherwise), never on an event
/// loop or the caller's thread, and a stall there holds up only this connection's cancels.
///
/// `@unchecked Sendable` is sound: libpq documents the `PGcancel` object as safe to use from any
/// thread, it is used only on `queue`, and freed in `deinit` once no request can be running.
final class PostgresCanceller: @unchecked Sendable {
    private let token: OpaquePointer
    private let queue = DispatchQueue(label: "scryptex.postgres.cancel")

    init(token: OpaquePointer) {
        self.token = token
    }

    deinit {
        PQfreeCancel(token)
    }

    /// Asks the server to cancel whatever the connection is running.
    func requestCancel() {
        queue.async {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(self.token, &buffer, Int32(buffer.count))
        }
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
