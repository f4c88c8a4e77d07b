public import ScryptexPostgres

/// The traditional-finance tables, in every tenant's schema (after the institutional module's:
/// a broker session books to an account).
///
/// Applied migrations must never be edited: add a new one.
public enum TradFiMigrations {
    public static let tenant = MigrationSet(
        name: "tradfi",
        migrations: [
            Migration(
                version: 1,
                name: "create_tradfi_broker_sessions_and_fix_messages",
                sql: """
                    -- A FIX session to a prime broker: where, who we are to it, and where it stands.
                    CREATE TABLE tradfi_broker_sessions (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        host text NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
                        port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
                        sender_comp_id text NOT NULL CHECK (length(sender_comp_id) BETWEEN 1 AND 64),
                        target_comp_id text NOT NULL CHECK (length(target_comp_id) BETWEEN 1 AND 64),
                        tls boolean NOT NULL DEFAULT true,
                        -- PEM of the authorities that sign the broker's certificate (null: the system's).
                        trusted_certificates text,
                        heartbeat_seconds integer NOT NULL DEFAULT 30 CHECK (heartbeat_seconds BETWEEN 5 AND 300),
                        schedule jsonb,
                        enabled boolean NOT NULL DEFAULT true,
                        status text NOT NULL DEFAULT 'disconnected'
                            CHECK (status IN ('disconnected', 'connecting', 'logged_on', 'failed')),
                        status_detail text,
                        next_sender_seq bigint NOT NULL DEFAULT 1 CHECK (next_sender_seq >= 1),
                        next_target_seq bigint NOT NULL DEFAULT 1 CHECK (next_target_seq >= 1),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (host, port, sender_comp_id, target_comp_id)
                    );

                    -- Every message a session sent, under its number, for resends; written before
                    -- the message goes out.
                    CREATE TABLE tradfi_fix_messages (
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id) ON DELETE CASCADE,
                        sequence bigint NOT NULL CHECK (sequence >= 1),
                        message_type text NOT NULL,
                        message text NOT NULL,
                        sent_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (session_id, sequence)
                    );
                    """
            )
        ]
    )
}
