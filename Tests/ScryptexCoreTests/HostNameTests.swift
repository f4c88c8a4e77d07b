import ScryptexCore
import Testing

@Suite("Host names: one normal form for Host headers, server names and domains")
struct HostNameTests {
    @Test(
        arguments: [
            ("acme.localhost", "acme.localhost"), ("ACME.Localhost.", "acme.localhost"),
            ("acme.localhost:8443", "acme.localhost"), ("Acme.LOCALHOST:8443", "acme.localhost"),
            ("acme.localhost.:8443", "acme.localhost"), ("localhost:9443", "localhost"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"), ("trade-desk.acme.example", "trade-desk.acme.example"),
            ("trade-desk.acme.example:8443", "trade-desk.acme.example"), (":", nil),
            ("acme.localhost:", "acme.localhost"),
            ("acme.localhost:84a3", nil), ("-acme.localhost", nil), ("acme-.localhost", nil), ("a..b", nil),
            ("", nil), (":8443", nil), ("bücher.example", nil), ("[::1]:8443", nil), ("acme_fund.example", nil),
            (String(repeating: "a", count: 64) + ".example:8443", nil), (".acme.example", nil), ("acme.example..", nil),
        ] as [(String, String?)])
    func authoritiesAreNormalizedOrRefused(authority: String, expected: String?) {
        #expect(HostName.normalized(authority) == expected)
        #expect(HostName(authority: authority)?.value == expected)
    }

    @Test func aNameIsRefusedWithAPortAndAcceptedInAnyCaseWithAFinalDot() {
        #expect(HostName("Trade-Desk.ACME.example.")?.value == "trade-desk.acme.example")
        #expect(HostName("acme.example:443") == nil)
        #expect(HostName("*.acme.example") == nil)
        #expect(HostName(String(repeating: "a.", count: 125) + "abc")?.value.utf8.count == 253)
        #expect(HostName(String(repeating: "a.", count: 126) + "ab") == nil)
    }

    @Test func namesCompareInTheirNormalForm() {
        #expect(HostName("ACME.example") == HostName("acme.example."))
        #expect(HostName("desk.acme.example")!.isWithin(HostName("acme.example")!))
        #expect(HostName("acme.example")!.isWithin(HostName("acme.example")!))
        #expect(!HostName("badacme.example")!.isWithin(HostName("acme.example")!))
        #expect([HostName("b.example")!, HostName("a.example")!].sorted().map(\.value) == ["a.example", "b.example"])
    }
}
