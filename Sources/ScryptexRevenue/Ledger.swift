public import ScryptexCore

/// The ledger's accounts, per partner.
public enum LedgerAccount: String, Sendable, Codable, CaseIterable {
    /// Fees the platform collected (credit when earned).
    case platformRevenue = "platform_revenue"
    /// Fees receivable / cash side of collected fees (debit when earned).
    case feesReceivable = "fees_receivable"
    /// The partners' share recognised as an expense of the platform.
    case revenueShareExpense = "revenue_share_expense"
    /// What the platform owes the partner (credit when a period closes).
    case partnerPayable = "partner_payable"
    /// Payouts on their way: debited from the payable when sent, cleared when they settle or
    /// fail.
    case payoutsInTransit = "payouts_in_transit"
    /// Money that reached the partner (credit when a payout settles).
    case partnerPaid = "partner_paid"
    /// The partner's share of late events (true-ups of closed periods), an expense posted in
    /// the next open period; exact, like the share expense.
    case adjustments
    /// Sub-cent remainders of rounding the share to the currency's precision.
    case roundingRemainder = "rounding_remainder"
}

extension LedgerAccount {
    /// Accounts that meet money moving in or out (fees, payables, payouts) hold whole minor
    /// units; the share expense and its adjustments are exact, and the rounding account holds
    /// what lies between an exact share and the rounded payable.
    public var holdsMinorUnitsOnly: Bool { ![.revenueShareExpense, .adjustments, .roundingRemainder].contains(self) }
}

/// One balanced journal entry: its lines sum to zero per currency (debits positive, credits
/// negative). Amounts are exact; see `LedgerAccount.holdsMinorUnitsOnly`.
public struct Posting: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var account: LedgerAccount
        public var amount: Money

        public init(_ account: LedgerAccount, _ amount: Money) {
            self.account = account
            self.amount = amount
        }
    }

    public var memo: String
    public var lines: [Line]

    /// - Throws: `ServiceError` when the lines do not balance, or a line other than the rounding
    ///   account is finer than the currency's minor unit.
    public init(memo: String, lines: [Line]) throws(ServiceError) {
        var totals: [Currency: ExactDecimal] = [:]
        for line in lines {
            totals[line.amount.currency, default: .zero] += line.amount.amount
            if line.account.holdsMinorUnitsOnly, line.amount.amount.significantScale > line.amount.currency.precision {
                throw ServiceError(
                    .invalidInput,
                    "posting '\(memo)': \(line.account.rawValue) \(line.amount.amount) is finer than \(line.amount.currency)'s minor unit"
                )
            }
        }
        for (currency, total) in totals where !total.isZero {
            throw ServiceError(.invalidInput, "posting '\(memo)' does not balance in \(currency): off by \(total)")
        }
        self.memo = memo
        self.lines = lines
    }

    /// A true-up of a closed period's share: the exact change as an adjustment, the change of
    /// the rounded share payable (the restated share as rounded, less what was paid), the
    /// remainder in the rounding account.
    public static func adjustment(
        exact: ExactDecimal, rounded: ExactDecimal, currency: Currency, memo: String
    ) throws(ServiceError) -> Posting {
        var lines = [Line(.adjustments, Money(exact, currency)), Line(.partnerPayable, Money(-rounded, currency))]
        if rounded != exact { lines.append(Line(.roundingRemainder, Money(rounded - exact, currency))) }
        return try Posting(memo: memo, lines: lines)
    }

    /// Fees earned: receivable against platform revenue.
    public static func feesEarned(_ amount: Money, memo: String) throws(ServiceError) -> Posting {
        try Posting(memo: memo, lines: [Line(.feesReceivable, amount), Line(.platformRevenue, -amount)])
    }

    /// A closed period's share: the exact share as expense, the rounded share payable to the
    /// partner, and the remainder in the rounding account, so the entry balances exactly.
    public static func periodShare(_ calculation: ShareCalculation, memo: String) throws(ServiceError) -> Posting {
        let currency = calculation.share.currency
        var lines = [
            Line(.revenueShareExpense, Money(calculation.exactShare, currency)),
            Line(.partnerPayable, -calculation.share),
        ]
        if !calculation.roundingRemainder.isZero {
            lines.append(Line(.roundingRemainder, Money(-calculation.roundingRemainder, currency)))
        }
        return try Posting(memo: memo, lines: lines)
    }
}
