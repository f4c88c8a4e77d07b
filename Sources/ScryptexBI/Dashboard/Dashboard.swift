public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// A figure on a dashboard, with what it means, when it was true and where it came from.
public struct DashboardMetric: Sendable, Encodable {
    public enum Value: Sendable, Encodable {
        /// An exact amount (money, quantity), written as a string.
        case amount(ExactDecimal)
        /// A ratio or statistic.
        case number(Double)
        case count(Int)
        case text(String)
        /// Not known (the note says why).
        case unknown

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .amount(let value): try container.encode(value.description)
            case .number(let value) where value.isFinite: try container.encode(value)
            case .number, .unknown: try container.encodeNil()
            case .count(let value): try container.encode(value)
            case .text(let value): try container.encode(value)
            }
        }
    }

    public var name: String
    public var value: Value
    /// `USD`, `ratio`, `users`…; nil for a plain count or text.
    public var unit: String?
    public var definition: String
    public var asOf: Date
    public var source: String
    public var note: String?

    public init(
        _ name: String, _ value: Value, unit: String? = nil, definition: String, asOf: Date, source: String,
        note: String? = nil
    ) {
        self.name = name
        self.value = value
        self.unit = unit
        self.definition = definition
        self.asOf = asOf
        self.source = source
        self.note = note
    }
}

/// One panel of a dashboard: its figures, or why it has none.
public struct DashboardPanel: Sendable, Encodable {
    public var name: String
    public var title: String
    /// False when the service behind the panel is not available (its note says why).
    public var available: Bool
    public var note: String?
    public var metrics: [DashboardMetric]
    /// Rows the panel lists (positions, deadlines), each a small record of texts.
    public var rows: [[String: String]]?
    /// The panel's contribution to net P&L in USD, if it earns any.
    public var pnlUSD: ExactDecimal?

    public init(
        name: String, title: String, available: Bool = true, note: String? = nil, metrics: [DashboardMetric] = [],
        rows: [[String: String]]? = nil, pnlUSD: ExactDecimal? = nil
    ) {
        self.name = name
        self.title = title
        self.available = available
        self.note = note
        self.metrics = metrics
        self.rows = rows
        self.pnlUSD = pnlUSD
    }

    enum CodingKeys: String, CodingKey {
        case name, title, available, note, metrics, rows
    }

    /// A panel whose service is not there (switched off for the tenant or the host, or not
    /// built yet).
    public static func unavailable(_ name: String, title: String, note: String) -> DashboardPanel {
        DashboardPanel(name: name, title: title, available: false, note: note)
    }
}

/// What a dashboard covers.
public enum DashboardScope: Sendable, Equatable {
    /// One account and its sub-accounts.
    case account(UUID)
    /// Every account of the tenant (the firm).
    case tenant
}

/// A panel some other service provides (quant, ML, market making, the platform's own figures).
/// The composition root hands the dashboard the sources that exist; a missing one is a panel
/// that says so.
public protocol DashboardPanelSource: Sendable {
    /// The panel's name (`quant`, `ml`, `marketMaking`, `platform`).
    var panelName: String { get }
    func panel(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> DashboardPanel
}

/// An executive dashboard: every panel, as of one moment.
public struct Dashboard: Sendable, Encodable {
    public var scope: String
    public var accountId: UUID?
    public var accounts: Int
    public var asOf: Date
    /// Whether this answer came from the cache, and for how long a computed one is kept.
    public var cached: Bool
    public var refreshSeconds: Int
    public var note: String?
    public var panels: [DashboardPanel]

    public init(
        scope: String, accountId: UUID?, accounts: Int, asOf: Date, cached: Bool, refreshSeconds: Int, note: String?,
        panels: [DashboardPanel]
    ) {
        self.scope = scope
        self.accountId = accountId
        self.accounts = accounts
        self.asOf = asOf
        self.cached = cached
        self.refreshSeconds = refreshSeconds
        self.note = note
        self.panels = panels
    }
}
