/// The column names and types of a result.
public struct PostgresColumns: Sendable {
    public let names: [String]
    public let types: [PostgresDataType]
    private let indexByName: [String: Int]

    init(names: [String], types: [PostgresDataType]) {
        self.names = names
        self.types = types
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil {
            index[name] = position
        }
        indexByName = index
    }

    public func index(of name: String) -> Int? { indexByName[name] }
}

/// The rows a statement returned, with the number of rows it affected.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: PostgresColumns
    let cells: [String?]
    /// Rows inserted, updated, deleted, copied or selected, as the command tag reports.
    public let affectedRowCount: Int
    /// The command tag, such as `INSERT 0 1` or `SELECT 3`.
    public let commandTag: String

    /// No rows and no columns (an empty script).
    static let empty = PostgresRows(
        columns: PostgresColumns(names: [], types: []), cells: [], affectedRowCount: 0, commandTag: "")

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.names.isEmpty ? 0 : cells.count / columns.names.count }

    public subscript(position: Int) -> PostgresRow {
        let width = columns.names.count
        return PostgresRow(columns: columns, cells: cells[(position * width)..<((position + 1) * width)])
    }

    /// The first row, for a statement that always returns one (`RETURNING`, an aggregate);
    /// throws a `PostgresError` saying it returned none instead of stopping the process.
    public var firstRow: PostgresRow {
        get throws {
            guard let row = first else {
                throw PostgresError(
                    code: .decoding,
                    message:
                        "the statement returned no row where one was expected (\(commandTag.isEmpty ? "no command tag" : commandTag))"
                )
            }
            return row
        }
    }
}

/// One result row. Values are decoded by column name or position into the type asked for.
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    let cells: ArraySlice<String?>

    /// Decodes the named column.
    /// - Throws: `PostgresError` with code `.decoding` naming the column, its type and the problem.
    public func decode<Value: PostgresDecodable>(
        _ column: String, as type: Value.Type = Value.self
    )
        throws(PostgresError) -> Value
    {
        guard let index = columns.index(of: column) else {
            throw PostgresError(
                code: .decoding,
                message: "the result has no column '\(column)'; it has \(columns.names.joined(separator: ", "))"
            )
        }
        return try decode(column: index, as: type)
    }

    /// Decodes the column at a zero-based position.
    public func decode<Value: PostgresDecodable>(
        column index: Int, as type: Value.Type = Value.self
    )
        throws(PostgresError) -> Value
    {
        guard columns.names.indices.contains(index) else {
            throw PostgresError(code: .decoding, message: "the result has no column at position \(index)")
        }
        let cell = cells[cells.startIndex + index]
        do {
            if let text = cell {
                return try Value(postgresText: text, type: columns.types[index])
            }
            return try Value.decodeNull()
        } catch {
            throw PostgresError(
                code: .decoding,
                message: "column '\(columns.names[index])' (\(columns.types[index])) as \(Value.self): \(error.reason)"
            )
        }
    }

    /// Whether the named column is SQL NULL.
    public func isNull(_ column: String) -> Bool {
        guard let index = columns.index(of: column) else { return true }
        return cells[cells.startIndex + index] == nil
    }
}

/// A message received on a channel the connection listens to.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The process id of the server backend that sent it.
    public var senderProcessID: Int32

    public init(channel: String, payload: String, senderProcessID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderProcessID = senderProcessID
    }
}
