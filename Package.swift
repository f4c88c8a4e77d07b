// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "scryptex-host",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "scryptex", targets: ["scryptex"])
    ],
    targets: [
        // C libraries at the edge, each behind a tiny shim header.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // Linux calls Glibc does not export to Swift: epoll, eventfd, accept4.
        .target(name: "CLinux"),

        // Foundations shared by every module: logging, exact decimals, command-line parsing.
        .target(name: "ScryptexCore", dependencies: ["CLinux"], swiftSettings: strictSettings),
        // OpenSSL wrapped once: digests and secure random bytes.
        .target(name: "ScryptexCrypto", dependencies: ["COpenSSL", "ScryptexCore"], swiftSettings: strictSettings),
        // epoll event loops with timers, also Swift task executors: the threads every socket
        // (HTTP and PostgreSQL) is served on.
        .target(name: "ScryptexEventLoops", dependencies: ["CLinux", "ScryptexCore"], swiftSettings: strictSettings),
        // PostgreSQL client over libpq, driven by the event loops: connections, pipelines,
        // queries, pool, migrations, LISTEN/NOTIFY.
        .target(
            name: "ScryptexPostgres",
            dependencies: ["CLibPQ", "ScryptexCore", "ScryptexCrypto", "ScryptexEventLoops"],
            swiftSettings: strictSettings
        ),
        // The HTTP/1.1 server: epoll event loops, TLS on OpenSSL with SNI, parser, router.
        .target(
            name: "ScryptexHTTP",
            dependencies: ["CLinux", "COpenSSL", "ScryptexCore", "ScryptexCrypto", "ScryptexEventLoops"],
            swiftSettings: strictSettings
        ),
        // Tenants: provisioning, schema-per-tenant scoping, the host → tenant directory.
        .target(
            name: "ScryptexTenancy",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexPostgres"],
            swiftSettings: strictSettings
        ),
        // Principals, roles, sessions, API keys, MFA, rate limits, the audit chain, encryption at rest.
        .target(
            name: "ScryptexIdentity",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexPostgres", "ScryptexTenancy"],
            swiftSettings: strictSettings
        ),
        // Institutional accounts: hierarchy, KYC, limits and kill switch, team members.
        .target(
            name: "ScryptexInstitutional",
            dependencies: ["ScryptexCore", "ScryptexPostgres", "ScryptexTenancy"],
            swiftSettings: strictSettings
        ),
        // Market data: OHLCV bars (the platform's store and tenants' datasets), CSV import with a
        // defect report, a synthetic market.
        .target(
            name: "ScryptexMarketData",
            dependencies: ["ScryptexCore", "ScryptexHTTP", "ScryptexPostgres"],
            swiftSettings: strictSettings
        ),
        // Quant suite: strategies and the backtest engine, metrics, portfolio optimisation, risk
        // and attribution.
        .target(
            name: "ScryptexQuant",
            dependencies: ["ScryptexCore", "ScryptexMarketData", "ScryptexPostgres", "ScryptexInstitutional"],
            swiftSettings: strictSettings
        ),
        // Machine learning: datasets from market data or CSV, random forests, SVMs, LSTMs and
        // ensembles, their files, and the tenant service that trains, serves and monitors them.
        .target(
            name: "ScryptexML",
            dependencies: [
                "ScryptexCore", "ScryptexCrypto", "ScryptexMarketData", "ScryptexPostgres", "ScryptexQuant",
            ],
            swiftSettings: strictSettings
        ),
        // Market making: quoting models (Avellaneda-Stoikov, ladder), volatility and intensity
        // estimates, inventory and P&L, simulation.
        .target(
            name: "ScryptexMarketMaking",
            dependencies: [
                "ScryptexCompliance", "ScryptexCore", "ScryptexInstitutional", "ScryptexMarketData", "ScryptexPostgres",
            ],
            swiftSettings: strictSettings
        ),
        // Traditional finance: a FIX 4.4 engine of our own for prime brokers, custody, fiat
        // settlement, reconciliation and credit lines.
        .target(
            name: "ScryptexTradFi",
            dependencies: [
                "ScryptexCompliance", "ScryptexCore", "ScryptexCrypto", "ScryptexInstitutional", "ScryptexPostgres",
                "ScryptexTenancy",
            ],
            swiftSettings: strictSettings
        ),
        // Business intelligence: trading facts kept incrementally, executive dashboards, custom
        // reports (JSON, CSV, HTML with SVG charts, PDF of our own), schedules and webhooks.
        .target(
            name: "ScryptexBI",
            dependencies: [
                "ScryptexCompliance", "ScryptexCore", "ScryptexCrypto", "ScryptexInstitutional",
                "ScryptexMarketMaking", "ScryptexPostgres", "ScryptexQuant", "ScryptexTenancy",
            ],
            swiftSettings: strictSettings
        ),
        // KYC provider adapters (Onfido, Sumsub, Jumio) behind the institutional module's protocol.
        .target(
            name: "ScryptexKYC",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexInstitutional"],
            swiftSettings: strictSettings
        ),
        // The compliance engine: sanctions screening, pre-trade checks, AML monitoring, reports.
        .target(
            name: "ScryptexCompliance",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexPostgres", "ScryptexInstitutional"],
            swiftSettings: strictSettings
        ),
        // White-label revenue sharing: plans, exact double-entry postings, statements.
        .target(
            name: "ScryptexRevenue",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexPostgres", "ScryptexTenancy"],
            swiftSettings: strictSettings
        ),
        // White-label instances: commercial plans and their feature catalogue.
        .target(
            name: "ScryptexWhiteLabel",
            dependencies: [
                "ScryptexCore", "ScryptexIdentity", "ScryptexPostgres", "ScryptexRevenue", "ScryptexTenancy",
            ],
            swiftSettings: strictSettings
        ),
        // The migration sets from before each module owned its tables, frozen, and where they
        // end in the module sets (the conversion of databases they built).
        .target(
            name: "ScryptexSchemaHistory",
            dependencies: [
                "ScryptexCompliance", "ScryptexIdentity", "ScryptexInstitutional", "ScryptexPostgres",
                "ScryptexRevenue",
                "ScryptexTenancy", "ScryptexWhiteLabel",
            ],
            swiftSettings: strictSettings
        ),
        // Mustache templates for branded pages and printable statements.
        .target(name: "ScryptexTemplates", swiftSettings: strictSettings),
        // A private PostgreSQL cluster the host starts itself when DATABASE_URL is unset.
        .target(
            name: "ScryptexEmbeddedPostgres",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexPostgres"],
            swiftSettings: strictSettings
        ),
        // Certificates from an ACME authority (RFC 8555) with HTTP-01 challenges.
        .target(
            name: "ScryptexACME",
            dependencies: ["ScryptexCore", "ScryptexCrypto", "ScryptexHTTP"],
            swiftSettings: strictSettings
        ),
        // The HTTP API: the request pipeline (tenant resolution, the access guard, typed calls) and
        // one route collection per service, each handler a method.
        .target(
            name: "ScryptexAPI",
            dependencies: [
                "ScryptexACME", "ScryptexBI", "ScryptexCompliance", "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP",
                "ScryptexIdentity", "ScryptexInstitutional", "ScryptexMarketData", "ScryptexMarketMaking", "ScryptexML",
                "ScryptexPostgres",
                "ScryptexQuant",
                "ScryptexRevenue", "ScryptexTemplates", "ScryptexTenancy", "ScryptexTradFi", "ScryptexWhiteLabel",
            ],
            swiftSettings: strictSettings
        ),
        // The partner portal: server-rendered, branded pages on every tenant domain, behind the
        // API's guard, running the API's operations.
        .target(
            name: "ScryptexPortal",
            dependencies: [
                "ScryptexAPI", "ScryptexCompliance", "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP",
                "ScryptexIdentity", "ScryptexInstitutional", "ScryptexMarketMaking", "ScryptexML", "ScryptexPostgres",
                "ScryptexQuant", "ScryptexRevenue", "ScryptexTemplates", "ScryptexTenancy", "ScryptexWhiteLabel",
            ],
            swiftSettings: strictSettings
        ),
        // Composition root: configuration, migrations, commands.
        .target(
            name: "ScryptexApp",
            dependencies: [
                "ScryptexACME", "ScryptexAPI", "ScryptexBI", "ScryptexCore", "ScryptexCrypto", "ScryptexEventLoops",
                "ScryptexPortal", "ScryptexPostgres",
                "ScryptexEmbeddedPostgres",
                "ScryptexHTTP", "ScryptexCompliance", "ScryptexIdentity", "ScryptexInstitutional", "ScryptexKYC",
                "ScryptexMarketData", "ScryptexMarketMaking", "ScryptexML", "ScryptexQuant", "ScryptexRevenue",
                "ScryptexSchemaHistory", "ScryptexTemplates", "ScryptexTenancy", "ScryptexTradFi", "ScryptexWhiteLabel",
            ],
            swiftSettings: strictSettings
        ),
        // The command line: one type per command; its definitions are its dispatch.
        .target(
            name: "ScryptexCommandLine",
            dependencies: [
                "ScryptexAPI", "ScryptexApp", "ScryptexCompliance", "ScryptexCore", "ScryptexCrypto",
                "ScryptexEmbeddedPostgres", "ScryptexHTTP", "ScryptexIdentity", "ScryptexMarketData",
                "ScryptexPostgres",
                "ScryptexRevenue", "ScryptexTenancy", "ScryptexTradFi",
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "scryptex", dependencies: ["ScryptexCommandLine"], swiftSettings: strictSettings),
        // Benchmarks that drive the modules directly (bench/*.sh runs them).
        .executableTarget(
            name: "scryptex-bench",
            dependencies: [
                "ScryptexApp", "ScryptexCommandLine", "ScryptexCompliance", "ScryptexCore", "ScryptexEmbeddedPostgres",
                "ScryptexInstitutional", "ScryptexMarketData", "ScryptexMarketMaking", "ScryptexML", "ScryptexPostgres",
                "ScryptexQuant", "ScryptexRevenue", "ScryptexTenancy", "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),

        // Test support: a real PostgreSQL for every test, one database per test.
        .target(
            name: "ScryptexTestSupport",
            dependencies: [
                "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexPostgres", "ScryptexEmbeddedPostgres",
            ],
            // The QuickFIX executor and the FIX proxy the tests build and start (not Swift).
            exclude: ["QuickFIX/executor.cpp", "QuickFIX/fixproxy.py", "SMTP/relay.py"],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "ScryptexTenancyTests",
            dependencies: ["ScryptexCore", "ScryptexPostgres", "ScryptexTenancy", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexIdentityTests",
            dependencies: [
                "ScryptexIdentity", "ScryptexCore", "ScryptexCrypto", "ScryptexTenancy", "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexMarketDataTests",
            dependencies: [
                "ScryptexCore", "ScryptexHTTP", "ScryptexMarketData", "ScryptexPostgres", "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexQuantTests",
            dependencies: [
                "ScryptexCore", "ScryptexMarketData", "ScryptexPostgres", "ScryptexQuant", "ScryptexTestSupport",
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexMLTests",
            dependencies: [
                "ScryptexCore", "ScryptexMarketData", "ScryptexML", "ScryptexPostgres", "ScryptexQuant",
                "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexBITests",
            dependencies: [
                "ScryptexBI", "ScryptexCompliance", "ScryptexCore", "ScryptexInstitutional", "ScryptexPostgres",
                "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexTradFiTests",
            dependencies: ["ScryptexCore", "ScryptexTestSupport", "ScryptexTradFi"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexMarketMakingTests",
            dependencies: [
                "ScryptexCore", "ScryptexInstitutional", "ScryptexMarketData", "ScryptexMarketMaking",
                "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexKYCTests",
            dependencies: [
                "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexInstitutional", "ScryptexKYC",
                "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexInstitutionalTests",
            dependencies: ["ScryptexInstitutional", "ScryptexCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexComplianceTests",
            dependencies: ["ScryptexCompliance", "ScryptexCore", "ScryptexInstitutional", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexRevenueTests",
            dependencies: ["ScryptexRevenue", "ScryptexCore", "ScryptexTenancy", "ScryptexTestSupport"],
            // The exact model the share property test runs (Python's fractions).
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ScryptexCoreTests", dependencies: ["ScryptexCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "ScryptexEventLoopsTests", dependencies: ["ScryptexEventLoops"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexTemplatesTests", dependencies: ["ScryptexTemplates", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexHTTPTests",
            dependencies: ["ScryptexHTTP", "ScryptexCrypto", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexACMETests",
            dependencies: ["ScryptexACME", "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexCryptoTests", dependencies: ["ScryptexCore", "ScryptexCrypto"], swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexPostgresTests",
            dependencies: ["ScryptexPostgres", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexEmbeddedPostgresTests",
            dependencies: ["ScryptexCrypto", "ScryptexEmbeddedPostgres", "ScryptexTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexSchemaHistoryTests",
            dependencies: [
                "ScryptexBI", "ScryptexMarketData", "ScryptexMarketMaking", "ScryptexML", "ScryptexPostgres",
                "ScryptexQuant",
                "ScryptexSchemaHistory", "ScryptexTradFi",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexAPITests",
            dependencies: [
                "ScryptexAPI", "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexIdentity", "ScryptexPostgres",
                "ScryptexTenancy", "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexPortalTests",
            dependencies: [
                "ScryptexAPI", "ScryptexApp", "ScryptexCore", "ScryptexCrypto", "ScryptexHTTP", "ScryptexIdentity",
                "ScryptexPortal", "ScryptexPostgres", "ScryptexTemplates", "ScryptexTenancy", "ScryptexTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ScryptexAppTests",
            dependencies: [
                "ScryptexAPI", "ScryptexApp", "ScryptexBI", "ScryptexCommandLine", "ScryptexCompliance", "ScryptexCore",
                "ScryptexCrypto", "ScryptexEventLoops", "ScryptexHTTP", "ScryptexIdentity", "ScryptexKYC",
                "ScryptexMarketData", "ScryptexMarketMaking", "ScryptexML",
                "ScryptexPostgres", "ScryptexQuant", "ScryptexRevenue", "ScryptexSchemaHistory", "ScryptexTemplates",
                "ScryptexTenancy", "ScryptexTradFi", "ScryptexWhiteLabel", "ScryptexTestSupport",
            ],
            // Schemas the tests read from disk (see Fixtures/form-13f-primary/README.md).
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
