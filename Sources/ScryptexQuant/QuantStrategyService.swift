public import Foundation
import ScryptexCore
public import ScryptexInstitutional
import ScryptexMarketData
public import ScryptexPostgres

/// A strategy as the API shows it.
public struct QuantStrategy: Sendable, Codable, Equatable {
    public var id: UUID
    public var accountId: UUID
    public var name: String
    public var type: String
    public var config: [String: ParameterValue]
    public var riskParameters: [String: ParameterValue]
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    /// The validated parameters.
    public func parameters() throws -> StrategyParameters {
        try StrategyParameters(type: type, config: config, riskParameters: riskParameters)
    }
}

/// A backtest as the API shows it: its state, and once completed its result.
public struct QuantBacktest: Sendable, Codable, Equatable {
    public var id: UUID
    public var strategyId: UUID
    public var accountId: UUID
    public var status: String
    public var dataSource: String
    public var settings: BacktestSettings
    public var jobId: UUID?
    public var error: String?
    public var requestedBy: String
    public var createdAt: Date
    public var completedAt: Date?
    public var result: BacktestResult?
}

/// Strategies and backtests of a tenant's accounts. Every method runs in a transaction the
/// caller opened as the tenant; every change is audited in it.
public struct QuantStrategyService: Sendable {
    public init() {}

    public struct Draft: Sendable, Decodable {
        public var name: String
        public var type: String
        public var config: [String: ParameterValue]
        public var riskParameters: [String: ParameterValue]?
    }

    public struct Change: Sendable, Decodable {
        public var name: String?
        public var config: [String: ParameterValue]?
        public var riskParameters: [String: ParameterValue]?
    }

    static let columns: StaticString =
        "id, account_id, name, type, config, risk_parameters, created_by, created_at, updated_at"

