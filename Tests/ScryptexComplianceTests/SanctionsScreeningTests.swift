import Foundation
import ScryptexCompliance
import ScryptexTestSupport
import Testing

/// The real lists in ../shared/data/aml (OFAC SDN of July 2021, OFAC consolidated, UN 2026-02-27).
enum SharedLists {
    static let folder = SharedData.path("aml")

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: folder + "/" + path, encoding: .utf8)
    }

    static func sdn() throws -> [SanctionsEntry] {
        try OFACListParser.parse(
            primary: try text("ofac_sdn_2021-07-bench/sdn.csv"), aliases: try text("ofac_sdn_2021-07-bench/alt.csv"),
            addresses: try text("ofac_sdn_2021-07-bench/add.csv"),
            comments: try text("ofac_sdn_2021-07-bench/sdn_comments.csv"), names: ("sdn.csv", "alt.csv", "add.csv"),
            commentsName: "sdn_comments.csv")
    }

    static func un() throws -> [SanctionsEntry] {
        try UNListParser.parse(
            try Data(contentsOf: URL(fileURLWithPath: folder + "/un_consolidated/UN_consolidated_2026-02-27.xml")),
            file: "UN_consolidated.xml")
    }

    static let screener: SanctionsScreener? = {
        guard let sdn = try? sdn(), let un = try? un() else { return nil }
        return SanctionsScreener(lists: [
            .init(source: .ofacSDN, version: UUID(), entries: sdn),
            .init(source: .unConsolidated, version: UUID(), entries: un),
        ])
    }()
}

@Suite("Sanctions lists and screening on the real OFAC and UN files")
struct SanctionsScreeningTests {
    /// Issue 18: the remarks OFAC cuts off continue in sdn_comments.csv, with wallet addresses
    /// in them (entries 29703 and 30518) — and one address split across the two files. Every
    /// listed address is found: 95 in this list (counted by a separate script over the raw CSV
    /// fields), 79 of them without the comments file; hexadecimal ones in any letter case.
    @Test func everyListedWalletAddressIsFoundIncludingThoseInTheComments() throws {
        let entries = try SharedLists.sdn()
        let addresses = Set(entries.flatMap { $0.digitalCurrencyAddresses.map(\.address) })
        #expect(addresses.count == 95)
        let screener = SanctionsScreener(lists: [.init(source: .ofacSDN, version: UUID(), entries: entries)])
        for address in addresses {
            #expect(!screener.screen(address: address).isEmpty, "\(address) is listed but not found")
        }
        let andreyev = screener.screen(address: "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c")
        #expect(andreyev.first?.identifier == "29703", "\(andreyev)")
        // EIP-55 writes the same address with capitals: still a match.
        #expect(screener.screen(address: "0x8576ACC5C05D6CE88F4E49BF65BDF0C62F91353C").first?.identifier == "29703")
        // Cut between the files: "… XBT 1Gq" + "ChmWqGts…".
        #expect(screener.screen(address: "1GqChmWqGtsaLrGbHfgdrV5Nkvahtjjuxr").first?.identifier == "30518")
        // Other formats compare exactly.
        #expect(screener.screen(address: "1gqchmwqgtsalrgbhfgdrv5nkvahtjjuxr").isEmpty)
    }

