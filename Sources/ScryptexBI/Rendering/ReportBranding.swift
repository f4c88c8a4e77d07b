/// How a report looks: the tenant's product name, colours and footer.
public struct ReportBranding: Sendable, Equatable {
    public var productName: String
    public var primary: RGBColour
    public var accent: RGBColour
    public var footer: String?
    public var supportEmail: String?

    public init(
        productName: String, primaryHex: String?, accentHex: String?, footer: String?, supportEmail: String? = nil
    ) {
        self.productName = productName
        self.primary = primaryHex.flatMap(RGBColour.init(hex:)) ?? RGBColour(red: 0.1, green: 0.2, blue: 0.45)
        self.accent = accentHex.flatMap(RGBColour.init(hex:)) ?? RGBColour(red: 0.85, green: 0.6, blue: 0.1)
        self.footer = footer
        self.supportEmail = supportEmail
    }
}
