public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A position an account holds at a connected platform — a prime broker, a custodian — beyond
/// what the book's own trades account for, so regulatory reports reflect every platform.
public struct PlatformPosition: Sendable, Codable, Equatable {
    public var accountId: UUID
    public var symbol: String
    public var quantity: ExactDecimal
    /// Where it is held (`broker:<session>`, `custodian:<custodian>/<account>`).
    public var source: String

    public init(accountId: UUID, symbol: String, quantity: ExactDecimal, source: String) {
        self.accountId = accountId
        self.symbol = symbol
        self.quantity = quantity
        self.source = source
    }
}

/// Where the reports learn what accounts hold at connected platforms (the traditional-finance
/// module's broker position reports and custody balances).
public protocol ConnectedPlatformPositions: Sendable {
    /// What `accounts` held at connected platforms before `end`, beyond the book.
    func positions(
        ofAccounts accounts: [UUID], before end: Date, in transaction: PostgresTransaction
    ) async throws -> [PlatformPosition]
}
