public import Foundation
import ScryptexCore
import ScryptexMarketData
public import ScryptexPostgres
import Synchronization

/// A replay (or a sweep) of a strategy over stored bars: `POST
/// /api/enterprise/market-making/:id/simulations`.
public struct SimulationRequest: Sendable, Equatable, Codable {
    public var symbol: String
    public var timeframe: String?
    /// A tenant dataset (default: the platform's series).
    public var dataset: String?
    public var start: String?
    public var end: String?
    /// Which of the strategy's markets gives the tick and lot (default: its first).
    public var market: String?
    public var fillModel: FillModel?
    /// Other strategies of the tenant replayed on the same bars, side by side.
    public var compareWith: [UUID]?
    /// Values to vary: a sweep instead of one replay.
    public var grid: [String: [Double]]?

    static let fields: Set<String> = [
        "symbol", "timeframe", "dataset", "start", "end", "market", "fillModel", "compareWith", "grid",
    ]

    /// Decodes a body strictly, naming the first unknown or bad field.
    public static func decode(_ bytes: [UInt8]) throws -> SimulationRequest {
        let request = try StrictJSON.decode(
            SimulationRequest.self, from: bytes, fields: fields, subject: "a simulation request")
        _ = try Timeframe.parse(request.timeframe ?? "1h")
        if let start = request.start { _ = try MarketTime.start(start) }
        if let end = request.end { _ = try MarketTime.end(end) }
        _ = try request.fillModel?.validated()
        if let others = request.compareWith, others.count > 5 {
            throw ServiceError(.invalidInput, "field 'compareWith': at most 5 strategies")
        }
        if request.grid != nil && request.compareWith != nil {
            throw ServiceError(.invalidInput, "field 'grid': a sweep varies one strategy; leave out compareWith")
        }
        return request
    }
}

/// What a simulation job stores.
public struct SimulationOutcome: Sendable, Codable {
    /// One replay per strategy (the requested one first).
    public var runs: [Run]?
    public var sweep: ParameterSweep.Result?

    public struct Run: Sendable, Codable {
        public var strategyId: UUID
        public var name: String
        public var report: SimulationReport
    }
}

public struct MarketMakingSimulationRecord: Sendable, Codable {
    public var id: UUID
    public var strategyId: UUID
    public var kind: String
    public var request: SimulationRequest
    public var status: String
    public var progress: Double
    public var result: SimulationOutcome?
    public var error: String?
    public var jobId: UUID?
    public var requestedBy: String
    public var createdAt: Date
    public var completedAt: Date?
}

public struct SimulationService: Sendable {
    public init() {}

    static let columns: StaticString =
        "id, strategy_id, kind, request, status, progress, result, error, job_id, requested_by, created_at, completed_at"

    public func request(
        _ request: SimulationRequest, strategy id: UUID, actor: String, in transaction: PostgresTransaction
    ) async throws -> MarketMakingSimulationRecord {
        let strategy = try await MarketMakingService().strategy(id, in: transaction)
        if let key = request.market, !strategy.definition.markets.contains(where: { $0.key == key }) {
            throw ServiceError(.invalidInput, "field 'market': '\(key.prefix(80))' is not a market of this strategy")
        }
        for other in request.compareWith ?? [] { _ = try await MarketMakingService().strategy(other, in: transaction) }
        if let grid = request.grid { _ = try ParameterSweep.combinations(strategy.definition.parameters, grid: grid) }
        return try Self.record(
            try await transaction.query(
                """
                INSERT INTO market_making_simulations (strategy_id, kind, request, requested_by)
                VALUES (\(id), \(request.grid == nil ? "simulation" : "sweep"), \(try PostgresJSON(encoding: request))::jsonb,
                        \(actor))
                RETURNING \(sql: Self.columns)
                """
            ).firstRow)
    }

    public func attach(job: UUID, to id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("UPDATE market_making_simulations SET job_id = \(job) WHERE id = \(id)")
    }

    public func simulation(_ id: UUID, in transaction: PostgresTransaction) async throws -> MarketMakingSimulationRecord
    {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM market_making_simulations WHERE id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no simulation with this id") }
        return try Self.record(row)
    }

    final class Loaded: Sendable {
        let value = Mutex<(SimulationRequest, [MarketMakingStrategy], BarSeries)?>(nil)
    }

