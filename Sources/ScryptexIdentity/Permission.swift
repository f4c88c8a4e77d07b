/// One thing a principal may do. Every route names the permission it needs.
public enum Permission: String, Sendable, CaseIterable, Codable, Comparable {
    case accountsRead = "accounts.read"
    case accountsWrite = "accounts.write"
    case membersRead = "members.read"
    case membersManage = "members.manage"
    case riskManage = "risk.manage"
    case tradesBook = "trades.book"
    case complianceCheck = "compliance.check"
    case complianceRead = "compliance.read"
    case complianceManage = "compliance.manage"
    case reportsGenerate = "reports.generate"
    case reportsRead = "reports.read"
    case auditRead = "audit.read"
    case auditExport = "audit.export"
    case strategiesRead = "strategies.read"
    case strategiesWrite = "strategies.write"
    case backtestsRun = "backtests.run"
    case modelsRead = "models.read"
    case modelsTrain = "models.train"
    case marketMakingRead = "market_making.read"
    case marketMakingManage = "market_making.manage"
    case tradfiRead = "tradfi.read"
    case tradfiManage = "tradfi.manage"
    case intelligenceRead = "bi.read"
    case intelligenceReports = "bi.reports"
    case revenueRead = "revenue.read"
    case usersManage = "users.manage"
    case apiKeysManage = "api_keys.manage"
    case rolesManage = "roles.manage"
    case jobsRead = "jobs.read"

    public static func < (left: Permission, right: Permission) -> Bool { left.rawValue < right.rawValue }
}

/// A named set of permissions. The eight built-in roles of an institutional team are fixed;
/// a tenant may define custom roles from the same permissions.
public struct Role: Sendable, Hashable {
    public let name: String
    public let permissions: Set<Permission>

    public init(name: String, permissions: Set<Permission>) {
        self.name = name
        self.permissions = permissions
    }

    public static let owner = Role(name: "owner", permissions: Set(Permission.allCases))
    /// Everything but changing roles' definitions, which stays with the owner.
    public static let admin = Role(name: "admin", permissions: Set(Permission.allCases).subtracting([.rolesManage]))
    public static let portfolioManager = Role(
        name: "portfolio_manager",
        permissions: [
            .accountsRead, .membersRead, .tradesBook, .complianceCheck, .complianceRead, .reportsRead,
            .strategiesRead, .strategiesWrite, .backtestsRun, .modelsRead, .modelsTrain, .marketMakingRead, .tradfiRead,
            .intelligenceRead, .intelligenceReports, .jobsRead,
        ]
    )
    public static let trader = Role(
        name: "trader",
        permissions: [
            .accountsRead, .tradesBook, .complianceCheck, .strategiesRead, .backtestsRun, .modelsRead,
            .marketMakingRead,
            .marketMakingManage, .tradfiRead, .jobsRead,
        ]
    )
    public static let complianceOfficer = Role(
        name: "compliance_officer",
        permissions: [
            .accountsRead, .membersRead, .complianceCheck, .complianceRead, .complianceManage, .reportsGenerate,
            .reportsRead, .auditRead, .auditExport, .intelligenceRead, .jobsRead,
        ]
    )
    public static let riskOfficer = Role(
        name: "risk_officer",
        permissions: [
            .accountsRead, .riskManage, .complianceCheck, .complianceRead, .reportsRead, .auditRead, .strategiesRead,
            .modelsRead, .marketMakingRead, .tradfiRead, .intelligenceRead, .intelligenceReports, .jobsRead,
        ]
    )
    public static let analyst = Role(
        name: "analyst",
        permissions: [
            .accountsRead, .reportsRead, .strategiesRead, .modelsRead, .marketMakingRead, .tradfiRead,
            .intelligenceRead, .intelligenceReports, .jobsRead,
        ]
    )
    public static let viewer = Role(
        name: "viewer",
        permissions: [.accountsRead, .strategiesRead, .modelsRead, .marketMakingRead, .intelligenceRead]
    )

    public static let builtIn: [Role] = [
        .owner, .admin, .portfolioManager, .trader, .complianceOfficer, .riskOfficer, .analyst, .viewer,
    ]

    public static func builtIn(named name: String) -> Role? {
        builtIn.first { $0.name == name }
    }

    /// The rule for custom role names: they must not look like a built-in role.
    public static let nameRule = "a lowercase letter followed by 1 to 39 lowercase letters, digits or underscores"

    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (2...40).contains(bytes.count) && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
            && bytes.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_")
            }
    }
}
