/// A transaction in progress on one connection; statements run through it belong to it.
public struct PostgresTransaction: Sendable {
    public let connection: PostgresConnection
    let depth: Int

    init(connection: PostgresConnection, depth: Int) {
        self.connection = connection
        self.depth = depth
    }

    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> PostgresRows {
        try await connection.query(query, timeout: timeout)
    }

    @discardableResult
    public func execute(_ query: PostgresQuery, timeout: Duration? = nil) async throws -> Int {
        try await connection.execute(query, timeout: timeout)
    }

    /// Runs a script of statements inside the transaction, in one round trip (SQL written in the
    /// program only); returns the last statement's rows.
    @discardableResult
    public func executeScript(_ script: String) async throws -> PostgresRows {
        try await connection.executeScript(script)
    }

    /// Runs `body` under a savepoint: released when it returns, rolled back to (leaving the rest
    /// of the transaction intact) when it throws.
    @discardableResult
    public func withSavepoint<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        let name = "scryptex_savepoint_\(depth + 1)"
        try await connection.executeScript("SAVEPOINT \(name)")
        do {
            let result = try await body(PostgresTransaction(connection: connection, depth: depth + 1))
            try await connection.executeScript("RELEASE SAVEPOINT \(name)")
            return result
        } catch {
            await connection.rollbackQuietly("ROLLBACK TO SAVEPOINT \(name)")
            throw error
        }
    }
}
