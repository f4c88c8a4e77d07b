public import ScryptexPostgres

/// The white-label module's tables in `platform`: instances (a tenant and its commercial terms)
/// and the commercial plans' feature catalogue, which bounds the tenant's feature flags.
///
/// Applied migrations must never be edited: add a new one. (Version 2's text is the legacy
/// platform set's version 11, word for word; `CommercialPlan` has since moved here.)
public enum WhiteLabelMigrations {
    /// In the `platform` schema, after tenancy's.
    public static let platform = MigrationSet(
        name: "white_label",
        migrations: [
            Migration(
                version: 1,
                name: "create_white_label_instances",
                sql: """
                    CREATE TABLE white_label_instances (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE RESTRICT,
                        plan text NOT NULL,
                        isolation jsonb NOT NULL DEFAULT '{}',
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            ),
            Migration(
                version: 2,
                name: "commercial_plan_features",
                sql: """
                    -- The features each commercial plan includes (CommercialPlan in ScryptexApp holds
                    -- the same catalogue; a test keeps them equal). A white-label instance's tenant
                    -- can never have a feature on that its plan lacks, whichever path writes the flag.
                    CREATE TABLE commercial_plans (
                        plan text PRIMARY KEY,
                        features text[] NOT NULL
                    );
                    INSERT INTO commercial_plans (plan, features) VALUES
                        ('starter', '{bi,compliance,institutional,white_label}'),
                        ('professional', '{bi,compliance,institutional,ml,quant,tradfi,white_label}'),
                        ('enterprise', '{bi,compliance,institutional,market_making,ml,quant,tradfi,white_label}');

                    CREATE FUNCTION tenant_features_within_plan() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    DECLARE
                        instance_plan text;
                    BEGIN
                        IF NEW.enabled THEN
                            SELECT w.plan INTO instance_plan FROM white_label_instances w WHERE w.tenant_id = NEW.tenant_id;
                            IF FOUND AND NOT EXISTS (SELECT 1 FROM commercial_plans c
                                                     WHERE c.plan = instance_plan AND NEW.feature = ANY (c.features)) THEN
                                RAISE EXCEPTION 'feature % is not included in the % plan', NEW.feature, instance_plan
                                    USING ERRCODE = 'check_violation';
                            END IF;
                        END IF;
                        RETURN NEW;
                    END
                    $$;
                    CREATE TRIGGER tenant_features_within_plan BEFORE INSERT OR UPDATE ON tenant_features
                        FOR EACH ROW EXECUTE FUNCTION tenant_features_within_plan();
                    """
            ),
        ]
    )
}