    public func create(
        _ draft: Draft, account: UUID, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> QuantStrategy {
        let name = try Self.name(draft.name)
        let risk = draft.riskParameters ?? [:]
        let parameters = try StrategyParameters(type: draft.type, config: draft.config, riskParameters: risk)
        _ = try await AccountService().account(account, in: transaction)
        try await requireFreeName(name, account: account, except: nil, in: transaction)
        let rows = try await transaction.query(
            """
            INSERT INTO quant_strategies (account_id, name, type, config, risk_parameters, created_by)
            VALUES (\(account), \(name), \(parameters.type.rawValue), \(try PostgresJSON(encoding: draft.config))::jsonb,
                    \(try PostgresJSON(encoding: risk))::jsonb, \(actor))
            RETURNING \(sql: Self.columns)
            """)
        let strategy = try Self.strategy(rows.firstRow)
        try await audit.record(
            "quant.strategy_created", objectType: "quant_strategy", objectID: strategy.id.uuidString.lowercased(),
            accountID: account, details: ["name": name, "type": parameters.type.rawValue], in: transaction)
        return strategy
    }

    public func strategies(of account: UUID, in transaction: PostgresTransaction) async throws -> [QuantStrategy] {
        _ = try await AccountService().account(account, in: transaction)
        return try await transaction.query(
            """
            SELECT \(sql: Self.columns) FROM quant_strategies
            WHERE account_id = \(account) AND deleted_at IS NULL ORDER BY created_at, id
            """
        ).map(Self.strategy)
    }

    /// The strategy; `.notFound` for a deleted one or one of another tenant (out of reach).
    public func strategy(
        _ id: UUID, in transaction: PostgresTransaction, forUpdate: Bool = false
    ) async throws
        -> QuantStrategy
    {
        let rows =
            forUpdate
            ? try await transaction.query(
                "SELECT \(sql: Self.columns) FROM quant_strategies WHERE id = \(id) AND deleted_at IS NULL FOR UPDATE")
            : try await transaction.query(
                "SELECT \(sql: Self.columns) FROM quant_strategies WHERE id = \(id) AND deleted_at IS NULL")
        guard let row = rows.first else { throw ServiceError(.notFound, "no strategy with this id") }
        return try Self.strategy(row)
    }

    /// Replaces the name, the config or the risk parameters (each given one whole), validated
    /// again for the type.
    public func update(
        _ id: UUID, with change: Change, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> QuantStrategy {
        var strategy = try await strategy(id, in: transaction, forUpdate: true)
        if let name = change.name {
            strategy.name = try Self.name(name)
            try await requireFreeName(strategy.name, account: strategy.accountId, except: id, in: transaction)
        }
        if let config = change.config { strategy.config = config }
        if let risk = change.riskParameters { strategy.riskParameters = risk }
        _ = try strategy.parameters()
        let rows = try await transaction.query(
            """
            UPDATE quant_strategies SET name = \(strategy.name), config = \(try PostgresJSON(encoding: strategy.config))::jsonb,
                risk_parameters = \(try PostgresJSON(encoding: strategy.riskParameters))::jsonb, updated_at = now()
            WHERE id = \(id) RETURNING \(sql: Self.columns)
            """)
        try await audit.record(
            "quant.strategy_updated", objectType: "quant_strategy", objectID: id.uuidString.lowercased(),
            accountID: strategy.accountId,
            details: [
                "changed": [
                    change.name.map { _ in "name" }, change.config.map { _ in "config" },
                    change.riskParameters.map { _ in "riskParameters" },
                ].compactMap { $0 }.joined(separator: ",")
            ],
            in: transaction)
        return try Self.strategy(rows.firstRow)
    }

    /// Deletes the strategy from every list; its backtests stay readable.
    public func delete(_ id: UUID, audit: any AuditSink, in transaction: PostgresTransaction) async throws {
        let strategy = try await strategy(id, in: transaction, forUpdate: true)
        try await transaction.execute("UPDATE quant_strategies SET deleted_at = now() WHERE id = \(id)")
        try await audit.record(
            "quant.strategy_deleted", objectType: "quant_strategy", objectID: id.uuidString.lowercased(),
            accountID: strategy.accountId, details: ["name": strategy.name], in: transaction)
    }

    // MARK: - Backtests

    /// Records a queued backtest of the strategy as it is now; the caller queues the job.
    public func requestBacktest(
        of strategyID: UUID, settings: BacktestSettings, dataSource: String, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> QuantBacktest {
        let strategy = try await strategy(strategyID, in: transaction)
        let parameters = try strategy.parameters()
        _ = try BacktestEngine(strategy: parameters, settings: settings)
        let rows = try await transaction.query(
            """
            INSERT INTO quant_backtests (strategy_id, account_id, strategy, settings, data_source, requested_by)
            VALUES (\(strategyID), \(strategy.accountId), \(try PostgresJSON(encoding: strategy))::jsonb,
                    \(try PostgresJSON(encoding: settings))::jsonb, \(dataSource), \(actor))
            RETURNING \(sql: Self.backtestColumns)
            """)
        let backtest = try Self.backtest(rows.firstRow)
        try await audit.record(
            "quant.backtest_requested", objectType: "quant_backtest", objectID: backtest.id.uuidString.lowercased(),
            accountID: strategy.accountId, details: ["strategy": strategyID.uuidString.lowercased()], in: transaction)
        return backtest
    }

    public func attach(job: UUID, to backtest: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("UPDATE quant_backtests SET job_id = \(job) WHERE id = \(backtest)")
    }

    static let backtestColumns: StaticString = """
        id, strategy_id, account_id, status, data_source, settings, job_id, error, requested_by, created_at,
        completed_at, result
        """

    /// The backtest; `.notFound` for one this tenant does not have.
    public func backtest(_ id: UUID, in transaction: PostgresTransaction) async throws -> QuantBacktest {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.backtestColumns) FROM quant_backtests WHERE id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no backtest with this id") }
        return try Self.backtest(row)
    }

    public func backtests(of strategyID: UUID, in transaction: PostgresTransaction) async throws -> [QuantBacktest] {
        _ = try await strategy(strategyID, in: transaction)
        return try await transaction.query(
            """
            SELECT id, strategy_id, account_id, status, data_source, settings, job_id, error, requested_by, created_at,
                   completed_at, NULL::jsonb AS result
            FROM quant_backtests WHERE strategy_id = \(strategyID) ORDER BY created_at DESC, id LIMIT 200
            """
        ).map(Self.backtest)
    }

    /// What a backtest job needs: the strategy as it was requested and the settings; the
    /// backtest is marked running.
    public func start(
        _ id: UUID, in transaction: PostgresTransaction
    ) async throws -> (
        StrategyParameters, BacktestSettings
    ) {
        guard
            let row = try await transaction.query(
                "SELECT strategy, settings, status FROM quant_backtests WHERE id = \(id) FOR UPDATE"
            ).first
        else { throw ServiceError(.notFound, "no backtest with this id") }
        let strategy = try row.decode("strategy", as: PostgresJSON.self).decode(QuantStrategy.self)
        let settings = try row.decode("settings", as: PostgresJSON.self).decode(BacktestSettings.self)
        try await transaction.execute(
            "UPDATE quant_backtests SET status = 'running', started_at = now(), error = NULL WHERE id = \(id)")
        return (try strategy.parameters(), settings)
    }

    public func complete(
        _ id: UUID, result: BacktestResult, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        let account = try await transaction.query(
            """
            UPDATE quant_backtests SET status = 'completed', result = \(try PostgresJSON(encoding: result))::jsonb,
                completed_at = now()
            WHERE id = \(id) RETURNING account_id
            """
        ).firstRow.decode("account_id", as: UUID.self)
        try await audit.record(
            "quant.backtest_completed", objectType: "quant_backtest", objectID: id.uuidString.lowercased(),
            accountID: account,
            details: ["finalEquity": String(result.finalEquity), "trades": String(result.trades.count)],
            in: transaction)
    }

    /// Records why a backtest failed; it keeps no result.
    public func fail(_ id: UUID, error: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE quant_backtests SET status = 'failed', error = \(String(error.prefix(2_000))), result = NULL,
                completed_at = now()
            WHERE id = \(id)
            """)
    }

    // MARK: - Rows

    static func name(_ text: String) throws -> String {
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count), !name.contains(where: { $0.isNewline }) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 200 characters on one line")
        }
        return name
    }

    func requireFreeName(_ name: String, account: UUID, except: UUID?, in transaction: PostgresTransaction) async throws
    {
        let taken = try await transaction.query(
            """
            SELECT id FROM quant_strategies WHERE account_id = \(account) AND name = \(name) AND deleted_at IS NULL
            """
        ).first?.decode("id", as: UUID.self)
        if let taken, taken != except {
            throw ServiceError(.conflict, "field 'name': the account already has a strategy named '\(name)'")
        }
    }

    static func strategy(_ row: PostgresRow) throws -> QuantStrategy {
        QuantStrategy(
            id: try row.decode("id", as: UUID.self), accountId: try row.decode("account_id", as: UUID.self),
            name: try row.decode("name", as: String.self), type: try row.decode("type", as: String.self),
            config: try row.decode("config", as: PostgresJSON.self).decode([String: ParameterValue].self),
            riskParameters: try row.decode("risk_parameters", as: PostgresJSON.self).decode(
                [String: ParameterValue].self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            updatedAt: try row.decode("updated_at", as: Date.self))
    }

    static func backtest(_ row: PostgresRow) throws -> QuantBacktest {
        QuantBacktest(
            id: try row.decode("id", as: UUID.self), strategyId: try row.decode("strategy_id", as: UUID.self),
            accountId: try row.decode("account_id", as: UUID.self), status: try row.decode("status", as: String.self),
            dataSource: try row.decode("data_source", as: String.self),
            settings: try row.decode("settings", as: PostgresJSON.self).decode(BacktestSettings.self),
            jobId: try row.decode("job_id", as: UUID?.self), error: try row.decode("error", as: String?.self),
            requestedBy: try row.decode("requested_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            completedAt: try row.decode("completed_at", as: Date?.self),
            result: try row.decode("result", as: PostgresJSON?.self).map { try $0.decode(BacktestResult.self) })
    }
}
