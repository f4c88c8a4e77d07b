import ScryptexPostgres
import ScryptexSchemaHistory
import Testing

@Suite("The legacy migration sets, frozen")
struct LegacySchemaTests {
    /// The checksums every database built before the module sets recorded (read from one).
    static let platformChecksums = [
        "068e7270f0c379d01e6fc16a8d13777acb4bcbb0f5868c022e8e3e0932f4ec68",
        "3d8a31705f587d4fd302660cdfb66299ed3f113885dfe8923bbff5c166114d98",
        "ec928fa6b94a22010917f0163e07e4f726d812fd730e10416e31e2a22ae0bf96",
        "12aa4b63d78bc35e91e5607638af2119bd2d65ea1e57dabd6741c54e3cabbc2d",
        "1decdb29b69885f10623e2ac548034cf7d30718b7bced225bbd619aa930a9836",
        "41aee4091a6afc01af7a724d27583b4904ded947e19fa89d79fc97476790799b",
        "37f7146f0c83f1ac806f3d3df5cffc1d331812897dd2121b2adb6836bcfb37dd",
        "13898d6e694d6091c7ea329217c7e478eef191bdfae86e7afc413b474f817b40",
        "c5c22f71a434a66550d1d580d63b4c92f656aae422b72fadbb457316002fd6bf",
        "b4a0f5839ccc1a0983b43d45573a0911da1c03419bb978c6a3494d795f6b46cb",
        "430282098efcb061ac1644d8e8add84ff8fdea24a195e38169eb30b29380fbb3",
        "3a53a8562d4d30bf616465c45e6ec25cdf29964f913a2c22020b4fbf64702aba",
        "c51091e4c6aa08199077406b8d287c3bd114e67e17f78dc4807c231b193d46b3",
    ]

    static let tenantChecksums = [
        "d883d1921a2f165a304184559657035624a025be09f8a072c2f0c6c3956b7faf",
        "352c1a9d67b10ab6968452a49f69468bb1eaa1b5752b4623e9021b8a4742f9f0",
        "f6e08f3a3c35322a79f43da587ab877457cc4fc9906b5fb2b3018defa46ab7f9",
        "ed858301360f612cb3ed82c3476480c0112e7aafd413110dbed384ac2697a803",
        "42f38ef0cce747de310b65e3fb3c90298cf134930b67637b0ba8d9f67d88210c",
        "520a5614419c4ac3b92d75ff75fb893ce00d096413610af612fb3e75203fc619",
        "d4bb904356875be82283105eaa26aa7c9b477b3e4625ea7602634be6c78642b7",
        "fddf81ee8a14531033791cef237283c34889b82a5c7d9cd2f8c13af70358fcb9",
        "f522c1fdd5f64718ebf2963f82ff90f048fbd4b7416aed071589310bcc514c15",
        "29c2af2f77e56c453ac4c4cd812dc4626e83e7fd61135c1dbeaf61fc5d7e465e",
        "06b223a9a8812ab9715eecf1c18e8f9abb8d6e6f2147079d082dc7545f76e0e7",
        "610ffae43d16b6ee75eb4f465a2119a1a78f87fdc137a809c71b565bbe1694c8",
    ]

    @Test func everyLegacyTextIsTheOneDatabasesRecorded() {
        #expect(LegacySchema.platform.set.name == "platform")
        #expect(LegacySchema.platform.set.migrations.map(\.version) == Array(1...13))
        #expect(LegacySchema.platform.set.migrations.map(\.checksum) == Self.platformChecksums)
        #expect(LegacySchema.tenant.set.name == "tenant")
        #expect(LegacySchema.tenant.set.migrations.map(\.version) == Array(1...12))
        #expect(LegacySchema.tenant.set.migrations.map(\.checksum) == Self.tenantChecksums)
    }

    @Test func theLegacyNamesAreTheRecordedOnes() {
        #expect(
            LegacySchema.platform.set.migrations.map(\.name) == [
                "create_control_plane", "create_tenant_jobs", "create_identity_and_audit", "create_sanctions_lists",
                "create_revenue_ledger", "revenue_plans_and_periods", "revenue_statements",
                "revenue_booking_payouts_instances", "fee_events_for_bulk_ingestion", "ledger_checks_per_statement",
                "commercial_plan_features", "tenant_spare_schemas", "tenant_job_interruptions",
            ])
        #expect(
            LegacySchema.tenant.set.migrations.map(\.name) == [
                "create_institutional_core", "create_identity_and_audit_chain", "institutional_kyc_limits_members",
                "compliance_trading_records", "regulatory_reports", "aml_monitoring",
                "mifir_identifiers_and_trade_cancellation", "position_reports", "derivative_instruments",
                "trade_amendments_and_kyc_documents", "pending_authenticator", "credential_change_notifications",
            ])
    }
}
