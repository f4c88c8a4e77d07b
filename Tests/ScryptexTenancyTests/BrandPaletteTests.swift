import ScryptexTenancy
import Testing

@Suite("Brand palettes and contrast")
struct BrandPaletteTests {
    @Test func contrastMatchesWCAGsWorkedFigures() throws {
        let white = BrandPalette.Color.white
        let black = try #require(BrandPalette.Color(hex: "#000"))
        #expect(abs(white.contrast(with: black) - 21) < 0.001)
        #expect(abs(white.contrast(with: white) - 1) < 0.001)
        // #767676 on white is the classic lightest grey that passes 4.5:1 (4.54:1).
        let grey = try #require(BrandPalette.Color(hex: "#767676"))
        #expect(abs(grey.contrast(with: white) - 4.54) < 0.01)
        #expect(BrandPalette.Color(hex: "#0b3d91")?.description == "#0B3D91")
        #expect(BrandPalette.Color(hex: "0B3D91") == nil)
    }

    @Test func everyTextColourIsChosenToReadAndLinksTakeTheBrandColourThatReadsBest() {
        // Acme's gold accent fails on white; links take its navy primary instead.
        let acme = BrandPalette(
            TenantBranding(
                productName: "Acme", colors: ["primary": "#0B3D91", "accent": "#F2A900", "background": "#FFFFFF"]))
        #expect(acme.link.description == "#0B3D91")
        #expect(acme.textOnPrimary == .white)
        #expect(acme.textOnAccent == .ink)
        #expect(acme.warnings.isEmpty, "\(acme.warnings)")
        for surface in ["#777777", "#FFFF00", "#000080", "#808080", "#F2A900"] {
            let palette = BrandPalette(TenantBranding(productName: "X", colors: ["primary": surface]))
            #expect(palette.textOnPrimary.contrast(with: palette.primary) >= 4.5, "\(surface)")
        }
    }

    @Test func aBrandWhoseColoursCannotCarryLinksIsWarnedNamingThePair() {
        let pale = BrandPalette(
            TenantBranding(
                productName: "Pale", colors: ["primary": "#DDDDDD", "accent": "#EEEEEE", "background": "#FFFFFF"]))
        #expect(pale.warnings.count == 1)
        #expect(pale.warnings.first?.hasPrefix("links on background (#DDDDDD on #FFFFFF)") == true, "\(pale.warnings)")
    }

    @Test func customPropertiesThatCouldEscapeTheirDeclarationAreRefused() throws {
        for value in [
            "red; } body { display: none", "url(https://evil.example/x.png)", "</style><script>", "a\\62", "@import x",
        ] {
            #expect(throws: (any Error).self, "\(value)") {
                try TenantBranding(productName: "X", cssVariables: ["--x": value]).validate()
            }
        }
        #expect(throws: (any Error).self) {
            try TenantBranding(productName: "X", cssVariables: ["color": "red"]).validate()
        }
        try TenantBranding(
            productName: "X", cssVariables: ["--font-family": "IBM Plex Sans, sans-serif", "--radius": "4px"]
        ).validate()
    }
}
