import ScryptexCompliance
import ScryptexIdentity
import ScryptexInstitutional
public import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy
import ScryptexWhiteLabel

/// The migrations from before each module owned its tables: one `platform` set and one `tenant`
/// set, frozen exactly as they were applied (their checksums are in every database they built).
///
/// A schema built by them is brought to their last version, then converted to the module sets
/// (`MigrationPlan`'s legacy conversion): each module set is recorded as applied up to the end
/// point below, the version that holds what the legacy set had built. Never edit these texts
/// and never add to them; new migrations go in the owning module's set.
public enum LegacySchema {
    /// The control-plane set, at its end (version 13).
    public static let platform = LegacyMigrations(
        set: LegacyPlatformMigrations.set,
        endPoints: ["tenancy": 4, "identity": 1, "white_label": 2, "revenue": 6, "compliance": 1])

    /// The tenant set, at its end (version 12).
    public static let tenant = LegacyMigrations(
        set: LegacyTenantMigrations.set,
        endPoints: ["identity": 4, "institutional": 3, "compliance": 7])
}

/// The control-plane set as it was, frozen: each version's text is the module migrations that
/// now hold it, joined, plus what no module set has any more (a pinned checksum per version
/// proves every text is still the one databases recorded).
enum LegacyPlatformMigrations {
    static let set = MigrationSet(
        name: "platform",
        migrations: [
            legacy(1, joining: tenancy(1), whiteLabelInstancesAsCreated),
            legacy(2, tenancy(2)),
            legacy(3, identity(1)),
            legacy(4, complianceSanctions(1)),
            legacy(5, revenue(1)),
            legacy(6, revenue(2)),
            legacy(7, revenue(3)),
            legacy(8, joining: revenue(4), revenueShareMovedToPlans),
            legacy(9, revenue(5)),
            legacy(10, revenue(6)),
            legacy(11, whiteLabel(2)),
            legacy(12, tenancy(3)),
            legacy(13, tenancy(4)),
        ]
    )

    /// `white_label_instances` as version 1 created it (version 8 dropped its share column).
    static let whiteLabelInstancesAsCreated = """
        CREATE TABLE white_label_instances (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE RESTRICT,
            plan text NOT NULL,
            revenue_share_percent numeric(7, 4) NOT NULL CHECK (revenue_share_percent BETWEEN 0 AND 100),
            isolation jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """

    /// The end of version 8: the share column's removal, now part of no module set (a new
    /// database's instances never had it).
    static let revenueShareMovedToPlans = """
        -- An instance's revenue terms live in revenue_plans (versioned); its features
        -- are the tenant's flags, bounded by the commercial plan.
        ALTER TABLE white_label_instances DROP COLUMN revenue_share_percent;
        """

    static func tenancy(_ version: Int) -> Migration { TenancyMigrations.platform.migrations[version - 1] }
    static func identity(_ version: Int) -> Migration { IdentityMigrations.platform.migrations[version - 1] }
    static func whiteLabel(_ version: Int) -> Migration { WhiteLabelMigrations.platform.migrations[version - 1] }
    static func revenue(_ version: Int) -> Migration { RevenueMigrations.platform.migrations[version - 1] }
    static func complianceSanctions(_ version: Int) -> Migration {
        ComplianceMigrations.platform.migrations[version - 1]
    }
}

/// The tenant schema's set as it was, frozen (every tenant's schema, `t_<slug>`).
enum LegacyTenantMigrations {
    static let set = MigrationSet(
        name: "tenant",
        migrations: [
            legacy(1, joining: institutional(1), identity(1), name: "create_institutional_core"),
            legacy(2, identity(2)),
            legacy(3, institutional(2)),
            legacy(4, compliance(1)),
            legacy(5, compliance(2)),
            legacy(6, compliance(3)),
            legacy(7, compliance(4)),
            legacy(8, compliance(5)),
            legacy(9, compliance(6)),
            legacy(10, joining: compliance(7), institutional(3), name: "trade_amendments_and_kyc_documents"),
            legacy(11, identity(3)),
            legacy(12, identity(4)),
        ]
    )

    static func identity(_ version: Int) -> Migration { IdentityMigrations.tenant.migrations[version - 1] }
    static func institutional(_ version: Int) -> Migration { InstitutionalMigrations.tenant.migrations[version - 1] }
    static func compliance(_ version: Int) -> Migration { ComplianceMigrations.tenant.migrations[version - 1] }
}

/// A legacy version whose text and name are one module migration's.
private func legacy(_ version: Int, _ migration: Migration) -> Migration {
    Migration(version: version, name: migration.name, sql: migration.sql)
}

/// A legacy version whose text is the module migrations' texts joined by a blank line, named as
/// the first (or as `name`).
private func legacy(_ version: Int, joining first: Migration, _ second: Migration, name: String? = nil) -> Migration {
    Migration(version: version, name: name ?? first.name, sql: first.sql + "\n\n" + second.sql)
}

/// The same with a text no module set has any more.
private func legacy(_ version: Int, joining first: Migration, _ rest: String) -> Migration {
    Migration(version: version, name: first.name, sql: first.sql + "\n\n" + rest)
}
