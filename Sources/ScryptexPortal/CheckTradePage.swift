import Foundation
import ScryptexAPI
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexInstitutional
import ScryptexTemplates

/// The pre-trade check: the same check the API runs (recorded, audited, screened against the
/// sanctions lists), its decision and each rule's outcome shown on the page.
extension PortalRoutes {
    @Sendable func checkPage(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await checkPage(call)
    }

    func checkPage(
        _ call: TenantCall, draft: [String: String] = [:], outcome: [String: TemplateValue]? = nil,
        error: String? = nil, status: HTTPStatus = .ok
    ) async throws -> HTTPResponse {
        let canReadAccounts = call.principal.has(.accountsRead)
        let list =
            canReadAccounts
            ? try await call.scope.withTransaction(readOnly: true) {
                try await accounts.accounts(limit: AccountService.largestPage, in: $0).accounts
            } : []
        var values: [String: TemplateValue] = [
            "accounts": .list(
                list.map { account in
                    [
                        "id": .string(account.id.uuidString.lowercased()), "name": .string(account.accountName),
                        "selected": .bool(draft["accountId"] == account.id.uuidString.lowercased()),
                    ]
                }),
            "draft": .object(draft.mapValues { .string($0) }),
            "sell": .bool(draft["side"] == "sell"),
        ]
        if let outcome { values["outcome"] = .object(outcome) }
        if let error { values["error"] = .string(error) }
        return try await page(
            "portal-check", title: "Pre-trade check", section: Self.root + "/checks", call: call, values: values,
            status: status)
    }

    func checkTrade(_ request: HTTPRequest, _ call: TenantCall, _ form: FormFields) async throws -> HTTPResponse {
        let fields = ["accountId", "symbol", "side", "quantity", "price", "venue", "counterparty", "walletAddress"]
        let draft = Dictionary(uniqueKeysWithValues: fields.compactMap { name in form[name].map { (name, $0) } })
        do {
            func decimal(_ name: String, _ example: String) throws -> ExactDecimal {
                guard let text = form[name], let value = ExactDecimal(text) else {
                    throw ServiceError(.invalidInput, "field '\(name)': a decimal number such as \(example)")
                }
                return value
            }
            guard let account = form["accountId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "field 'accountId': choose an account (or paste its id)")
            }
            let trade = TradeCheckRequest(
                accountId: account, symbol: form["symbol"] ?? "", side: form["side"] ?? "",
                quantity: try decimal("quantity", "1.5"), price: try decimal("price", "64250.00"),
                venue: form["venue"], counterparty: form["counterparty"], walletAddress: form["walletAddress"])
            let (id, decision) = try await compliance.checkTrade(trade, for: call)
            let outcome: [String: TemplateValue] = [
                "id": .string(id.uuidString.lowercased()), "decision": .string(decision.decision.rawValue),
                "notional": .string(decision.notional.description),
                "rules": try TemplateValue(encoding: decision.rules),
                "candidates": try TemplateValue(encoding: decision.sanctionsCandidates),
            ]
            return try await checkPage(call, draft: draft, outcome: outcome)
        } catch let error as ServiceError where error.code == .invalidInput || error.code == .notFound {
            return try await checkPage(call, draft: draft, error: error.message, status: .badRequest)
        }
    }
}
