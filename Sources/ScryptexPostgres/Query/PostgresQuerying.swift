/// Anything that runs a statement: a pool (each statement on any free connection, in its own
/// transaction), a connection, or a transaction. A store's reads take this, so the same read
/// serves a request's transaction and a one-off query.
public protocol PostgresQuerying: Sendable {
    func query(_ query: PostgresQuery, timeout: Duration?) async throws -> PostgresRows
    func execute(_ query: PostgresQuery, timeout: Duration?) async throws -> Int
}

extension PostgresConnectionPool: PostgresQuerying {}
extension PostgresConnection: PostgresQuerying {}
extension PostgresTransaction: PostgresQuerying {}
