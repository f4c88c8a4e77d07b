public import ScryptexCore

/// A service a tenant can have switched on or off (its row in `platform.tenant_features`, its
/// key in a tenant file's `features`). Routes name the feature they belong to with this type, so
/// a misspelt name is a compile error, not a feature that silently answers 404.
public enum Feature: String, CaseIterable, Codable, Hashable, Sendable, Comparable {
    case institutional
    case compliance
    case quant
    case ml
    case marketMaking = "market_making"
    case tradfi
    case bi
    case whiteLabel = "white_label"

    /// The feature by its stored name; an error that lists the known names.
    public static func named(_ name: String, field: String = "features") throws(ServiceError) -> Feature {
        guard let feature = Feature(rawValue: name) else {
            throw ServiceError(
                .invalidInput,
                "field '\(field).\(name)': unknown feature; known: \(allCases.map(\.rawValue).sorted().joined(separator: ", "))"
            )
        }
        return feature
    }

    public static func < (left: Feature, right: Feature) -> Bool { left.rawValue < right.rawValue }
}
