public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// One credit line an order would draw on, as it stands before the order (amounts in US dollars,
/// as every limit of the check is).
public struct CreditLineStanding: Sendable, Codable, Equatable {
    /// What the line covers.
    public enum Scope: String, Sendable, Codable {
        /// The account's whole exposure: the gross market value of its positions and working
        /// orders. An order that shrinks a position draws nothing.
        case account
        /// What the account owes or is owed by one counterparty until settled: every trade
        /// with it draws its full notional.
        case counterparty
    }

    public var id: UUID
    public var scope: Scope
    public var counterparty: String?
    public var limit: ExactDecimal
    /// What is in use now; nil when part of the exposure cannot be valued (`unvalued` says which).
    public var utilisation: ExactDecimal?
    public var unvalued: String?

    public init(
        id: UUID, scope: Scope, counterparty: String? = nil, limit: ExactDecimal, utilisation: ExactDecimal?,
        unvalued: String? = nil
    ) {
        self.id = id
        self.scope = scope
        self.counterparty = counterparty
        self.limit = limit
        self.utilisation = utilisation
        self.unvalued = unvalued
    }

    /// How the check names the line.
    var label: String {
        counterparty.map { "the credit line with \($0)" } ?? "the account's credit line"
    }
}

/// Where the pre-trade check learns the credit extended to an account (the traditional-finance
/// module's credit lines): an order that would take a line beyond its limit is refused.
public protocol CreditLineSource: Sendable {
    /// The active lines an order of `account` with `counterparty` (nil: none named) draws on,
    /// each with what it has in use.
    func standings(
        ofAccount account: UUID, counterparty: String?, in transaction: PostgresTransaction
    ) async throws -> [CreditLineStanding]

    /// Called in the transaction that booked a trade of `account` (what its lines have in use
    /// moved): reviews their margin. Returns the alerts raised (a margin call, a warning).
    func reviewAfterBooking(
        ofAccount account: UUID, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> [ComplianceAlert]
}

extension TradeCheckRules {
    /// The credit rule: each line the order draws on must keep what is in use with the order
    /// within its limit. A counterparty line is drawn by the whole notional; the account's line by
    /// the growth of the position's gross value (a sale that shrinks a long position draws
    /// nothing, so a line already beyond its limit can always be traded down).
    func creditLine(
        _ request: TradeCheckRequest, side: TradeCheckRequest.Side, notionalUSD: ExactDecimal?,
        context: TradeCheckContext
    ) throws(ServiceError) -> RuleOutcome? {
        guard let lines = context.creditLines else { return nil }
        guard !lines.isEmpty else { return RuleOutcome("credit_line", .pass, "no credit line") }
        var tightest: (reason: String, headroom: ExactDecimal)?
        for line in lines.sorted(by: { ($0.scope.rawValue, $0.id.uuidString) < ($1.scope.rawValue, $1.id.uuidString) })
        {
            guard let used = line.utilisation else {
                return RuleOutcome(
                    "credit_line", .review,
                    "cannot value what \(line.label) has in use: \(line.unvalued ?? "an exposure has no price")")
            }
            let draw: ExactDecimal
            switch line.scope {
            case .counterparty:
                guard let notionalUSD else {
                    return RuleOutcome(
                        "credit_line", .review,
                        "cannot value the order in US dollars against \(line.label): no rate for its quote currency")
                }
                draw = notionalUSD
            case .account:
                let before = context.positions[request.symbol] ?? .zero
                let after =
                    side == .buy
                    ? try before.adding(request.quantity, figure: "the position after this order")
                    : try before.subtracting(request.quantity, figure: "the position after this order")
                let growth = try (after.isNegative ? -after : after).subtracting(
                    before.isNegative ? -before : before, figure: "the growth of the position")
                if growth > .zero {
                    guard let rate = context.usdPerQuoteUnit else {
                        return RuleOutcome(
                            "credit_line", .review,
                            "cannot value the order in US dollars against \(line.label): no rate for its quote currency"
                        )
                    }
                    draw = try growth.multiplied(by: request.price, figure: "the order's draw on credit")
                        .multiplied(by: context.contractSize, figure: "the order's draw on credit")
                        .multiplied(by: rate, figure: "the order's draw on credit").rounded(toScale: 18).normalized
                } else {
                    draw = .zero
                }
            }
            let total = try used.adding(draw, figure: "the credit in use with this order")
            if draw > .zero, total > line.limit {
                return RuleOutcome(
                    "credit_line", .fail,
                    "\(line.label) would have \(total) USD in use (\(used) now), beyond its limit \(line.limit)")
            }
            // What is left under the limit; a figure too large to hold is never the tightest.
            let headroom = line.limit.addingReportingOverflow(-total)
            if !headroom.overflow, tightest.map({ headroom.partialValue < $0.headroom }) ?? true {
                let reason =
                    draw == .zero && line.scope == .account
                    ? "the order does not add to the account's exposure (\(used) of \(line.limit) USD in use)"
                    : "\(total) of \(line.limit) USD in use on \(line.label) with this order"
                tightest = (reason, headroom.partialValue)
            }
        }
        return RuleOutcome("credit_line", .pass, tightest?.reason ?? "no credit line")
    }
}
