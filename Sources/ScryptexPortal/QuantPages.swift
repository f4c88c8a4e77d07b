import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexQuant
import ScryptexTemplates

/// Quant strategies and backtests (feature `quant`): an account's strategies, a strategy's
/// backtests, and a backtest's result with its equity and drawdown as inline SVG charts.
extension PortalRoutes {
    func strategyValues(of account: UUID, call: TenantCall) async throws -> [TemplateValue] {
        try await call.scope.withTransaction(readOnly: true) {
            try await QuantStrategyService().strategies(of: account, in: $0)
        }.map { strategy in
            [
                "id": .string(strategy.id.uuidString.lowercased()), "name": .string(strategy.name),
                "type": .string(strategy.type),
            ]
        }
    }

    @Sendable func strategyPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await strategyDetail(call, id: try strategyID(call))
    }

    func strategyID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("id", notFound: "no strategy with this id")
    }

    func strategyDetail(
        _ call: TenantCall, id: UUID, draft: FormFields = FormFields([:]), error: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let (strategy, backtests) = try await call.scope.withTransaction(readOnly: true) { transaction in
            let service = QuantStrategyService()
            return (
                try await service.strategy(id, in: transaction), try await service.backtests(of: id, in: transaction)
            )
        }
        let formatter = ISO8601DateFormatter()
        let config = try TemplateValue(encoding: strategy.config)
        var values: [String: TemplateValue] = [
            "strategy": [
                "id": .string(strategy.id.uuidString.lowercased()), "name": .string(strategy.name),
                "type": .string(strategy.type),
                "account": .string(strategy.accountId.uuidString.lowercased()),
                "config": .list(
                    strategy.config.keys.sorted().map { key in
                        guard case .object(let fields) = config else { return .null }
                        return ["name": .string(key), "value": .string(Self.plain(fields[key] ?? .null))]
                    }),
            ],
            "backtests": .list(
                backtests.map { backtest in
                    [
                        "id": .string(backtest.id.uuidString.lowercased()), "status": .string(backtest.status),
                        "requestedAt": .string(formatter.string(from: backtest.createdAt)),
                        "completed": .bool(backtest.status == "completed"),
                        "error": backtest.error.map { .string($0) } ?? .null,
                    ]
                }),
            "draft": .object(
                Dictionary(
                    uniqueKeysWithValues: ["start", "end", "initialCapital", "feesBps", "slippageBps"].compactMap {
                        name in draft[name].map { (name, TemplateValue.string($0)) }
                    })),
        ]
        if backtests.contains(where: { $0.status == "queued" || $0.status == "running" }) { values["refresh"] = true }
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-strategy", title: strategy.name, section: Self.root + "/accounts", call: call, values: values,
            status: status)
    }

    /// Queues a backtest over the chosen period (the API's own request: the same checks, the
    /// same job); the browser goes to the backtest's page, which follows it to its result.
    func runBacktest(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let id = try strategyID(call)
        return try await submitting(
            {
                let settings = BacktestRequest(
                    start: form["start"], end: form["end"],
                    initialCapital: try form.number("initialCapital", example: "100000"),
                    feesBps: try form.number("feesBps", example: "10"),
                    slippageBps: try form.number("slippageBps", example: "5"))
                let queued = try await operations.quant.requestBacktest(settings, of: id, for: call)
                return .redirect(to: Self.root + "/backtests/" + queued.id.uuidString.lowercased())
            },
            refused: { message, status in
                try await strategyDetail(call, id: id, draft: form, error: message, status: status)
            })
    }

    /// A parameter's value as plain text (`20`, `ETH-USD, BTC-USD`).
    static func plain(_ value: TemplateValue) -> String {
        switch value {
        case .list(let items): items.map(plain).joined(separator: ", ")
        case .string(let text), .number(let text): text
        case .bool(let flag): flag ? "yes" : "no"
        case .null, .object: ""
        }
    }

    @Sendable func backtestPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let id = try call.context.identifier("id", notFound: "no backtest with this id")
        let (backtest, strategy) = try await call.scope.withTransaction(readOnly: true) { transaction in
            let service = QuantStrategyService()
            let backtest = try await service.backtest(id, in: transaction)
            return (backtest, try await service.strategy(backtest.strategyId, in: transaction))
        }
        var values: [String: TemplateValue] = [
            "strategy": ["id": .string(strategy.id.uuidString.lowercased()), "name": .string(strategy.name)],
            "status": .string(backtest.status), "error": backtest.error.map { .string($0) } ?? .null,
        ]
        if backtest.status == "queued" || backtest.status == "running" { values["refresh"] = true }
        if let result = backtest.result {
            let curve = result.equityCurve
            let first = String(curve.first?.time.prefix(10) ?? "")
            let last = String(curve.last?.time.prefix(10) ?? "")
            func money(_ value: Double) -> String { String(format: "%.0f", value) }
            func percent(_ value: Double?) -> String { value.map { String(format: "%.2f %%", $0 * 100) } ?? "—" }
            func ratio(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "—" }
            let returns = result.metrics.returns
            values["result"] = [
                "bars": .number(String(result.bars)), "firstBar": .string(result.firstBar),
                "lastBar": .string(result.lastBar), "initialCapital": .string(money(result.initialCapital)),
                "finalEquity": .string(String(format: "%.2f", result.finalEquity)),
                "totalReturn": .string(percent(returns.totalReturn)),
                "annualReturn": .string(percent(returns.annualReturn)),
                "volatility": .string(percent(returns.annualVolatility)), "sharpe": .string(ratio(returns.sharpeRatio)),
                "sortino": .string(ratio(returns.sortinoRatio)), "maxDrawdown": .string(percent(returns.maxDrawdown)),
                "trades": .number(String(result.metrics.trades.trades)),
                "winRate": .string(percent(result.metrics.trades.winRate)),
                "points": .number(String(curve.count)),
                "equityChart": .string(
                    SVGChart.line(
                        curve.map(\.equity), first: first, last: last, label: "Equity from \(first) to \(last)",
                        format: money)),
                "drawdownChart": .string(
                    SVGChart.line(
                        curve.map(\.drawdown), first: first, last: last, label: "Drawdown from \(first) to \(last)",
                        format: { percent($0) }, filledToZero: true)),
            ]
        }
        return try await page(
            "portal-backtest", title: "Backtest of \(strategy.name)", section: Self.root + "/accounts", call: call,
            values: values)
    }
}
