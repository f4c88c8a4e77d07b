public import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
public import ScryptexMarketData
import ScryptexPostgres
public import ScryptexQuant
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
        routes.group("/api/enterprise/quant", as: TenantCall.self, feature: .quant) { analysis in
            analysis.post("portfolio-optimizations", .strategiesRead, use: optimizePortfolio)
            analysis.post("risk", .strategiesRead, use: risk)
            analysis.post("attribution", .strategiesRead, use: attribution)
            analysis.post("factor-attribution", .strategiesRead, use: factorAttribution)
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
        let queued = try await requestBacktest(try BacktestRequest.decode(request.body), of: id, for: call)
        return try .json(encoding: queued, status: .accepted)
    }

    /// A backtest waiting for the job queue.
    public struct QueuedBacktest: Sendable, Encodable {
        public var id: UUID
        public var status: String
        public var jobId: UUID
    }

    /// Records a backtest of the strategy `id` with `request`'s settings and queues its job:
    /// what the API's `POST …/quant-strategies/:id/backtest` does, for the portal too.
    public func requestBacktest(
        _ request: BacktestRequest, of id: UUID, for call: TenantCall
    ) async throws -> QueuedBacktest {
        let settings = try request.settings()
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
        return QueuedBacktest(id: queued.id, status: queued.status, jobId: job)
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

    // MARK: - Portfolio and risk

    /// The assets' bars over the period, through the data source, as the tenant.
    func series(
        _ assets: [String], timeframe: String?, dataset: String?, start: String?, end: String?, call: TenantCall
    ) async throws -> [BarSeries] {
        let timeframe = try Timeframe.parse(timeframe ?? "1d")
        let from = try start.map { try MarketTime.start($0) }
        let to = try end.map { try MarketTime.end($0) }
        guard (1...50).contains(assets.count) else {
            throw ServiceError(.invalidInput, "field 'assets': 1 to 50 market symbols")
        }
        return try await call.scope.withTransaction(readOnly: true) { transaction in
            var loaded: [BarSeries] = []
            for asset in assets {
                loaded.append(
                    try await source.bars(
                        symbol: asset, timeframe: timeframe, dataset: dataset, start: from, end: to, in: transaction))
            }
            return loaded
        }
    }

    /// `POST /api/enterprise/quant/portfolio-optimizations`: weights by `method` within `bounds`,
    /// the efficient frontier and the inputs (annualised μ and Σ).
    @Sendable func optimizePortfolio(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Bound: Decodable {
            var min: Double?
            var max: Double?
        }
        struct Body: Decodable {
            var assets: [String]
            var method: String?
            var timeframe: String?
            var dataset: String?
            var start: String?
            var end: String?
            var bounds: [String: Bound]?
            var riskFreeRate: Double?
            var frontierPoints: Int?
        }
        let body = try request.decodeJSON(Body.self)
        let method = try PortfolioOptimizer.Method(rawValue: body.method ?? "max_sharpe").orThrow(
            ServiceError(
                .invalidInput,
                "field 'method': '\((body.method ?? "").prefix(40))' is not one of \(PortfolioOptimizer.Method.allCases.map(\.rawValue).joined(separator: ", "))"
            ))
        let loaded = try await series(
            body.assets, timeframe: body.timeframe, dataset: body.dataset, start: body.start, end: body.end, call: call)
        let symbols = loaded.map(\.symbol)
        var lower = [Double](repeating: 0, count: symbols.count)
        var upper = [Double](repeating: 1, count: symbols.count)
        for (key, bound) in body.bounds ?? [:] {
            let targets =
                key == "*" ? Array(symbols.indices) : symbols.indices.filter { symbols[$0] == key.uppercased() }
            guard !targets.isEmpty else {
                throw ServiceError(.invalidInput, "field 'bounds.\(key)': not one of the assets (or '*' for all)")
            }
            for index in targets {
                if let low = bound.min { lower[index] = low }
                if let high = bound.max { upper[index] = high }
            }
        }
        let points = body.frontierPoints ?? 20
        guard (2...200).contains(points) else { throw ServiceError(.invalidInput, "field 'frontierPoints': 2 to 200") }
        let optimizer = try PortfolioOptimizer(
            series: loaded, lower: lower, upper: upper, riskFreeRate: body.riskFreeRate ?? 0)
        struct Answer: Encodable {
            var method: String
            var portfolio: PortfolioOptimizer.Portfolio
            var frontier: [PortfolioOptimizer.Portfolio]
            var assets: [String]
            var annualisedMeanReturns: [Double]
            var annualisedCovariance: [[Double]]
            var observations: Int
            var conventions: [String: String]
        }
        return try .json(
            encoding: Answer(
                method: method.rawValue, portfolio: try optimizer.optimize(method),
                frontier: optimizer.frontier(points: points),
                assets: symbols, annualisedMeanReturns: optimizer.mean, annualisedCovariance: optimizer.covariance,
                observations: optimizer.observations,
                conventions: [
                    "inputs":
                        "simple close-to-close returns on the times every asset has; μ = mean · N, Σ = sample covariance (n − 1) · N",
                    "bounds": "long only (0…1) unless bounds say otherwise; weights add up to 1",
                ]))
    }

    /// `POST /api/enterprise/quant/risk`: the risk of `assets` held at `weights` (rebalanced each
    /// bar) or of `returns` as given, against a `benchmark` symbol or `benchmarkReturns`.
    @Sendable func risk(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var accountId: UUID?
            /// For an account: the market-data series of each traded symbol (default: the symbol
            /// itself, else BASE-USD).
            var marketSymbols: [String: String]?
            var assets: [String]?
            var weights: [Double]?
            var returns: [Double]?
            var benchmark: String?
            var benchmarkReturns: [Double]?
            var timeframe: String?
            var dataset: String?
            var start: String?
            var end: String?
            var alpha: Double?
            var riskPerTrade: Double?
            var stopDistance: Double?
            var targetVolatility: Double?
        }
        let body = try request.decodeJSON(Body.self)
        let alpha = body.alpha ?? 0.05
        guard alpha > 0 && alpha < 0.5 else {
            throw ServiceError(.invalidInput, "field 'alpha': above 0 and below 0.5")
        }
        let timeframe = try Timeframe.parse(body.timeframe ?? "1d")
        var returns: [Double]
        var benchmark: (name: String, returns: [Double])?
        var positions: [[String: String]]?
        if let account = body.accountId {
            // The account's positions valued in US dollars; each weighed by its share of the net
            // value and priced from its market-data series.
            let holdings = try await call.scope.withTransaction(readOnly: true) {
                try await PositionReports().currentHoldings(of: account, in: $0)
            }
            guard !holdings.isEmpty else { throw ServiceError(.invalidInput, "the account holds no positions") }
            let values = try holdings.map { try ExactDecimal(parsing: $0.valueUSD) }
            let net = values.reduce(ExactDecimal.zero, +)
            guard net > .zero else {
                throw ServiceError(.invalidInput, "the account's positions are worth \(net) US dollars net: no weights")
            }
            let symbols = holdings.map { holding in
                body.marketSymbols?[holding.symbol]
                    ?? (holding.symbol.split(whereSeparator: { $0 == "/" || $0 == "-" }).first.map { "\($0)-USD" }
                        ?? holding.symbol)
            }
            let weights = values.map { Double($0.description)! / Double(net.description)! }
            var names = symbols
            if let name = body.benchmark { names.append(name) }
            let loaded = try await series(
                names, timeframe: body.timeframe, dataset: body.dataset, start: body.start, end: body.end, call: call)
            let basket = try RiskReport.basketReturns(
                Array(loaded.prefix(symbols.count)), weights: weights,
                benchmark: body.benchmark == nil ? nil : loaded.last)
            returns = basket.returns
            if let other = basket.benchmark, let last = loaded.last { benchmark = (last.symbol, other) }
            positions = holdings.indices.map {
                [
                    "symbol": holdings[$0].symbol, "series": symbols[$0], "valueUSD": holdings[$0].valueUSD,
                    "weight": String(weights[$0]),
                ]
            }
        } else if let given = body.returns {
            returns = given
            if let other = body.benchmarkReturns { benchmark = ("benchmarkReturns", other) }
        } else if let assets = body.assets {
            let weights = body.weights ?? [Double](repeating: 1 / Double(assets.count), count: assets.count)
            var symbols = assets
            if let name = body.benchmark { symbols.append(name) }
            let loaded = try await series(
                symbols, timeframe: body.timeframe, dataset: body.dataset, start: body.start, end: body.end, call: call)
            let basket = try RiskReport.basketReturns(
                Array(loaded.prefix(assets.count)), weights: weights,
                benchmark: body.benchmark == nil ? nil : loaded.last)
            returns = basket.returns
            if let other = basket.benchmark, let last = loaded.last { benchmark = (last.symbol, other) }
        } else {
            throw ServiceError(
                .invalidInput, "field 'accountId', 'assets' (with 'weights') or 'returns': one of them is required")
        }
        struct Answer: Encodable {
            var report: RiskReport
            var positions: [[String: String]]?
            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encodeIfPresent(positions, forKey: Key(stringValue: "positions")!)
            }
            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init?(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
        }
        return try .json(
            encoding: Answer(
                report: try RiskReport(
                    returns: returns, periodsPerYear: timeframe.barsPerYear, benchmark: benchmark, alpha: alpha,
                    riskPerTrade: body.riskPerTrade, stopDistance: body.stopDistance,
                    targetVolatility: body.targetVolatility),
                positions: positions))
    }

    /// `POST /api/enterprise/quant/attribution`: Brinson-Fachler by segment, linked (Carino).
    /// One of: `periods` with each segment's weight and return on both sides (segments may be
    /// assets, strategies or anything else); `assets` with `portfolioWeights` and
    /// `benchmarkWeights`, the monthly returns then read from market data; or `backtests`
    /// (`[{"id", "portfolioWeight", "benchmarkWeight"}]`), attribution by strategy against
    /// holding each strategy's asset, from the completed backtests' monthly returns.
    @Sendable func attribution(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct StrategyWeight: Decodable {
            var id: UUID
            var portfolioWeight: Double
            var benchmarkWeight: Double
        }
        struct Body: Decodable {
            var periods: [BrinsonAttribution.Period]?
            var backtests: [StrategyWeight]?
            var assets: [String]?
            var portfolioWeights: [String: Double]?
            var benchmarkWeights: [String: Double]?
            var timeframe: String?
            var dataset: String?
            var start: String?
            var end: String?
        }
        let body = try request.decodeJSON(Body.self)
        if let periods = body.periods {
            return try .json(encoding: try BrinsonAttribution(periods: periods))
        }
        if let chosen = body.backtests {
            guard (1...50).contains(chosen.count), Set(chosen.map(\.id)).count == chosen.count else {
                throw ServiceError(.invalidInput, "field 'backtests': 1 to 50 different backtests")
            }
            let segments = try await call.scope.withTransaction(readOnly: true) { transaction in
                var segments: [BrinsonAttribution.StrategySegment] = []
                for one in chosen {
                    let backtest = try await strategies.backtest(one.id, in: transaction)
                    guard let months = backtest.result?.monthlyReturns else {
                        throw ServiceError(
                            .invalidInput,
                            "field 'backtests': backtest \(one.id.uuidString.lowercased()) is \(backtest.status), not completed with monthly returns"
                        )
                    }
                    let strategy = try await strategies.strategy(backtest.strategyId, in: transaction)
                    var name = strategy.name
                    if segments.contains(where: { $0.name == name }) {
                        name += " (" + one.id.uuidString.lowercased().prefix(8) + ")"
                    }
                    segments.append(
                        .init(
                            name: name, months: months, portfolioWeight: one.portfolioWeight,
                            benchmarkWeight: one.benchmarkWeight))
                }
                return segments
            }
            return try .json(encoding: try BrinsonAttribution(strategies: segments))
        }
        guard let assets = body.assets, let mine = body.portfolioWeights, let theirs = body.benchmarkWeights else {
            throw ServiceError(
                .invalidInput,
                "field 'periods', 'backtests', or 'assets' with 'portfolioWeights' and 'benchmarkWeights': one is required"
            )
        }
        let loaded = try await series(
            assets, timeframe: body.timeframe, dataset: body.dataset, start: body.start, end: body.end, call: call)
        let monthly = loaded.map { PeriodReturns.monthly($0) }
        let labels = monthly.map { Set($0.map(\.label)) }.reduce(Set(monthly[0].map(\.label))) { $0.intersection($1) }
        guard !labels.isEmpty else {
            throw ServiceError(.invalidInput, "the assets have no month in common in the period")
        }
        func weight(_ weights: [String: Double], _ symbol: String, _ field: String) throws -> Double {
            guard let value = weights[symbol] ?? weights.first(where: { $0.key.uppercased() == symbol })?.value else {
                throw ServiceError(.invalidInput, "field '\(field).\(symbol)': every asset needs a weight")
            }
            return value
        }
        var periods: [BrinsonAttribution.Period] = []
        for label in labels.sorted() {
            var portfolio: [String: BrinsonAttribution.Holding] = [:]
            var benchmark: [String: BrinsonAttribution.Holding] = [:]
            for (index, one) in loaded.enumerated() {
                let value = monthly[index].first { $0.label == label }!.return
                portfolio[one.symbol] = .init(weight: try weight(mine, one.symbol, "portfolioWeights"), return: value)
                benchmark[one.symbol] = .init(weight: try weight(theirs, one.symbol, "benchmarkWeights"), return: value)
            }
            periods.append(.init(label: label, portfolio: portfolio, benchmark: benchmark))
        }
        return try .json(encoding: try BrinsonAttribution(periods: periods))
    }

    /// `POST /api/enterprise/quant/factor-attribution`: least squares of the returns of `assets` at
    /// `weights` (or of `returns`) on the returns of `factors` (market symbols).
    @Sendable func factorAttribution(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var assets: [String]?
            var weights: [Double]?
            var factors: [String]
            var timeframe: String?
            var dataset: String?
            var start: String?
            var end: String?
        }
        let body = try request.decodeJSON(Body.self)
        guard let assets = body.assets, !assets.isEmpty else {
            throw ServiceError(.invalidInput, "field 'assets': the holdings whose returns are explained")
        }
        guard (1...10).contains(body.factors.count) else {
            throw ServiceError(.invalidInput, "field 'factors': 1 to 10 market symbols")
        }
        let loaded = try await series(
            assets + body.factors, timeframe: body.timeframe, dataset: body.dataset, start: body.start, end: body.end,
            call: call)
        let weights = body.weights ?? [Double](repeating: 1 / Double(assets.count), count: assets.count)
        guard weights.count == assets.count, abs(weights.reduce(0, +) - 1) < 1e-9 else {
            throw ServiceError(.invalidInput, "field 'weights': one per asset, adding up to 1")
        }
        // Every series on the times all of them have.
        let returns = try RiskReport.alignedReturns(loaded)
        let basket = returns[0].indices.map { t in assets.indices.map { weights[$0] * returns[$0][t] }.reduce(0, +) }
        let factors = loaded.indices.dropFirst(assets.count).map { (name: loaded[$0].symbol, returns: returns[$0]) }
        let timeframe = try Timeframe.parse(body.timeframe ?? "1d")
        return try .json(
            encoding: try FactorAttribution(returns: basket, factors: factors, periodsPerYear: timeframe.barsPerYear))
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
        let start = try query["start"].map { try MarketTime.start($0) }
        let end = try query["end"].map { try MarketTime.end($0) }
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
    /// - Parameter signals: Where `ml_signal` strategies' predictions come from.
    public static func jobHandler(
        source: any MarketDataSource, signals: (any StrategySignalProvider)? = nil
    ) -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let id = payload["backtestId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no backtest id")
            }
            let audit = TenantAuditSink(schema: context.tenant.schema, actor: "system:job", requestID: nil)
            try await BacktestRunner(source: source, signals: signals).run(
                id, audit: audit, withTransaction: { body in try await context.withTenantTransaction(body) },
                progress: { try await context.report(progress: $0) })
            return try PostgresJSON(encoding: ["backtestId": id.uuidString.lowercased()])
        }
    }
}

