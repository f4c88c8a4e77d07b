/// Words a `DecodingError` for people: the field by its path (`riskParameters.maxDrawdown`,
/// `config.assets[1]`) and what was wrong, without Swift type internals.
public enum DecodingErrorDescription {
    /// A sentence naming the field by its path and what was wrong with it.
    public static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "the field '\(path(context.codingPath + [key]))' is required"
        case .valueNotFound(_, let context):
            return "the field '\(path(context.codingPath))' must not be null"
        case .typeMismatch(let type, let context):
            return "the field '\(path(context.codingPath))' must be \(describe(type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "the request body is not valid JSON"
            }
            return "the field '\(path(context.codingPath))' is not valid: \(context.debugDescription)"
        @unknown default:
            return "the request body does not match what this endpoint accepts"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "(body)" : text
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: "a whole number"
        case is Double.Type: "a number"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "a \(type)"
        }
    }
}
