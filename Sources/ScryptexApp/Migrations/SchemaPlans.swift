import ScryptexBI
import ScryptexCompliance
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexML
import ScryptexMarketData
import ScryptexMarketMaking
public import ScryptexPostgres
import ScryptexQuant
import ScryptexRevenue
import ScryptexSchemaHistory
public import ScryptexTenancy
import ScryptexTradFi
import ScryptexWhiteLabel

/// The order in which the modules' migration sets apply: each module owns its tables and its
/// sets; the app only puts them in order (a set may use the tables of the sets before it).
public enum SchemaPlans {
    /// The control plane (`platform`): tenancy first (every table refers to `tenants`).
    public static let platform = MigrationPlan(
        [
            TenancyMigrations.platform, IdentityMigrations.platform, WhiteLabelMigrations.platform,
            RevenueMigrations.platform, ComplianceMigrations.platform, MarketDataMigrations.platform,
        ],
        legacy: LegacySchema.platform)

    /// Every tenant's schema (`t_<slug>`): identity first (its audit trail), then institutional
    /// accounts, then compliance (which refers to accounts).
    /// Identity's extension keeps each tenant's audit trail append-only for the tenant's role.
    public static let tenant = TenantSchemaPlan(
        MigrationPlan(
            [
                IdentityMigrations.tenant, InstitutionalMigrations.tenant, ComplianceMigrations.tenant,
                MarketDataMigrations.tenant, QuantMigrations.tenant, MLMigrations.tenant,
                MarketMakingMigrations.tenant, BIMigrations.tenant, TradFiMigrations.tenant,
            ],
            legacy: LegacySchema.tenant),
        extensions: [IdentityTenantSchemaExtension()],
        sealedColumns: SealedColumn.identity + InstitutionalMigrations.sealedColumns + BIMigrations.sealedColumns)

    /// The binary columns of a tenant schema that are not sealed, and why: every other `bytea`
    /// column must be registered in `tenant.sealedColumns` (a test holds both lists to the
    /// schema). Generated report files are the firm's own figures, served to its readers as
    /// they were written, and are checked by their SHA-256; so are trained model files (no
    /// personal data: numbers fitted to market data or the firm's own uploads).
    public static let plainBinaryColumns = ["bi_report_files.content", "ml_models.file_bytes"]
}
