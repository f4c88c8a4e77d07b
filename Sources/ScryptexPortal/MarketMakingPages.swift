import Foundation
import ScryptexAPI
import ScryptexCore
import ScryptexHTTP
import ScryptexMarketMaking
import ScryptexTemplates

/// Market making (feature `market_making`, `MARKET_MAKING_ENABLED`): an account's strategies on
/// its page, and a strategy's live quotes, inventory and P&L, paused or resumed here.
extension PortalRoutes {
    func marketMakingValues(of account: UUID, call: TenantCall) async throws -> [TemplateValue] {
        try await call.scope.withTransaction(readOnly: true) {
            try await MarketMakingService().strategies(of: account, in: $0)
        }.map { strategy in
            [
                "id": .string(strategy.id.uuidString.lowercased()), "name": .string(strategy.name),
                "status": .string(strategy.status),
                "markets": .string(strategy.definition.markets.map(\.key).joined(separator: ", ")),
            ]
        }
    }

    func marketMakingID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("id", notFound: "no market-making strategy with this id")
    }

    @Sendable func marketMakingPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await marketMakingDetail(call, id: try marketMakingID(call))
    }

    func marketMakingDetail(
        _ call: TenantCall, id: UUID, error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let now = Date().timeIntervalSince1970
        let (strategy, quotes, positions) = try await call.scope.withTransaction(readOnly: true) { transaction in
            let service = MarketMakingService()
            return (
                try await service.strategy(id, in: transaction),
                try await service.quotes(of: id, now: now, in: transaction),
                try await service.positions(of: id, in: transaction)
            )
        }
        func price(_ value: Double) -> String { String(format: "%.6g", value) }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", $0 * 100) } ?? "—" }
        var realised = ExactDecimal.zero
        var unrealised = ExactDecimal.zero
        for position in positions {
            realised = try realised.adding(position.realisedPnL, figure: "realised P&L")
            unrealised = try unrealised.adding(position.unrealisedPnL ?? .zero, figure: "unrealised P&L")
        }
        var values: [String: TemplateValue] = [
            "strategy": [
                "id": .string(strategy.id.uuidString.lowercased()), "name": .string(strategy.name),
                "status": .string(strategy.status), "active": .bool(strategy.status == "active"),
                "paused": .bool(strategy.status == "paused"),
                "reason": strategy.statusReason.map { .string($0) } ?? .null,
                "account": .string(strategy.accountId.uuidString.lowercased()),
                "version": .number(String(strategy.version)),
            ],
            "quotes": .list(
                quotes.quotes.map { quote in
                    [
                        "market": .string(quote.market), "model": .string(quote.model),
                        "mid": .string(price(quote.mid)),
                        "bid": quote.bid.map { .string($0.description) } ?? .null,
                        "ask": quote.ask.map { .string($0.description) } ?? .null,
                        "reservation": .string(price(quote.reservationPrice)),
                        "spread": .string(price(quote.optimalSpread)), "inventory": .string(price(quote.inventory)),
                        "volatility": .string(String(format: "%.3g", quote.volatility)),
                        "levels": .number(String(quote.bids.count + quote.asks.count)),
                        "reasons": .string(quote.reasons.joined(separator: "; ")),
                    ]
                }),
            "notQuoted": .list(
                quotes.notQuoted.sorted { $0.key < $1.key }.map {
                    ["market": .string($0.key), "why": .string($0.value)]
                }
            ),
            "positions": .list(
                positions.map { position in
                    [
                        "market": .string(position.market), "position": .string(position.position.description),
                        "averageCost": position.averageCost.map { .string($0.description) } ?? .null,
                        "realised": .string(position.realisedPnL.description),
                        "unrealised": position.unrealisedPnL.map { .string($0.description) } ?? .null,
                        "fees": .string(position.fees.description), "volume": .string(position.volume.description),
                        "spreadCaptured": .string(position.spreadCaptured.description),
                        "fills": .number(String(position.fills)), "fillRate": .string(percent(position.fillRate)),
                        "timeInMarket": .string(percent(position.timeInMarket)),
                    ]
                }),
            "totals": [
                "realised": .string(realised.description), "unrealised": .string(unrealised.description),
                "total": .string(try realised.adding(unrealised, figure: "P&L").description),
            ],
        ]
        if let hedge = quotes.hedgeOrder {
            values["hedge"] = [
                "market": .string(hedge.market), "side": .string(hedge.side.rawValue),
                "quantity": .string(hedge.quantity.description),
                "before": .string(String(format: "%.6g", hedge.exposureBefore)),
                "after": .string(String(format: "%.6g", hedge.exposureAfter)),
            ]
        }
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-market-making", title: strategy.name, section: Self.root + "/accounts", call: call, values: values,
            status: status)
    }

    func pauseMarketMaking(
        _ request: HTTPRequest, _ call: TenantCall, _ form: FormFields
    ) async throws
        -> HTTPResponse
    {
        try await changeMarketMaking(call, to: "paused", reason: form["reason"] ?? "paused by \(call.principal.actor)")
    }

    func resumeMarketMaking(
        _ request: HTTPRequest, _ call: TenantCall, _ form: FormFields
    ) async throws
        -> HTTPResponse
    {
        try await changeMarketMaking(call, to: "active", reason: nil)
    }

    /// The API's own pause and resume (audited, logged, sent to the strategy's stream).
    func changeMarketMaking(_ call: TenantCall, to status: String, reason: String?) async throws -> HTTPResponse {
        let id = try marketMakingID(call)
        return try await submitting(
            next: Self.root + "/market-making/" + id.uuidString.lowercased(),
            { _ = try await operations.marketMaking.changeStatus(of: id, to: status, reason: reason, for: call) },
            refused: { message, status in try await marketMakingDetail(call, id: id, error: message, status: status) })
    }
}