    @Test func theOFACFilesParseCompletely() throws {
        let entries = try SharedLists.sdn()
        #expect(entries.count == 8_976)
        let bank = try #require(entries.first { $0.identifier == "306" })
        #expect(bank.name == "BANCO NACIONAL DE CUBA")
        #expect(bank.aliases.contains("NATIONAL BANK OF CUBA"))
        #expect(bank.addresses.contains { $0.contains("Zurich") })
        let withAddresses = entries.filter { !$0.digitalCurrencyAddresses.isEmpty }
        #expect(withAddresses.count == 15)
        let yan = try #require(entries.first { $0.identifier == "25308" })
        #expect(yan.kind == .individual)
        #expect(
            yan.digitalCurrencyAddresses.first
                == DigitalCurrencyAddress(currency: "XBT", address: "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"))
        let consolidated = try OFACListParser.parse(
            primary: try SharedLists.text("ofac_consolidated_nonsdn/cons_prim.csv"),
            aliases: try SharedLists.text("ofac_consolidated_nonsdn/cons_alt.csv"),
            addresses: try SharedLists.text("ofac_consolidated_nonsdn/cons_add.csv"),
            names: ("cons_prim.csv", "cons_alt.csv", "cons_add.csv"))
        #expect(consolidated.count == 442)
    }

    @Test func theUNListParsesCompletely() throws {
        let entries = try SharedLists.un()
        #expect(entries.filter { $0.kind == .individual }.count == 730)
        #expect(entries.filter { $0.kind == .entity }.count == 273)
        let adf = try #require(entries.first { $0.identifier == "6908402" })
        #expect(adf.name == "ADF")
        #expect(adf.aliases.contains("Allied Democratic Forces"))
    }

    @Test func malformedFilesFailAsAWholeNamingTheLine() throws {
        let broken =
            "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n173,\"ANGLO\",\"x\"\n"
        #expect(
            throws: SanctionsFormatError(
                file: "sdn.csv", line: 2, problem: "expected 12 columns of the OFAC SDN format, found 3")
        ) {
            try OFACListParser.parse(
                primary: broken, aliases: nil, addresses: nil, names: ("sdn.csv", "alt.csv", "add.csv"))
        }
        let unclosed = "36,\"AEROCARIBBEAN AIRLINES,-0- \n"
        #expect(throws: SanctionsFormatError.self) {
            try OFACListParser.parse(primary: unclosed, aliases: nil, addresses: nil, names: ("sdn.csv", "a", "b"))
        }
        #expect(throws: SanctionsFormatError.self) {
            try UNListParser.parse(Data("<html><body>not a list</body></html>".utf8), file: "un.xml")
        }
        #expect(throws: SanctionsFormatError.self) {
            try UNListParser.parse(Data("<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL>".utf8), file: "un.xml")
        }
    }

    @Test(arguments: [
        ("Banco Nacional de Cuba", "BANCO NACIONAL DE CUBA"),
        ("banco nacional de cuba s.a.", "BANCO NACIONAL DE CUBA"),
        ("National Bank of Cuba", "BANCO NACIONAL DE CUBA"),
        ("Xiaobing Yan", "YAN, Xiaobing"),
        ("YAN Xiaobing", "YAN, Xiaobing"),
        ("Xiaobng Yan", "YAN, Xiaobing"),
        ("Ali Khorashadizadeh", "KHORASHADIZADEH, Ali"),
        ("Éric Badège", "ERIC BADEGE"),
        ("Allied Democratic Forces", "ADF"),
    ])
    func namesMatchDespiteCaseAccentsOrderSuffixesAndTypos(query: String, expected: String) throws {
        let screener = try #require(SharedLists.screener)
        let candidates = screener.screen(name: query)
        // The best-scoring candidates include the expected party (several lists may name it).
        let top = candidates.filter { $0.score == candidates.first?.score }
        #expect(
            top.contains { NameMatching.tokens(of: $0.name).sorted() == NameMatching.tokens(of: expected).sorted() },
            "\(query): \(candidates.prefix(3).map { "\($0.name) \($0.score)" })")
    }

    @Test func unrelatedNamesDoNotMatch() throws {
        let screener = try #require(SharedLists.screener)
        for name in [
            "Goldman Sachs Asset Management", "Goldman Sachs International", "Acme Hedge Fund LLC", "Jane Doe",
            "Vanguard Group", "Bank of America", "Fidelity Investments",
        ] {
            #expect(screener.screen(name: name).isEmpty, "\(name): \(screener.screen(name: name).map(\.name))")
        }
    }

    @Test func digitalCurrencyAddressesMatchExactly() throws {
        let screener = try #require(SharedLists.screener)
        let hits = screener.screen(address: "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h")
        #expect(hits.map(\.identifier) == ["25308"])
        #expect(screener.screen(address: "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9H").isEmpty)
    }

    @Test func jaroWinklerMatchesKnownValues() {
        #expect(abs(NameMatching.jaroWinkler("MARTHA", "MARHTA") - 0.961) < 0.001)
        #expect(abs(NameMatching.jaroWinkler("DWAYNE", "DUANE") - 0.84) < 0.001)
        #expect(abs(NameMatching.jaroWinkler("DIXON", "DICKSONX") - 0.813) < 0.001)
        #expect(NameMatching.tokens(of: "KHORASHADIZADEH, Ali") == ["ali", "khorashadizadeh"])
        #expect(NameMatching.tokens(of: "Acme Trading Co., Ltd.") == ["acme", "trading"])
        #expect(NameMatching.tokens(of: "A.T.E. INTERNATIONAL LTD.") == ["ate", "international"])
    }
}
