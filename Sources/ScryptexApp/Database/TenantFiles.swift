package import Foundation
package import ScryptexCore
package import ScryptexIdentity
package import ScryptexPostgres
import ScryptexRevenue
package import ScryptexTenancy

/// Applies the tenants folder (`tenants/*.json`): the tenancy part through `TenantSync`, then each
/// file's `revenueSharePercent` as a flat revenue plan. Used at start and by `scryptex tenant sync`.
package enum TenantFiles {
    package struct Outcome {
        package var report: TenantSync.Report
        /// Tenants whose revenue plan changed, with the month the new version starts.
        package var plansChanged: [String: String]
    }

    package static func apply(
        _ configuration: Configuration, keyring: Keyring, logger: Logger, on pool: PostgresConnectionPool,
        now: Date = Date()
    ) async throws -> Outcome {
        let folder = configuration.tenantsDirectory
        let provisioner = TenantIdentitySetUp.provisioner(configuration, keyring: keyring, logger: logger)
        let report = try await TenantSync(provisioner: provisioner, logger: logger).apply(folder: folder, on: pool)
        var plansChanged: [String: String] = [:]
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasSuffix(".json")
        }
        for file in files.sorted() {
            let manifest = try TenantManifest.load(path: folder + "/" + file)
            // Pages choose readable text colours themselves; links need a brand colour that reads.
            for warning in manifest.branding.map({ BrandPalette($0).warnings }) ?? [] {
                logger.warning(
                    "a tenant's branding fails the contrast check", ["tenant": manifest.slug, "problem": warning])
            }
            guard let percent = manifest.revenueSharePercent else { continue }
            let desired = RevenuePlan(model: .flat, currency: try Currency("USD"), percent: percent)
            let month = RevenueMonth.of(now)
            let changed: String? = try await pool.withTransaction { transaction in
                guard let id = try await TenantRegistry().tenant(try TenantSlug(manifest.slug), from: transaction)?.id
                else { return nil }
                let store = RevenuePlanStore()
                if try await store.plan(for: id, in: month, transaction: transaction) == desired { return nil }
                // A version already starting this month stays; the file's plan then starts next month.
                for start in [month, RevenueMonth.next(after: month)] {
                    do {
                        try await transaction.withSavepoint { savepoint in
                            try await store.add(
                                desired, effectiveMonth: start, partner: id, createdBy: "tenants-folder", in: savepoint)
                        }
                        return start
                    } catch let error as ServiceError where error.code == .conflict {
                        continue
                    }
                }
                logger.notice(
                    "the tenant file's revenue share could not be applied: plan versions already start this month and next",
                    ["tenant": manifest.slug])
                return nil
            }
            if let changed { plansChanged[manifest.slug] = changed }
        }
        return Outcome(report: report, plansChanged: plansChanged)
    }
}
