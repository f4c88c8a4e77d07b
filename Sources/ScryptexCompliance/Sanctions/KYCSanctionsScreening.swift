import Foundation
import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// Screens institutional accounts' names — the legal name and each beneficial owner's — against
/// the active sanctions lists: at KYC submission, and again whenever another list version becomes
/// active (a name that was clean may match a new entry). Each match at or above the review
/// threshold raises a `kyc_sanctions_match` alert once per account, person and list entry; the
/// alert names the person by role and id (an owner's name is sealed personal data) and the list
/// entry (public) by its identifier and name.
public struct KYCSanctionsScreening: KYCNameScreening {
    let registry: SanctionsRegistry
    let monitoring: MonitoringService

    public init(registry: SanctionsRegistry, monitoring: MonitoringService) {
        self.registry = registry
        self.monitoring = monitoring
    }

    public static let alertKind = "kyc_sanctions_match"

    public func screen(
        _ account: InstitutionalAccount, beneficialOwners: [AccountService.BeneficialOwner], audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws {
        let screener = registry.screener()
        var people = [(role: "legal_name", id: account.id.uuidString.lowercased(), name: account.legalName)]
        for owner in beneficialOwners {
            people.append(("beneficial_owner", owner.id?.uuidString.lowercased() ?? "", owner.name))
        }
        for person in people {
            for candidate in screener.screen(name: person.name) {
                let seen = try await transaction.query(
                    """
                    SELECT 1 AS found FROM compliance_alerts
                    WHERE account_id = \(account.id) AND kind = \(Self.alertKind)
                      AND details ->> 'person' = \(person.id) AND details ->> 'entry' = \(candidate.identifier)
                      AND details ->> 'source' = \(candidate.source.rawValue)
                    """
                )
                guard seen.isEmpty else { continue }
                let who = person.role == "legal_name" ? "the account's legal name" : "beneficial owner \(person.id)"
                let score = (candidate.score * 100).rounded() / 100
                _ = try await monitoring.raise(
                    .init(
                        kind: Self.alertKind, severity: candidate.score >= 0.95 ? "high" : "medium",
                        summary:
                            "\(who) resembles \(candidate.source.rawValue) entry \(candidate.identifier) '\(candidate.name)' (score \(score))"
                    ),
                    accountID: account.id,
                    subject: [
                        "person": person.id, "role": person.role, "entry": candidate.identifier,
                        "source": candidate.source.rawValue,
                        "listVersion": candidate.listVersion.uuidString.lowercased(),
                    ], audit: audit, in: transaction)
            }
        }
    }
}
