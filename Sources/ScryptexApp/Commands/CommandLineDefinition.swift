public import ScryptexCore

/// The `scryptex` program's commands.
/// The slug rule, for help text.
enum TenantSlugRule {
    static let text = "The tenant's slug: a lowercase letter, then 1 to 39 lowercase letters, digits or underscores."
}

public enum ScryptexCommands {
    public static let version = "0.1.0"

    public static let definition = CommandDefinition(
        name: "scryptex",
        summary: "Scryptex Host: a multi-tenant white-label host for institutional crypto trading.",
        subcommands: [
            CommandDefinition(
                name: "serve",
                summary: "Run the host: database (embedded when DATABASE_URL is unset), migrations, services.",
                discussion: """
                    Stops cleanly on SIGINT or SIGTERM; an embedded cluster started by 'serve' is stopped with it.
                    Configuration comes from the environment: see 'scryptex config'.
                    """
            ),
            CommandDefinition(
                name: "db",
                summary: "Manage the embedded PostgreSQL cluster in $SCRYPTEX_DATA_DIR/postgres.",
                subcommands: [
                    CommandDefinition(name: "start", summary: "Create the cluster if needed and start it."),
                    CommandDefinition(name: "stop", summary: "Stop the cluster (fast shutdown)."),
                    CommandDefinition(
                        name: "status",
                        summary: "Print whether the cluster is running; exit 3 when it is not."
                    ),
                    CommandDefinition(name: "url", summary: "Print a connection URL for psql and DATABASE_URL."),
                ]
            ),
            CommandDefinition(
                name: "migrate",
                summary: "Apply pending migrations to the platform schema and every tenant schema.",
                options: [
                    .flag("status", "List every migration and whether it is applied; change nothing."),
                    .flag(
                        "check-drift", "Compare every tenant's schema with what its migrations produce; change nothing."
                    ),
                ]
            ),
            CommandDefinition(
                name: "tenant",
                summary: "Provision and list tenants (partner instances).",
                subcommands: [
                    CommandDefinition(
                        name: "create",
                        summary: "Create a tenant: schema, role, migrations, branding and flags, atomically.",
                        options: [
                            .value("name", "NAME", "The display name.", required: true),
                            .value("legal-name", "NAME", "The legal name."),
                            .value(
                                "domain", "HOST", "A custom domain, besides <slug>.PLATFORM_DOMAIN.", repeatable: true),
                        ],
                        arguments: [.required("slug", TenantSlugRule.text)]
                    ),
                    CommandDefinition(name: "list", summary: "List tenants with their status and domains."),
                    CommandDefinition(
                        name: "sync",
                        summary:
                            "Apply $SCRYPTEX_TENANTS_DIR/*.json: create missing tenants, apply changes, report (never delete) the rest."
                    ),
                    CommandDefinition(
                        name: "suspend", summary: "Suspend a tenant: its domains answer 503, its data is kept.",
                        arguments: [.required("slug", "The tenant's slug.")]
                    ),
                    CommandDefinition(
                        name: "resume", summary: "Resume a suspended tenant.",
                        arguments: [.required("slug", "The tenant's slug.")]
                    ),
                    CommandDefinition(
                        name: "delete",
                        summary:
                            "Delete a suspended tenant after writing a final export; type the slug again with --confirm.",
                        options: [.value("confirm", "SLUG", "The slug again.", required: true)],
                        arguments: [.required("slug", "The tenant's slug.")]
                    ),
                    CommandDefinition(
                        name: "export",
                        summary: "Write one tenant's data and control-plane rows to an archive (JSON lines).",
                        options: [
                            .value(
                                "output", "FILE",
                                "Where to write (default: $SCRYPTEX_DATA_DIR/exports/<slug>-<time>.jsonl).")
                        ],
                        arguments: [.required("slug", "The tenant's slug.")]
                    ),
                    CommandDefinition(
                        name: "import", summary: "Restore an archive as a new tenant.",
                        options: [.value("slug", "SLUG", "The new tenant's slug.", required: true)],
                        arguments: [.required("archive", "The archive file.")]
                    ),
                ]
            ),
            CommandDefinition(
                name: "cert",
                summary: "Manage TLS certificates in $SCRYPTEX_DATA_DIR/tls.",
                subcommands: [
                    CommandDefinition(
                        name: "dev",
                        summary: "Make a local CA and ECDSA certificates for PLATFORM_DOMAIN and the given domains.",
                        options: [
                            .value("domain", "HOST", "Also make a certificate for this domain.", repeatable: true)
                        ],
                        discussion:
                            "Existing certificates are kept. Trust the CA with: curl --cacert $SCRYPTEX_DATA_DIR/tls/ca.pem ..."
                    ),
                    CommandDefinition(
                        name: "issue",
                        summary: "Obtain certificates from the ACME authority in ACME_DIRECTORY_URL (HTTP-01).",
                        options: [
                            .value(
                                "domain", "HOST", "A domain to obtain a certificate for.", repeatable: true,
                                required: true)
                        ],
                        discussion:
                            "The authority fetches http://HOST/.well-known/acme-challenge/TOKEN, which the host's HTTP port serves from $SCRYPTEX_DATA_DIR/acme; when no host is running, the command answers on HTTP_LISTEN itself (any web server with that folder as its webroot works too). Each certificate and its key go to $SCRYPTEX_DATA_DIR/tls/certificates; a running host serves them within 2 s. A running host with ACME_DIRECTORY_URL set also does this by itself for every domain it serves, and renews ACME_RENEW_DAYS before expiry."
                    ),
                ]
            ),
            CommandDefinition(
                name: "apikey",
                summary: "Manage a tenant's API keys.",
                subcommands: [
                    CommandDefinition(
                        name: "create",
                        summary: "Create an API key for a tenant and print it once (only its hash is stored).",
                        options: [
                            .value("tenant", "SLUG", TenantSlugRule.text, required: true),
                            .value(
                                "role", "ROLE", "A role the key holds (owner, admin, trader, ...).", repeatable: true,
                                required: true),
                            .value("name", "NAME", "What the key is for (default: cli)."),
                        ]
                    )
                ]
            ),
            CommandDefinition(
                name: "admin-key",
                summary: "Manage platform-admin keys (control plane only).",
                subcommands: [
                    CommandDefinition(
                        name: "create", summary: "Create a platform-admin key and print it once.",
                        options: [.value("name", "NAME", "Whose key this is.", required: true)]
                    )
                ]
            ),
            CommandDefinition(
                name: "audit",
                summary: "Check and maintain audit trails.",
                subcommands: [
                    CommandDefinition(
                        name: "verify",
                        summary: "Verify a tenant's audit chain (or the platform's, or an export); exit 1 if broken.",
                        options: [
                            .value("tenant", "SLUG", "The tenant whose trail to verify."),
                            .value("file", "FILE", "An exported trail (JSON lines) to verify offline."),
                        ]
                    ),
                    CommandDefinition(
                        name: "purge",
                        summary:
                            "Delete records older than AUDIT_RETENTION_DAYS from every trail, behind signed checkpoints."
                    ),
                    CommandDefinition(
                        name: "seal",
                        summary:
                            "Sign the head of every trail that grew and append the seals to AUDIT_SEAL_LOG (the host does this every AUDIT_SEAL_INTERVAL)."
                    ),
                ]
            ),
            CommandDefinition(
                name: "keys",
                summary: "Rotate the keys of encryption at rest.",
                subcommands: [
                    CommandDefinition(
                        name: "rotate",
                        summary: "Give a tenant a new data key and re-encrypt its personal data with it.",
                        options: [.value("tenant", "SLUG", TenantSlugRule.text, required: true)]
                    ),
                    CommandDefinition(
                        name: "rewrap",
                        summary:
                            "Re-wrap every data key with SCRYPTEX_MASTER_KEY (set SCRYPTEX_MASTER_KEY_PREVIOUS to the old one)."
                    ),
                ]
            ),
            CommandDefinition(
                name: "sanctions",
                summary: "Load and list sanctions lists (each load is kept as a version).",
                subcommands: [
                    CommandDefinition(
                        name: "load",
                        summary:
                            "Load a list: ofac_sdn or ofac_consolidated (primary CSV, then alt and add CSVs), or un_consolidated (XML).",
                        arguments: [
                            .required("source", "ofac_sdn, ofac_consolidated or un_consolidated."),
                            .required("file", "The primary file (sdn.csv, cons_prim.csv or the UN XML)."),
                            .optional("aliases", "OFAC only: alt.csv (or cons_alt.csv)."),
                            .optional("addresses", "OFAC only: add.csv (or cons_add.csv)."),
                        ],
                        discussion:
                            "A file in the wrong format fails the whole load, naming the line; the active list stays."
                    ),
                    CommandDefinition(name: "status", summary: "List the loaded versions; the active ones are marked."),
                ]
            ),
            CommandDefinition(
                name: "revenue",
                summary: "The revenue-share ledger: ingest fee events, close a month, statements, reconciliation.",
                subcommands: [
                    CommandDefinition(
                        name: "ingest",
                        summary: "Ingest fee events from CSV (each with an idempotency key; replays change nothing).",
                        arguments: [
                            .required(
                                "file",
                                "CSV with the header partner,idempotency_key,product,amount,currency,volume,occurred_at."
                            )
                        ],
                        discussion:
                            "The whole file is checked first and ingested in one transaction: a bad line (named) ingests nothing."
                    ),
                    CommandDefinition(
                        name: "close",
                        summary: "Close a month: post each partner's share and store its statement.",
                        options: [
                            .value("period", "YYYY-MM", "The month to close.", required: true),
                            .value("partner", "SLUG", "Only this partner (default: every partner with a plan)."),
                        ]
                    ),
                    CommandDefinition(
                        name: "statement",
                        summary: "Print a partner's statement for a closed month.",
                        options: [
                            .value("partner", "SLUG", "The partner.", required: true),
                            .value("period", "YYYY-MM", "The closed month.", required: true),
                            .value("format", "FORMAT", "json (default) or csv."),
                        ]
                    ),
                    CommandDefinition(
                        name: "reconcile",
                        summary: "Compare fee events, ledger postings and statements; exit 1 on any difference.",
                        options: [
                            .value("period", "YYYY-MM", "Only this month."),
                            .value("partner", "SLUG", "Only this partner."),
                        ]
                    ),
                ]
            ),
            CommandDefinition(name: "config", summary: "Print the effective configuration (secrets masked)."),
            CommandDefinition(name: "version", summary: "Print the version."),
        ]
    )
}
