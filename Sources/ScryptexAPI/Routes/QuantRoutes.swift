import Foundation
import ScryptexCore
import ScryptexHTTP
public import ScryptexMarketData
import ScryptexPostgres
import ScryptexQuant
public import ScryptexTenancy

/// The quant suite: an account's strategies, their backtests (tenant jobs) and market data.
public struct QuantRoutes: RouteCollection {
    /// The kind of the tenant job that runs a backtest.
    public static let jobKind = "quant_backtest"
    /// The kind of the tenant job that runs a parameter search.
    public static let optimizationJobKind = "quant_optimization"

    let strategies = QuantStrategyService()
    let source: any MarketDataSource

    /// - Parameter source: Where backtests read bars (`BACKTESTING_DATA_SOURCE`).
    public init(source: any MarketDataSource) {
        self.source = source
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/api/enterprise/accounts/:id/quant-strategies", as: TenantCall.self, feature: .quant) {
            account in
            account.post(.strategiesWrite, use: create)
            account.get(.strategiesRead, use: list)
        }
        routes.group("/api/enterprise/quant-strategies", as: TenantCall.self, feature: .quant) { strategy in
            strategy.get(":id", .strategiesRead, use: show)
            strategy.patch(":id", .strategiesWrite, use: update)
            strategy.delete(":id", .strategiesWrite, use: delete)
            strategy.post(":id/backtest", .backtestsRun, use: backtest)
            strategy.get(":id/backtests", .strategiesRead, use: backtests)
            strategy.post(":id/optimize", .backtestsRun, use: optimize)
        }
        routes.group("/api/enterprise/optimizations", as: TenantCall.self, feature: .quant) { optimizations in
            optimizations.get(":id", .strategiesRead, use: showOptimization)
        }
        routes.group("/api/enterprise/backtests", as: TenantCall.self, feature: .quant) { backtests in
            backtests.get(":id", .strategiesRead, use: showBacktest)
        }
        routes.group("/api/enterprise/market-data", as: TenantCall.self, feature: .quant) { data in
            data.get(.strategiesRead, use: marketData)
            data.get("bars", .strategiesRead, use: bars)
            data.post("datasets", .strategiesWrite, use: importDataset)
        }
    }

    func strategyID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("id", notFound: "no strategy with this id")
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let draft = try request.decodeJSON(QuantStrategyService.Draft.self)
        let strategy = try await call.scope.withTransaction {
            try await strategies.create(draft, account: account, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        return try .json(encoding: strategy, status: .created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let list = try await call.scope.withTransaction(readOnly: true) {
            try await strategies.strategies(of: account, in: $0)
        }
        return try .json(encoding: ["strategies": list])
    }

    @Sendable func show(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await strategies.strategy(id, in: $0) }
        )
    }

    @Sendable func update(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let change = try request.decodeJSON(QuantStrategyService.Change.self)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await strategies.update(id, with: change, audit: call.audit, in: $0)
            })
    }

    @Sendable func delete(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        try await call.scope.withTransaction { try await strategies.delete(id, audit: call.audit, in: $0) }
        return .noContent
    }

    /// Queues a backtest: 202 with `{"id", "status": "queued", "jobId"}`; the result at
    /// `GET /api/enterprise/backtests/:id`.
    @Sendable func backtest(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let settings = try BacktestRequest.decode(request.body).settings()
        let queued = try await call.scope.withTransaction {
            try await strategies.requestBacktest(
                of: id, settings: settings, dataSource: source.name, actor: call.principal.actor, audit: call.audit,
                in: $0)
        }
        let job = try await TenantJobQueue(pool: call.services.pool).enqueue(
            Self.jobKind, for: call.tenant,
            payload: try PostgresJSON(encoding: ["backtestId": queued.id.uuidString.lowercased()]), maxAttempts: 1,
            timeout: .seconds(3_600))
        try await call.scope.withTransaction { try await strategies.attach(job: job, to: queued.id, in: $0) }
        struct Accepted: Encodable {
            var id: UUID
            var status: String
            var jobId: UUID
        }
        return try .json(encoding: Accepted(id: queued.id, status: queued.status, jobId: job), status: .accepted)
    }

    /// Queues a parameter search (grid or random, optionally walk-forward): 202 with its id; the
    /// result at `GET /api/enterprise/optimizations/:id`.
    @Sendable func optimize(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let search = try OptimizationRequest.decode(request.body)
        let queued = try await call.scope.withTransaction {
            try await OptimizationService().request(
                search, of: id, dataSource: source.name, actor: call.principal.actor, audit: call.audit, in: $0)
        }
        let job = try await TenantJobQueue(pool: call.services.pool).enqueue(
            Self.optimizationJobKind, for: call.tenant,
            payload: try PostgresJSON(encoding: ["optimizationId": queued.id.uuidString.lowercased()]),
            maxAttempts: 1, timeout: .seconds(3_600))
        try await call.scope.withTransaction { try await OptimizationService().attach(job: job, to: queued.id, in: $0) }
        struct Accepted: Encodable {
            var id: UUID
            var status: String
            var jobId: UUID
        }
        return try .json(encoding: Accepted(id: queued.id, status: queued.status, jobId: job), status: .accepted)
    }

    @Sendable func showOptimization(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no optimization with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await OptimizationService().optimization(id, in: $0)
            })
    }

    @Sendable func backtests(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let list = try await call.scope.withTransaction(readOnly: true) {
            try await strategies.backtests(of: id, in: $0)
        }
        return try .json(encoding: ["backtests": list])
    }

    @Sendable func showBacktest(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no backtest with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await strategies.backtest(id, in: $0) }
        )
    }

    // MARK: - Market data

    @Sendable func marketData(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let list = try await call.scope.withTransaction(readOnly: true) {
            try await MarketDataStore().list(tenantDatasets: true, in: $0)
        }
        return try .json(encoding: ["series": list])
    }

    /// `?symbol=&timeframe=[&dataset=][&start=][&end=][&limit=]`: bars as columns (at most
    /// `limit`, default 10,000, the latest ones).
    @Sendable func bars(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        guard let symbol = query["symbol"] else { throw ServiceError(.invalidInput, "query 'symbol': required") }
        let timeframe = try Timeframe.parse(query["timeframe"] ?? "1d")
        let start = try query["start"].map { try MarketTime.parse($0, field: "start").seconds }
        let end = try query["end"].map { text -> Int64 in
            let (seconds, isDate) = try MarketTime.parse(text, field: "end")
            return isDate ? seconds + 86_400 : seconds + 1
        }
        let limit = try query.integer("limit", in: 1...100_000) ?? 10_000
        var series = try await call.scope.withTransaction(readOnly: true) {
            try await MarketDataStore().bars(
                symbol: symbol, timeframe: timeframe, dataset: query["dataset"], start: start, end: end, in: $0)
        }
        if series.count > limit { series = series.between(series.times[series.count - limit], nil) }
        struct Columns: Encodable {
            var symbol: String
            var timeframe: String
            var count: Int
            var time: [Int64]
            var open: [Double]
            var high: [Double]
            var low: [Double]
            var close: [Double]
            var volume: [Double]
        }
        return try .json(
            encoding: Columns(
                symbol: series.symbol, timeframe: series.timeframe.rawValue, count: series.count, time: series.times,
                open: series.open, high: series.high, low: series.low, close: series.close, volume: series.volume))
    }

    /// `POST …/market-data/datasets?name=&symbol=&timeframe=` with a CSV body (up to the request
    /// body limit; larger files through `scryptex market-data import`): the import report.
    @Sendable func importDataset(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        guard let name = query["name"], let symbol = query["symbol"], let timeframe = query["timeframe"] else {
            throw ServiceError(.invalidInput, "query 'name', 'symbol' and 'timeframe': all three are required")
        }
        let timeframeValue = try Timeframe.parse(timeframe)
        var chunks = [request.body]
        let report = try await call.scope.withTransaction { transaction in
            let report = try await MarketDataImporter().importCSV(
                symbol: symbol, timeframe: timeframeValue, into: .dataset(name: name), source: "upload",
                totalBytes: request.body.count, nextChunk: { chunks.isEmpty ? nil : chunks.removeFirst() },
                in: transaction)
            try await call.audit.record(
                "market_data.dataset_imported", objectType: "market_dataset", objectID: name, accountID: nil,
                details: ["symbol": report.symbol, "timeframe": timeframe, "bars": String(report.barsInFile)],
                in: transaction)
            return report
        }
        return try .json(encoding: report, status: .created)
    }

    /// The tenant job that runs a parameter search.
    public static func optimizationJobHandler(source: any MarketDataSource) -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let id = payload["optimizationId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no optimization id")
            }
            let audit = TenantAuditSink(schema: context.tenant.schema, actor: "system:job", requestID: nil)
            try await OptimizationService().run(
                id, source: source, audit: audit,
                withTransaction: { body in try await context.withTenantTransaction(body) },
                progress: { try await context.report(progress: $0) })
            return try PostgresJSON(encoding: ["optimizationId": id.uuidString.lowercased()])
        }
    }

    /// The tenant job that runs a backtest.
    public static func jobHandler(source: any MarketDataSource) -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let id = payload["backtestId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no backtest id")
            }
            let audit = TenantAuditSink(schema: context.tenant.schema, actor: "system:job", requestID: nil)
            try await BacktestRunner(source: source).run(
                id, audit: audit, withTransaction: { body in try await context.withTenantTransaction(body) },
                progress: { try await context.report(progress: $0) })
            return try PostgresJSON(encoding: ["backtestId": id.uuidString.lowercased()])
        }
    }
}
