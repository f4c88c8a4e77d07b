public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A tenant's branding: its product name, logo, colours, CSS variables, support contacts and
/// legal footer. The one Swift shape of `platform.tenant_branding` (Tenancy's table): the API,
/// the branded pages, statements and white-label instances all read it through `load`.
public struct TenantBranding: Sendable, Codable, Equatable {
    public var productName: String
    public var logoURL: String?
    public var colors: [String: String]?
    public var cssVariables: [String: String]?
    public var supportEmail: String?
    public var supportURL: String?
    public var legalFooter: String?

    public init(
        productName: String, logoURL: String? = nil, colors: [String: String]? = nil,
        cssVariables: [String: String]? = nil, supportEmail: String? = nil, supportURL: String? = nil,
        legalFooter: String? = nil
    ) {
        self.productName = productName
        self.logoURL = logoURL
        self.colors = colors
        self.cssVariables = cssVariables
        self.supportEmail = supportEmail
        self.supportURL = supportURL
        self.legalFooter = legalFooter
    }

    /// Checks the branding; throws naming the field.
    public func validate(field: String = "branding") throws(ServiceError) {
        guard (1...200).contains(productName.count) else {
            throw ServiceError(.invalidInput, "field '\(field).productName': 1 to 200 characters")
        }
        for (name, value) in colors ?? [:] where !Self.isHexColor(value) {
            throw ServiceError(
                .invalidInput, "field '\(field).colors.\(name)': '\(value)' is not a colour such as #0B3D91")
        }
        for (name, value) in cssVariables ?? [:] {
            guard Self.isCSSVariableName(name) else {
                throw ServiceError(
                    .invalidInput,
                    "field '\(field).cssVariables.\(name.prefix(60))': a custom property is named like --radius (letters, digits, dashes)"
                )
            }
            guard Self.isSafeCSSValue(value) else {
                throw ServiceError(
                    .invalidInput,
                    "field '\(field).cssVariables.\(name)': a value of at most 200 characters without ; { } < > \\ @, comments or url()"
                )
            }
        }
        for (name, value) in [("logoURL", logoURL), ("supportURL", supportURL)] {
            if let value, !(value.hasPrefix("https://") && value.count <= 2_000) {
                throw ServiceError(.invalidInput, "field '\(field).\(name)': an https:// URL")
            }
        }
    }

    /// `--name`: the form of a CSS custom property a tenant may set.
    public static func isCSSVariableName(_ name: String) -> Bool {
        name.hasPrefix("--") && (3...42).contains(name.utf8.count)
            && name.utf8.dropFirst(2).allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            }
    }

    /// A custom property's value that cannot leave its declaration or fetch anything: no
    /// declaration or block ends, no markup, escapes, at-rules, comments or `url(`.
    public static func isSafeCSSValue(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return (1...200).contains(value.count) && !lowered.contains("url(") && !lowered.contains("/*")
            && !lowered.contains("expression(")
            && value.unicodeScalars.allSatisfy { scalar in
                scalar.value >= 0x20 && scalar.value != 0x7F && !";{}<>\\@".unicodeScalars.contains(scalar)
            }
    }

    /// A tenant's branding, or nil when it has none (a tenant being provisioned).
    public static func load(for tenant: UUID, from database: some PostgresQuerying) async throws -> TenantBranding? {
        let rows = try await database.query(
            """
            SELECT product_name, logo_url, colors, css_variables, support_email, support_url, legal_footer
            FROM platform.tenant_branding WHERE tenant_id = \(tenant)
            """,
            timeout: nil)
        guard let row = rows.first else { return nil }
        return TenantBranding(
            productName: try row.decode("product_name", as: String.self),
            logoURL: try row.decode("logo_url", as: String?.self),
            colors: try row.decode("colors", as: PostgresJSON.self).decode([String: String].self),
            cssVariables: try row.decode("css_variables", as: PostgresJSON.self).decode([String: String].self),
            supportEmail: try row.decode("support_email", as: String?.self),
            supportURL: try row.decode("support_url", as: String?.self),
            legalFooter: try row.decode("legal_footer", as: String?.self))
    }

    /// A new tenant's first branding: its display name as the product name, nothing else.
    static func create(for tenant: UUID, productName: String, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            "INSERT INTO platform.tenant_branding (tenant_id, product_name) VALUES (\(tenant), \(productName))")
    }

    /// Replaces a tenant's branding in `transaction`.
    public func save(for tenant: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute(
            """
            UPDATE platform.tenant_branding SET product_name = \(productName), logo_url = \(logoURL),
                colors = \(try PostgresJSON(encoding: colors ?? [:])),
                css_variables = \(try PostgresJSON(encoding: cssVariables ?? [:])),
                support_email = \(supportEmail), support_url = \(supportURL),
                legal_footer = \(legalFooter), updated_at = now()
            WHERE tenant_id = \(tenant)
            """
        )
    }

    /// `#` and three or six hexadecimal digits, such as `#0B3D91`.
    static func isHexColor(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.hasPrefix("#") && (digits.count == 6 || digits.count == 3)
            && digits.allSatisfy { Hex.value(of: $0) != nil }
    }
}
