public import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
public import ScryptexMarketMaking
import ScryptexPostgres
public import ScryptexTenancy

/// Market making over the API (feature `market_making`, `MARKET_MAKING_ENABLED`): strategies,
/// ticks and fills in, quotes and positions out (docs/MARKET_MAKING.md).
public struct MarketMakingRoutes: RouteCollection {
    public static let jobKind = "market_making_simulation"

    let enabled: Bool
    let service = MarketMakingService()

    /// - Parameter enabled: `MARKET_MAKING_ENABLED`; off, every market-making route is 403.
    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// `MARKET_MAKING_ENABLED`, for the pages that show market making.
    public var hostSwitch: HostSwitch {
        HostSwitch(isOn: enabled, detail: "market making is disabled on this host (MARKET_MAKING_ENABLED=false)")
    }

    public func add(to routes: inout SecuredRoutes) {
        let host = hostSwitch
        let accountPath = "/api/enterprise/accounts/:id/market-making-strategies"
        routes.group(
            accountPath, as: TenantCall.self, permission: .marketMakingManage, feature: .marketMaking, enabledBy: host
        ) { strategies in
            strategies.post(use: create)
        }
        routes.group(
            accountPath, as: TenantCall.self, permission: .marketMakingRead, feature: .marketMaking, enabledBy: host
        ) { strategies in
            strategies.get(use: list)
        }
        routes.group(
            "/api/enterprise/market-making", as: TenantCall.self, permission: .marketMakingRead,
            feature: .marketMaking, enabledBy: host
        ) { strategy in
            strategy.get(":id", use: show)
            strategy.get(":id/quotes", use: quotes)
            strategy.get(":id/positions", use: positions)
            strategy.get(":id/stream", use: stream)
            strategy.get("simulations/:simulationId", use: showSimulation)
        }
        routes.group(
            "/api/enterprise/market-making", as: TenantCall.self, permission: .marketMakingManage,
            feature: .marketMaking, enabledBy: host
        ) { strategy in
            strategy.patch(":id", use: update)
            strategy.post(":id/pause", use: pause)
            strategy.post(":id/resume", use: resume)
            strategy.post(":id/ticks", use: tick)
            strategy.post(":id/fills", use: fill)
            strategy.post(":id/trades", use: trades)
            strategy.post(":id/simulations", use: simulate)
        }
    }