extension Optional {
    /// The value, or `error` thrown.
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}

/// `/admin/api/market-data`: the platform's market-data store, written by platform admins only
/// (tenants read it; they upload their own datasets under `/api/enterprise/market-data`).
public struct MarketDataAdminRoutes: RouteCollection {
    let pool: PostgresConnectionPool
    let logger: Logger

    public init(services: APIServices) {
        pool = services.pool
        logger = services.logger
    }

    public func add(to routes: inout SecuredRoutes) {
        routes.group("/admin/api/market-data", as: AdminCall.self) { data in
            data.get(use: list)
            data.post("import", use: importBars)
            data.post("generate", use: generate)
        }
    }

    @Sendable func list(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let series = try await pool.withTransaction(readOnly: true) {
            try await MarketDataStore().list(tenantDatasets: false, in: $0)
        }
        return try .json(encoding: ["series": series])
    }

    /// `POST /admin/api/market-data/import?symbol=&timeframe=` with a CSV body: the import report.
    @Sendable func importBars(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let query = QueryParameters(request)
        guard let symbol = query["symbol"], let timeframe = query["timeframe"] else {
            throw ServiceError(.invalidInput, "query 'symbol' and 'timeframe': both are required")
        }
        let timeframeValue = try Timeframe.parse(timeframe)
        var chunks = [request.body]
        let report = try await pool.withTransaction { transaction in
            let report = try await MarketDataImporter().importCSV(
                symbol: symbol, timeframe: timeframeValue, into: .platform, source: "upload by \(call.admin.actor)",
                totalBytes: request.body.count, nextChunk: { chunks.isEmpty ? nil : chunks.removeFirst() },
                in: transaction)
            try await call.recordPlatformEvent(
                "market_data.imported", objectType: "market_data", objectID: "\(report.symbol) \(timeframe)",
                details: ["barsInFile": String(report.barsInFile), "bytes": String(request.body.count)],
                in: transaction)
            return report
        }
        logger.notice(
            "market data imported",
            [
                "symbol": report.symbol, "timeframe": timeframe, "bars": String(report.barsInFile),
                "by": call.admin.actor,
            ])
        return try .json(encoding: report, status: .created)
    }

    /// `POST /admin/api/market-data/generate` with a `SyntheticMarket` (every field optional):
    /// the synthetic series replaces what the platform held under its symbol and timeframe.
    @Sendable func generate(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let market = request.body.isEmpty ? SyntheticMarket() : try request.decodeJSON(SyntheticMarket.self)
        let series = try market.generate()
        try await pool.withTransaction(statementTimeout: .seconds(600)) { transaction in
            try await MarketDataStore().store(
                series, into: .platform, source: "synthetic (seed \(market.seed))", in: transaction)
            try await call.recordPlatformEvent(
                "market_data.generated", objectType: "market_data",
                objectID: "\(series.symbol) \(series.timeframe.rawValue)",
                details: ["bars": String(series.count), "seed": String(market.seed)], in: transaction)
        }
        logger.notice(
            "synthetic market data stored",
            ["symbol": series.symbol, "bars": String(series.count), "by": call.admin.actor])
        return try .json(
            encoding: ["symbol": series.symbol, "timeframe": series.timeframe.rawValue, "bars": String(series.count)],
            status: .created)
    }
}
