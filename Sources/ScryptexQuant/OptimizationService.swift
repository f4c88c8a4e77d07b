public import Foundation
import ScryptexCore
public import ScryptexInstitutional
public import ScryptexMarketData
public import ScryptexPostgres
import Synchronization

/// A parameter search as the API shows it.
public struct QuantOptimization: Sendable, Codable, Equatable {
    public var id: UUID
    public var strategyId: UUID
    public var status: String
    public var dataSource: String
    public var request: OptimizationRequest
    public var jobId: UUID?
    public var error: String?
    public var requestedBy: String
    public var createdAt: Date
    public var completedAt: Date?
    public var result: OptimizationResult?
}

/// Parameter searches of a tenant's strategies (`quant_optimizations`), run as tenant jobs.
public struct OptimizationService: Sendable {
    public init() {}

    static let columns: StaticString = """
        id, strategy_id, status, data_source, request, job_id, error, requested_by, created_at, completed_at, result
        """

    /// Records a queued search of the strategy as it is now (the request checked in full first).
    public func request(
        _ request: OptimizationRequest, of strategyID: UUID, dataSource: String, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> QuantOptimization {
        let strategy = try await QuantStrategyService().strategy(strategyID, in: transaction)
        guard strategy.type != StrategyType.mlSignal.rawValue else {
            throw ServiceError(
                .invalidInput,
                "an ml_signal strategy is not searched here: its model is tuned when it is trained (hyperparameters and walk-forward folds)"
            )
        }
        _ = try ParameterOptimizer(strategy: strategy, request: request)
        let rows = try await transaction.query(
            """
            INSERT INTO quant_optimizations (strategy_id, account_id, strategy, request, data_source, requested_by)
            VALUES (\(strategyID), \(strategy.accountId), \(try PostgresJSON(encoding: strategy))::jsonb,
                    \(try PostgresJSON(encoding: request))::jsonb, \(dataSource), \(actor))
            RETURNING \(sql: Self.columns)
            """)
        let optimization = try Self.optimization(rows.firstRow)
        try await audit.record(
            "quant.optimization_requested", objectType: "quant_optimization",
            objectID: optimization.id.uuidString.lowercased(), accountID: strategy.accountId,
            details: ["strategy": strategyID.uuidString.lowercased()], in: transaction)
        return optimization
    }

    public func attach(job: UUID, to id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("UPDATE quant_optimizations SET job_id = \(job) WHERE id = \(id)")
    }

    public func optimization(_ id: UUID, in transaction: PostgresTransaction) async throws -> QuantOptimization {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM quant_optimizations WHERE id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no optimization with this id") }
        return try Self.optimization(row)
    }

    /// Runs a queued search: bars read as the tenant, the search outside any transaction, the
    /// result (or the error, and no result) stored.
    public func run(
        _ id: UUID, source: any MarketDataSource, audit: any AuditSink,
        withTransaction: @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @Sendable (Int) async throws -> Void
    ) async throws {
        let loaded = Mutex<(QuantStrategy, OptimizationRequest, [BarSeries])?>(nil)
        do {
            try await withTransaction { transaction in
                guard
                    let row = try await transaction.query(
                        "SELECT strategy, request FROM quant_optimizations WHERE id = \(id) FOR UPDATE"
                    ).first
                else { throw ServiceError(.notFound, "no optimization with this id") }
                let strategy = try row.decode("strategy", as: PostgresJSON.self).decode(QuantStrategy.self)
                let request = try row.decode("request", as: PostgresJSON.self).decode(OptimizationRequest.self)
                let parameters = try strategy.parameters()
                let settings = try (request.settings ?? BacktestRequest()).settings()
                var series: [BarSeries] = []
                for asset in parameters.assets {
                    series.append(
                        try await source.bars(
                            symbol: asset, timeframe: parameters.timeframe, dataset: parameters.dataset,
                            start: settings.start, end: settings.end, in: transaction))
                }
                try await transaction.execute("UPDATE quant_optimizations SET status = 'running' WHERE id = \(id)")
                loaded.withLock { $0 = (strategy, request, series) }
            }
            guard let (strategy, request, series) = loaded.withLock({ $0 }) else { return }
            try await progress(10)
            let result = try ParameterOptimizer(strategy: strategy, request: request).run(series)
            try await withTransaction { transaction in
                let account = try await transaction.query(
                    """
                    UPDATE quant_optimizations SET status = 'completed', result = \(try PostgresJSON(encoding: result))::jsonb,
                        completed_at = now()
                    WHERE id = \(id) RETURNING account_id
                    """
                ).firstRow.decode("account_id", as: UUID.self)
                try await audit.record(
                    "quant.optimization_completed", objectType: "quant_optimization",
                    objectID: id.uuidString.lowercased(), accountID: account,
                    details: ["evaluated": String(result.evaluated)], in: transaction)
            }
        } catch {
            let message = (error as? ServiceError)?.message ?? "the optimization failed: \(error)"
            try await withTransaction { transaction in
                try await transaction.execute(
                    """
                    UPDATE quant_optimizations SET status = 'failed', error = \(String(message.prefix(2_000))),
                        result = NULL, completed_at = now()
                    WHERE id = \(id)
                    """)
            }
            throw error
        }
    }

    static func optimization(_ row: PostgresRow) throws -> QuantOptimization {
        QuantOptimization(
            id: try row.decode("id", as: UUID.self), strategyId: try row.decode("strategy_id", as: UUID.self),
            status: try row.decode("status", as: String.self),
            dataSource: try row.decode("data_source", as: String.self),
            request: try row.decode("request", as: PostgresJSON.self).decode(OptimizationRequest.self),
            jobId: try row.decode("job_id", as: UUID?.self), error: try row.decode("error", as: String?.self),
            requestedBy: try row.decode("requested_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            completedAt: try row.decode("completed_at", as: Date?.self),
            result: try row.decode("result", as: PostgresJSON?.self).map { try $0.decode(OptimizationResult.self) })
    }
}