    /// The job: read the request, the strategies and the bars in one transaction, replay outside
    /// any (on threads of their own), store the outcome — or the error and no result.
    public func run(
        _ id: UUID,
        withTransaction:
            @escaping @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let loaded = Loaded()
        do {
            try await withTransaction { transaction in
                let record = try await simulation(id, in: transaction)
                try await transaction.execute(
                    "UPDATE market_making_simulations SET status = 'running', error = NULL WHERE id = \(id)")
                var strategies = [try await MarketMakingService().strategy(record.strategyId, in: transaction)]
                for other in record.request.compareWith ?? [] {
                    strategies.append(try await MarketMakingService().strategy(other, in: transaction))
                }
                let request = record.request
                let bars = try await LocalMarketData().bars(
                    symbol: request.symbol, timeframe: try Timeframe.parse(request.timeframe ?? "1h"),
                    dataset: request.dataset, start: try request.start.map { try MarketTime.start($0) },
                    end: try request.end.map { try MarketTime.end($0) }, in: transaction)
                loaded.value.withLock { $0 = (request, strategies, bars) }
            }
            guard let (request, strategies, bars) = loaded.value.withLock({ $0 }) else { return }
            let done = Atomic<Int>(0)
            // Progress out every second while the replays run on their own threads.
            let watcher = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    let percent = done.load(ordering: .relaxed)
                    try? await progress(percent)
                    try? await withTransaction { transaction in
                        try await transaction.execute(
                            "UPDATE market_making_simulations SET progress = \(Double(percent) / 100) WHERE id = \(id)")
                    }
                }
            }
            defer { watcher.cancel() }
            let outcome = try await ComputeThreads.run { () throws -> SimulationOutcome in
                func market(_ strategy: MarketMakingStrategy) -> Market {
                    strategy.definition.markets.first { $0.key == request.market } ?? strategy.definition.markets[0]
                }
                let fillModel = request.fillModel ?? FillModel()
                if let grid = request.grid {
                    let strategy = strategies[0]
                    return SimulationOutcome(
                        runs: nil,
                        sweep: try ParameterSweep.run(
                            bars: bars, market: market(strategy), base: strategy.definition.parameters, grid: grid,
                            fillModel: fillModel,
                            control: .init(report: { finished, total in
                                done.store(finished * 100 / total, ordering: .relaxed)
                            })))
                }
                var runs: [SimulationOutcome.Run] = []
                for (index, strategy) in strategies.enumerated() {
                    runs.append(
                        .init(
                            strategyId: strategy.id, name: strategy.name,
                            report: try MarketMakingSimulation.run(
                                bars: bars, market: market(strategy), parameters: strategy.definition.parameters,
                                fillModel: fillModel,
                                volatilityHalfLifeSeconds: strategy.definition.volatilityHalfLifeSeconds,
                                volatilityWindow: strategy.definition.volatilityWindow)))
                    done.store((index + 1) * 100 / strategies.count, ordering: .relaxed)
                }
                return SimulationOutcome(runs: runs, sweep: nil)
            }
            try await progress(done.load(ordering: .relaxed))
            try await withTransaction { transaction in
                try await transaction.execute(
                    """
                    UPDATE market_making_simulations SET status = 'completed', progress = 1,
                        result = \(try PostgresJSON(encoding: outcome))::jsonb, completed_at = now()
                    WHERE id = \(id)
                    """)
            }
        } catch {
            let message = (error as? ServiceError)?.message ?? "the simulation failed: \(error)"
            try await withTransaction { transaction in
                try await transaction.execute(
                    """
                    UPDATE market_making_simulations SET status = 'failed', error = \(String(message.prefix(2_000))),
                        result = NULL, completed_at = now()
                    WHERE id = \(id)
                    """)
            }
            throw error
        }
    }

    static func record(_ row: PostgresRow) throws -> MarketMakingSimulationRecord {
        MarketMakingSimulationRecord(
            id: try row.decode("id", as: UUID.self), strategyId: try row.decode("strategy_id", as: UUID.self),
            kind: try row.decode("kind", as: String.self),
            request: try row.decode("request", as: PostgresJSON.self).decode(SimulationRequest.self),
            status: try row.decode("status", as: String.self), progress: try row.decode("progress", as: Double.self),
            result: try row.decode("result", as: PostgresJSON?.self).map { try $0.decode(SimulationOutcome.self) },
            error: try row.decode("error", as: String?.self), jobId: try row.decode("job_id", as: UUID?.self),
            requestedBy: try row.decode("requested_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self),
            completedAt: try row.decode("completed_at", as: Date?.self))
    }
}
