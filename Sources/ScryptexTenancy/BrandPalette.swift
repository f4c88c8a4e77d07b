import Foundation
import ScryptexCore

/// The colours a tenant's pages are drawn in, derived from its branding so that text always
/// reads: the text on each surface is whichever of near-black and white contrasts more with it
/// (falling back to pure black or white, one of which always reaches 4.5:1, WCAG 2's level AA
/// for body text), and links take whichever brand colour contrasts more with the background.
/// What cannot be made to pass (links) is reported.
public struct BrandPalette: Sendable, Equatable {
    /// A colour as `#RRGGBB`.
    public struct Color: Sendable, Equatable, CustomStringConvertible {
        public var red: UInt8
        public var green: UInt8
        public var blue: UInt8

        public init(red: UInt8, green: UInt8, blue: UInt8) {
            self.red = red
            self.green = green
            self.blue = blue
        }

        /// `#RGB` or `#RRGGBB`; nil otherwise.
        public init?(hex text: String) {
            guard TenantBranding.isHexColor(text) else { return nil }
            var digits = Array(text.utf8.dropFirst()).compactMap { Hex.value(of: $0) }
            if digits.count == 3 { digits = digits.flatMap { [$0, $0] } }
            red = digits[0] << 4 | digits[1]
            green = digits[2] << 4 | digits[3]
            blue = digits[4] << 4 | digits[5]
        }

        public var description: String {
            "#" + [red, green, blue].map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
        }

        /// WCAG 2's relative luminance.
        public var luminance: Double {
            func channel(_ value: UInt8) -> Double {
                let unit = Double(value) / 255
                return unit <= 0.04045 ? unit / 12.92 : pow((unit + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
        }

        /// WCAG 2's contrast ratio of two colours, from 1 to 21.
        public func contrast(with other: Color) -> Double {
            let (lighter, darker) = (max(luminance, other.luminance), min(luminance, other.luminance))
            return (lighter + 0.05) / (darker + 0.05)
        }

        public static let white = Color(red: 255, green: 255, blue: 255)
        public static let ink = Color(red: 0x11, green: 0x18, blue: 0x27)
        public static let black = Color(red: 0, green: 0, blue: 0)
    }

    public static let minimumContrast = 4.5

    public var primary: Color
    public var accent: Color
    public var background: Color
    /// Text on the background, on the primary colour (the header, buttons) and on the accent.
    public var text: Color
    public var textOnPrimary: Color
    public var textOnAccent: Color
    /// Links on the background: the brand colour that reads best there.
    public var link: Color

    public init(_ branding: TenantBranding?) {
        let colors = branding?.colors ?? [:]
        primary = colors["primary"].flatMap(Color.init(hex:)) ?? Color(red: 0x1F, green: 0x29, blue: 0x37)
        accent = colors["accent"].flatMap(Color.init(hex:)) ?? Color(red: 0x25, green: 0x63, blue: 0xEB)
        background = colors["background"].flatMap(Color.init(hex:)) ?? .white
        text = Self.readable(on: background)
        textOnPrimary = Self.readable(on: primary)
        textOnAccent = Self.readable(on: accent)
        link = primary.contrast(with: background) >= accent.contrast(with: background) ? primary : accent
    }

    /// Near-black or white, whichever contrasts more; on a mid-tone where neither reaches
    /// 4.5:1, pure black or white (one of which always does: their contrasts with any colour
    /// multiply to 21, so the larger is at least √21 ≈ 4.58).
    static func readable(on surface: Color) -> Color {
        let preferred: Color = Color.ink.contrast(with: surface) >= Color.white.contrast(with: surface) ? .ink : .white
        if preferred.contrast(with: surface) >= minimumContrast { return preferred }
        return Color.black.contrast(with: surface) >= Color.white.contrast(with: surface) ? .black : .white
    }

    /// Each pair of colours the pages draw text in, with its contrast ratio.
    public var pairs: [(name: String, foreground: Color, background: Color, ratio: Double)] {
        [
            ("text on background", text, background), ("text on primary", textOnPrimary, primary),
            ("text on accent", textOnAccent, accent), ("links on background", link, background),
        ].map { ($0.0, $0.1, $0.2, $0.1.contrast(with: $0.2)) }
    }

    /// What fails the 4.5:1 minimum, in words a partner can act on; empty when all passes.
    public var warnings: [String] {
        pairs.filter { $0.ratio < Self.minimumContrast }.map {
            "\($0.name) (\($0.foreground) on \($0.background)) has a contrast of "
                + String(format: "%.2f", $0.ratio) + ":1, below 4.5:1; choose a darker or lighter brand colour"
        }
    }
}
