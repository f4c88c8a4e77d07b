import ScryptexBI
import ScryptexCompliance
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexML
import ScryptexMarketData
import ScryptexMarketMaking
import ScryptexPostgres
import ScryptexQuant
import ScryptexRevenue
import ScryptexTenancy
import ScryptexTradFi
import ScryptexWhiteLabel
import Testing

/// A released migration is never edited (databases recorded its checksum and refuse a changed
/// one at start-up): these are the checksums of every module migration released so far. A new
/// migration is added to its module's set and pinned here when it ships; an edited one fails this
/// test before it can fail a deployment.
@Suite("Released module migrations")
struct ReleasedMigrationTests {
    static let released: [(set: MigrationSet, checksums: [String])] = [
        (
            TenancyMigrations.platform,
            [
                "85eef9b5f7fb4253a5822851ebc94aabe959f1e7b8256e51e24fe611ef0e1bd7",
                "3d8a31705f587d4fd302660cdfb66299ed3f113885dfe8923bbff5c166114d98",
                "3a53a8562d4d30bf616465c45e6ec25cdf29964f913a2c22020b4fbf64702aba",
                "c51091e4c6aa08199077406b8d287c3bd114e67e17f78dc4807c231b193d46b3",
                "4c3515fb6abf76ab414a1d2c0a6150e3bcae5a1ec03be33466776c9d841b9535",
                "c5a9a774ad31e0c92306e3ff3b5e6e1edea172c173fe78dc283e9509a990c6e4",
                "059f346feead29e5bfb842b817d575b17a0e1933aa048b8feaaa23bee37feac6",
                "1528697a9a76d4a688999f6786aa693bec1f80b857504a38ab0170070b4a5157",
            ]
        ),
        (
            IdentityMigrations.platform,
            [
                "ec928fa6b94a22010917f0163e07e4f726d812fd730e10416e31e2a22ae0bf96",
                "90870d5cc77c927ed70764f577494f57279e732b704829457ece986ed0254eb7",
            ]
        ),
        (
            WhiteLabelMigrations.platform,
            [
                "1d6ac283df5332f823df344d226b8bea1d6ff05c1d710169c25aee88e0cfb5e0",
                "430282098efcb061ac1644d8e8add84ff8fdea24a195e38169eb30b29380fbb3",
            ]
        ),
        (
            RevenueMigrations.platform,
            [
                "1decdb29b69885f10623e2ac548034cf7d30718b7bced225bbd619aa930a9836",
                "41aee4091a6afc01af7a724d27583b4904ded947e19fa89d79fc97476790799b",
                "37f7146f0c83f1ac806f3d3df5cffc1d331812897dd2121b2adb6836bcfb37dd",
                "812b42e862b542167a804c885a0f6859d98abf92fe3262f1fa7293061204a8cf",
                "c5c22f71a434a66550d1d580d63b4c92f656aae422b72fadbb457316002fd6bf",
                "b4a0f5839ccc1a0983b43d45573a0911da1c03419bb978c6a3494d795f6b46cb",
            ]
        ),
        (
            ComplianceMigrations.platform,
            [
                "12aa4b63d78bc35e91e5607638af2119bd2d65ea1e57dabd6741c54e3cabbc2d"
            ]
        ),
        (
            IdentityMigrations.tenant,
            [
                "a85123be20f71238a24d281bea640162e25290a329f083c857da16261ae6ed27",
                "352c1a9d67b10ab6968452a49f69468bb1eaa1b5752b4623e9021b8a4742f9f0",
                "06b223a9a8812ab9715eecf1c18e8f9abb8d6e6f2147079d082dc7545f76e0e7",
                "610ffae43d16b6ee75eb4f465a2119a1a78f87fdc137a809c71b565bbe1694c8",
                "2ee0a323131eaa9b9dac0d8abce41813f2dce66bf9e64974853f1ed2b832ccd4",
            ]
        ),
        (
            InstitutionalMigrations.tenant,
            [
                "a8e56b236102818f2b75a6807f437ebbf425b5cd26cf3a7d8d194d9437a0ed53",
                "f6e08f3a3c35322a79f43da587ab877457cc4fc9906b5fb2b3018defa46ab7f9",
                "be12184ac386d9c7b4fa2ae63059984786318cf1daea74aee2ccd051b592b5e5",
            ]
        ),
        (
            ComplianceMigrations.tenant,
            [
                "ed858301360f612cb3ed82c3476480c0112e7aafd413110dbed384ac2697a803",
                "42f38ef0cce747de310b65e3fb3c90298cf134930b67637b0ba8d9f67d88210c",
                "520a5614419c4ac3b92d75ff75fb893ce00d096413610af612fb3e75203fc619",
                "d4bb904356875be82283105eaa26aa7c9b477b3e4625ea7602634be6c78642b7",
                "fddf81ee8a14531033791cef237283c34889b82a5c7d9cd2f8c13af70358fcb9",
                "f522c1fdd5f64718ebf2963f82ff90f048fbd4b7416aed071589310bcc514c15",
                "c89188b929b79eff73e481fe18d273b5260bcc11b0b60d4a45da24361db4365c",
                "ae9f477ea221a4bdcf98c0d76a4d432608841762d7f719c96d9fdb635aa70f13",
                "5e1ecf76ea089a42e30c5502ed4f4c225b0cc56c572a33f5b18fb2dd80ff0a53",
                "f5314a5e6eb47944c2ead509099147fc99d3fbc02055f2e3d259606396535f34",
                "4ba9450aeafb0f2b3f4ce50576dcb5b94df09aa5d72a15b3cded2a6935b9f685",
                "ec194432e5d6ae42c7ae532052393c4b575c46f680cc30afb92425abfabeb9b3",
                "70b86cdd7a32603ac52a59fb8a8709a2394008556bfbcd826dc5a55f3ecc0796",
                "ca69e26a0ced2116b4fd50efdedfe632649787ed371e9db4e920000df7a8d26c",
            ]
        ),
        (MarketDataMigrations.platform, ["84751993c0f115027ace5ce6443f1b30ac2b0b621aaa69eb83fede90625c2324"]),
        (MarketDataMigrations.tenant, ["731144b61d02f90d510bdb023c62bdb791b01f32e2ee5f2d56d54f3e4ef15641"]),
        (
            QuantMigrations.tenant,
            [
                "18fa27ca7df9df7f50f814fb385f2aef8dcccaf45716a927b7740f8a43809768",
                "d527aeaf7c6dcb2b2e46c1f660b583687ed336cb940b1d9f702df2257b68776c",
            ]
        ),
        (
            MLMigrations.tenant,
            [
                "e76d6be5cacb0c2fe1104af464b3d4707ee7ba3a074b356fd8bacea938b3100f",
                "dc8ff4536ecd259e472ea244680b6ce98bdc8ad1da51c0384d30e7192758cd99",
            ]
        ),
        (
            MarketMakingMigrations.tenant,
            [
                "bdbbc352a976358735410d95706057ce76b44321a8bbe5ccfb19e75dceef2ebe",
                "2268ec6e72cdb11dd5ffca8f440867402e1d83c3beaa08adba9cfd9cb7698b40",
                "eeecd0a5eecd867e234bb2d1842beac40d468635a86ad7e3c56f298b6fd3d7f2",
                "4db31609555981f511260ce5783d0e8bbe32c4e3506d04ad9cdda3f1f97c61c6",
                "7f657e425105bfd90e1373b38d96286be83dc8f77762bf00ff53e96363c1e7af",
            ]
        ),
        (
            BIMigrations.tenant,
            [
                "d24c05a3918fe2d28be0c5da9f95034afabf2579d1d7aae1857e212adb81fe69",
                "ec901633360b0e824bf3d466c18223998e6dea3036dd2ce493581ca8aa9653e4",
            ]
        ),
        (
            TradFiMigrations.tenant,
            [
                "c03ae4bc59722717d6a60ae9e439193e6ecb8faa2834cf3cbbdc57a75ffe57b8",
                "3d7878c2ed5b74a9e65736a4d9195f1b53187dbdb764ae0d2999e312094a5993",
                "2613c37b9677a5cce57f3df3577f98ef902ce7ad0e96efafe414ecf1ebde942e",
                "8d8f794db879e64ea1949a741dd68d09e07a54b48b0c5bf192eae10c5070a8c7",
                "8381b9f3e729694e1a39f30908ba17e3239c3554c41453d7398cdb8e2bd3af8a",
                "feb6c8b4f415c76a26326a9a54c9c24dd76b711f59bce640fe2114ecb04fa2d3",
                "27b4e970585bb9c0eadad4fc2f20cbce2a80b69deee1fae713f989850ce26086",
                "8d9cf911074a0f78379fea3303519e140d7fdd093b3c805e28f308493edf7126",
                "a1bc60238e69ba0696c77966c8106700736d52354831ac168bd18b2758f00127",
            ]
        ),
    ]

    @Test func noReleasedMigrationChanged() {
        for (set, checksums) in Self.released {
            let current = set.migrations.prefix(checksums.count).map(\.checksum)
            #expect(current == checksums, "\(set.name): \(set.migrations.map(\.checksum))")
        }
    }
}
