public import ScryptexPostgres

/// The machine-learning tables, in every tenant's schema (after the institutional module's: a
/// model belongs to an account).
///
/// Applied migrations must never be edited: add a new one.
public enum MLMigrations {
    public static let tenant = MigrationSet(
        name: "ml",
        migrations: [
            Migration(
                version: 1,
                name: "create_ml_models_datasets_and_evaluations",
                sql: """
                    CREATE TABLE ml_datasets (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        csv text NOT NULL,
                        rows integer NOT NULL,
                        columns jsonb NOT NULL,
                        sha256 text NOT NULL,
                        uploaded_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE ml_models (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        model_type text NOT NULL CHECK (model_type IN ('random_forest', 'svm', 'lstm', 'ensemble')),
                        task text NOT NULL CHECK (task IN ('classification', 'regression')),
                        request jsonb NOT NULL,
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'training', 'ready', 'failed', 'cancelled')),
                        progress double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
                        stage text,
                        loss double precision,
                        evaluation jsonb,
                        error text,
                        job_id uuid,
                        version integer NOT NULL DEFAULT 1,
                        file_path text,
                        file_sha256 text,
                        trained_on text,
                        compute_notice text,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        started_at timestamptz,
                        completed_at timestamptz,
                        deleted_at timestamptz,
                        -- Ready means trained, evaluated and saved; nothing else is ever marked ready.
                        CHECK ((status = 'ready') = (evaluation IS NOT NULL AND file_path IS NOT NULL AND file_sha256 IS NOT NULL))
                    );
                    CREATE UNIQUE INDEX ml_models_name ON ml_models (account_id, name) WHERE deleted_at IS NULL;

                    -- Monitoring: the model scored on bars that arrived after its training data.
                    CREATE TABLE ml_model_evaluations (
                        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        model_id uuid NOT NULL REFERENCES ml_models (id),
                        evaluated_at timestamptz NOT NULL DEFAULT now(),
                        period_start timestamptz NOT NULL,
                        period_end timestamptz NOT NULL,
                        rows integer NOT NULL,
                        metrics jsonb NOT NULL,
                        drift boolean NOT NULL,
                        drift_reasons jsonb NOT NULL
                    );
                    CREATE INDEX ml_model_evaluations_model ON ml_model_evaluations (model_id, evaluated_at);
                    """
            ),
            Migration(
                version: 2,
                name: "keep_model_files_in_the_database",
                sql: """
                    -- The trained model's file as written to ML_MODEL_STORAGE_PATH, kept with the
                    -- model: a host whose storage does not have it (another host trained it, its
                    -- storage is not shared, the tenant moved) takes it from here.
                    ALTER TABLE ml_models ADD COLUMN file_bytes bytea;
                    """
            ),
        ]
    )
}
