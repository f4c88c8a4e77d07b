public import ScryptexCore
public import ScryptexTenancy

/// The commercial plans a white-label instance is sold on, and the features each includes. A
/// partner's flags can turn an included feature off, never a missing one on.
public enum CommercialPlan: String, CaseIterable, Codable, Sendable {
    case starter, professional, enterprise

    public var features: Set<Feature> {
        switch self {
        case .starter: [.institutional, .compliance, .bi, .whiteLabel]
        case .professional: [.institutional, .compliance, .bi, .whiteLabel, .quant, .ml, .tradfi]
        case .enterprise: Set(Feature.allCases)
        }
    }

    public static func named(_ name: String, field: String = "plan") throws(ServiceError) -> CommercialPlan {
        guard let plan = CommercialPlan(rawValue: name) else {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': unknown plan '\(name)'; plans: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return plan
    }

    /// Every feature's flag under this plan: included ones on unless `requested` turns them
    /// off, the rest off. Asking for a feature the plan lacks is an error naming it.
    public func flags(requested: [String: Bool], current: [String: Bool] = [:]) throws(ServiceError) -> [String: Bool] {
        for (name, enabled) in requested.sorted(by: { $0.key < $1.key }) {
            let feature = try Feature.named(name)
            if enabled, !features.contains(feature) {
                throw ServiceError(
                    .invalidInput, "field 'features.\(name)': not included in the '\(rawValue)' plan")
            }
        }
        var flags: [String: Bool] = [:]
        for feature in Feature.allCases {
            let name = feature.rawValue
            flags[name] = features.contains(feature) && (requested[name] ?? current[name] ?? true)
        }
        return flags
    }
}