    func strategyID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("id", notFound: "no market-making strategy with this id")
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let definition = try MarketMakingDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await service.create(
                    definition, account: account, actor: call.principal.actor, audit: call.audit, in: $0)
            }, status: .created)
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        return try .json(
            encoding: [
                "strategies": try await call.scope.withTransaction(readOnly: true) {
                    try await service.strategies(of: account, in: $0)
                }
            ])
    }

    @Sendable func show(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) { try await service.strategy(id, in: $0) })
    }

    @Sendable func update(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let definition = try MarketMakingDefinition.decode(request.body)
        return try .json(
            encoding: try await call.scope.withTransaction {
                try await service.update(id, with: definition, audit: call.audit, in: $0)
            })
    }

    @Sendable func pause(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(
            encoding: try await changeStatus(
                of: try strategyID(call), to: "paused", reason: "paused by \(call.principal.actor)", for: call))
    }

    @Sendable func resume(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try .json(encoding: try await changeStatus(of: try strategyID(call), to: "active", reason: nil, for: call))
    }

    /// Pauses (`paused`) or resumes (`active`) the strategy `id`, logs the change and tells its
    /// stream's listeners: what the API's pause and resume routes do, for the portal too.
    public func changeStatus(
        of id: UUID, to status: String, reason: String?, for call: TenantCall
    ) async throws -> MarketMakingStrategy {
        let (strategy, event) = try await call.scope.withTransaction { transaction in
            let strategy = try await service.setStatus(
                id, to: status, reason: reason, audit: call.audit, in: transaction)
            let event = try await MarketMakingEventLog().append(
                "status", data: try PostgresJSON(encoding: ["status": status, "reason": reason ?? ""]), strategy: id,
                in: transaction)
            return (strategy, event)
        }
        MarketMakingStreams.shared.publish(event, to: Self.streamKey(call, id))
        return strategy
    }

    static func streamKey(_ call: TenantCall, _ id: UUID) -> String {
        call.tenant.schema.name + ":" + id.uuidString.lowercased()
    }

    /// `GET …/market-making/:id/stream`: Server-Sent Events — `quotes`, `fill` (with the
    /// positions after it) and `status` as they happen, each with its id; a client reconnecting
    /// with `Last-Event-ID` (or `?lastEventId=`) first gets what it missed, from the log. A
    /// comment line every 15 s keeps idle connections open. Open streams hold no thread.
    @Sendable func stream(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let header = request.headers.first("Last-Event-ID") ?? QueryParameters(request)["lastEventId"]
        var lastID: Int64 = 0
        if let header {
            guard let parsed = Int64(header.trimmingCharacters(in: .whitespaces)), parsed >= 0 else {
                throw ServiceError(.invalidInput, "header 'Last-Event-ID': an event id (a whole number)")
            }
            lastID = parsed
        }
        _ = try await call.scope.withTransaction(readOnly: true) { try await service.strategy(id, in: $0) }
        // Subscribed before the log is read, so nothing falls between the two.
        let subscription = MarketMakingStreams.shared.subscribe(Self.streamKey(call, id))
        let missed = try await call.scope.withTransaction(readOnly: true) {
            try await MarketMakingEventLog().events(of: id, after: lastID, in: $0)
        }
        let start = lastID
        var response = HTTPResponse.streaming(contentType: "text/event-stream", openEnded: true) { writer in
            // However the stream ends (the client gone, a write failing), it unsubscribes.
            defer { subscription.finish() }
            var sent = start
            try await writer.write(Array("retry: 3000\n\n".utf8))
            for event in missed {
                try await writer.write(event.frame)
                sent = event.id
            }
            for await item in subscription.stream {
                switch item {
                case .heartbeat: try await writer.write(Array(": keep-alive\n\n".utf8))
                case .event(let event) where event.id > sent:
                    try await writer.write(event.frame)
                    sent = event.id
                case .event: continue
                }
            }
        }
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }

    /// `{"market", "mid", "bestBid"?, "bestAsk"?, "time"?}`: recorded, then the quotes.
    @Sendable func tick(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let tick = try request.decodeJSON(MarketMakingService.Tick.self)
        let now = Date().timeIntervalSince1970
        let (quotes, event) = try await call.scope.withTransaction { transaction in
            try await service.record(tick, strategy: id, in: transaction)
            let quotes = try await service.quotes(of: id, now: tick.time ?? now, in: transaction)
            try await service.recordActivity(quotes, at: tick.time ?? now, strategy: id, in: transaction)
            let event = try await MarketMakingEventLog().append(
                "quotes", data: try PostgresJSON(encoding: quotes), strategy: id, in: transaction)
            return (quotes, event)
        }
        MarketMakingStreams.shared.publish(event, to: Self.streamKey(call, id))
        return try .json(encoding: quotes)
    }

    /// `{"trades": [{"market", "price", "time"?}, …]}`: market trades seen (for κ); answers
    /// each market's κ estimate so far (null until there are enough).
    @Sendable func trades(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable { var trades: [MarketMakingService.ObservedTrade] }
        let id = try strategyID(call)
        let body = try request.decodeJSON(Body.self)
        let kappas = try await call.scope.withTransaction {
            try await service.record(trades: body.trades, strategy: id, in: $0)
        }
        struct Answer: Encodable {
            var recorded: Int
            var kappa: [String: Double?]
        }
        return try .json(encoding: Answer(recorded: body.trades.count, kappa: kappas))
    }

    /// `{"id", "market", "side", "price", "quantity", "fee"?, "mid"?, "time"?}`: 201 when booked,
    /// 200 with `"duplicate": true` when that fill id was already booked (nothing changes).
    @Sendable func fill(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Body: Decodable {
            var id: String
            var market: String
            var side: Fill.Side
            var price: ExactDecimal
            var quantity: ExactDecimal
            var fee: ExactDecimal?
            var mid: ExactDecimal?
            var time: Double?
        }
        let id = try strategyID(call)
        let body = try request.decodeJSON(Body.self)
        let fill = Fill(
            id: body.id, market: body.market, side: body.side, price: body.price, quantity: body.quantity,
            fee: body.fee ?? .zero, mid: body.mid, time: body.time ?? Date().timeIntervalSince1970)
        struct Answer: Encodable {
            var fill: String
            var duplicate: Bool
            var positions: [MarketPosition]
        }
        let (answer, event) = try await call.scope.withTransaction { transaction in
            let booked = try await service.record(fill, strategy: id, audit: call.audit, in: transaction)
            let answer = Answer(
                fill: fill.id, duplicate: !booked, positions: try await service.positions(of: id, in: transaction))
            guard booked else { return (answer, MarketMakingEvent?.none) }
            return (
                answer,
                try await MarketMakingEventLog().append(
                    "fill", data: try PostgresJSON(encoding: answer), strategy: id, in: transaction)
            )
        }
        if let event { MarketMakingStreams.shared.publish(event, to: Self.streamKey(call, id)) }
        return try .json(encoding: answer, status: answer.duplicate ? .ok : .created)
    }

    /// Queues a replay over stored bars (with `compareWith`: other strategies side by side; with
    /// `grid`: a sweep): 202 with its id; the outcome at `GET …/market-making/simulations/:id`.
    @Sendable func simulate(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let simulation = try SimulationRequest.decode(request.body)
        let record = try await call.scope.withTransaction {
            try await SimulationService().request(simulation, strategy: id, actor: call.principal.actor, in: $0)
        }
        let job = try await TenantJobQueue(pool: call.services.pool).enqueue(
            Self.jobKind, for: call.tenant,
            payload: try PostgresJSON(encoding: ["simulationId": record.id.uuidString.lowercased()]), maxAttempts: 1,
            timeout: .seconds(3_600))
        try await call.scope.withTransaction { try await SimulationService().attach(job: job, to: record.id, in: $0) }
        struct Accepted: Encodable {
            var id: UUID
            var kind: String
            var status: String
            var jobId: UUID
        }
        return try .json(
            encoding: Accepted(id: record.id, kind: record.kind, status: record.status, jobId: job), status: .accepted)
    }

    @Sendable func showSimulation(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("simulationId", notFound: "no simulation with this id")
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await SimulationService().simulation(id, in: $0)
            })
    }

    /// The tenant job that runs a simulation or a sweep.
    public static func jobHandler() -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let id = payload["simulationId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no simulation id")
            }
            try await SimulationService().run(
                id, withTransaction: { body in try await context.withTenantTransaction(body) },
                progress: { try await context.report(progress: $0) })
            return try PostgresJSON(encoding: ["simulationId": id.uuidString.lowercased()])
        }
    }

    @Sendable func quotes(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        let now = Date().timeIntervalSince1970
        return try .json(
            encoding: try await call.scope.withTransaction(readOnly: true) {
                try await service.quotes(of: id, now: now, in: $0)
            })
    }

    @Sendable func positions(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try strategyID(call)
        return try .json(
            encoding: [
                "positions": try await call.scope.withTransaction(readOnly: true) {
                    try await service.positions(of: id, in: $0)
                }
            ])
    }
}
