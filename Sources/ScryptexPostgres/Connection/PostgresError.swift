/// An error from the PostgreSQL client: the server's error fields when the server reported it,
/// or the client-side reason (connection lost, pool exhausted, a value that does not decode).
///
/// Code that must tell errors apart checks `code` and, for server errors, `sqlState`:
/// ```swift
/// catch let error as PostgresError where error.sqlState == .uniqueViolation { ... }
/// ```
/// The description carries no query text and no parameter values.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. New kinds may be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case server = "server error"
            case decoding = "decoding error"
            case statementTimeout = "statement timeout"
            case cancelled = "cancelled"
            case poolTimeout = "pool acquire timeout"
            case poolClosed = "pool closed"
            case invalidArgument = "invalid argument"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The server could not be reached or refused the connection.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke or was already closed.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server rejected a statement; `sqlState` says why.
        public static let server = Code(.server)
        /// A returned value could not be turned into the requested Swift type.
        public static let decoding = Code(.decoding)
        /// A statement ran longer than its timeout and was cancelled.
        public static let statementTimeout = Code(.statementTimeout)
        /// The calling task was cancelled and the statement with it.
        public static let cancelled = Code(.cancelled)
        /// No pooled connection became free within the acquire timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The pool was closed.
        public static let poolClosed = Code(.poolClosed)
        /// A value handed to the client cannot be sent (an invalid identifier, say).
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The server's five-character error code, for server errors.
    public var sqlState: SQLState?
    /// The primary message, from the server or the client.
    public var message: String
    public var detail: String?
    public var hint: String?
    public var schemaName: String?
    public var tableName: String?
    public var columnName: String?
    /// The violated constraint, for integrity errors.
    public var constraintName: String?

    public init(code: Code, message: String, sqlState: SQLState? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        var text = "PostgreSQL \(code)"
        if let sqlState { text += " \(sqlState.rawValue)" }
        text += ": \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let constraintName { text += " (constraint: \(constraintName))" }
        return text
    }

    /// Whether the connection that produced this error can no longer be used.
    public var breaksConnection: Bool {
        code == .connectionClosed || code == .connectionFailed || sqlState?.errorClass == "08"
            || sqlState == .adminShutdown || sqlState == .crashShutdown
    }
}

/// A PostgreSQL SQLSTATE error code (Appendix A of the PostgreSQL manual).
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The two-character class, e.g. `23` for integrity constraint violations.
    public var errorClass: String { String(rawValue.prefix(2)) }

    public var description: String { rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let exclusionViolation = SQLState(rawValue: "23P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let undefinedColumn = SQLState(rawValue: "42703")
    public static let undefinedFunction = SQLState(rawValue: "42883")
    public static let duplicateObject = SQLState(rawValue: "42710")
    public static let duplicateSchema = SQLState(rawValue: "42P06")
    public static let duplicateDatabase = SQLState(rawValue: "42P04")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let crashShutdown = SQLState(rawValue: "57P02")
    public static let cannotConnectNow = SQLState(rawValue: "57P03")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    public static let invalidParameterValue = SQLState(rawValue: "22023")
    public static let readOnlySQLTransaction = SQLState(rawValue: "25006")
    /// Among others, "cached plan must not change result type" for a prepared statement.
    public static let featureNotSupported = SQLState(rawValue: "0A000")
    public static let invalidSQLStatementName = SQLState(rawValue: "26000")
    public static let inFailedTransaction = SQLState(rawValue: "25P02")
    public static let raiseException = SQLState(rawValue: "P0001")
}
