public import Foundation
public import ScryptexPostgres

/// Seals personal data with the tenant's key (the identity module's keyring provides it).
public protocol PersonalDataSealer: Sendable {
    func seal(_ text: String, field: String) -> [UInt8]
    func open(_ box: [UInt8], field: String) throws -> String
    /// A keyed hash to find a value without storing it.
    func lookupHash(_ text: String, purpose: String) -> String
}

/// Appends to the tenant's audit trail inside the transaction of the change; it knows who is
/// acting and for which request.
public protocol AuditSink: Sendable {
    func record(
        _ action: String, objectType: String, objectID: String?, accountID: UUID?, details: [String: String],
        in transaction: PostgresTransaction
    ) async throws
}

/// Screens an account's legal name and its beneficial owners against sanctions lists (the
/// compliance module answers), at KYC submission and whenever a list changes; a new hit raises
/// an alert in the same transaction.
public protocol KYCNameScreening: Sendable {
    func screen(
        _ account: InstitutionalAccount, beneficialOwners: [AccountService.BeneficialOwner], audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws
}
