public import Foundation

/// The data a template renders: JSON's shapes. Numbers are kept as the text they print as, so
/// exact decimals render exactly.
public enum TemplateValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case list([TemplateValue])
    case object([String: TemplateValue])

    /// Falsey: null, false, an empty list, an empty string.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .list(let items): !items.isEmpty
        case .string(let text): !text.isEmpty
        case .number, .object: true
        }
    }

    /// What an interpolation of the value prints.
    var text: String {
        switch self {
        case .null: ""
        case .bool(let value): value ? "true" : "false"
        case .number(let text), .string(let text): text
        case .list(let items): items.map(\.text).joined(separator: ",")
        case .object: ""
        }
    }

    /// A value from JSON data (objects, arrays, strings, numbers, booleans, null).
    public init(json data: Data) throws {
        self = Self(any: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    /// A value from an `Encodable` (through its JSON form: camelCase keys, ISO 8601 dates).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try self.init(json: try encoder.encode(value))
    }

    /// A value from what `JSONSerialization` produces.
    public init(any value: Any) {
        switch value {
        case let dictionary as [String: Any]: self = .object(dictionary.mapValues(Self.init(any:)))
        case let array as [Any]: self = .list(array.map(Self.init(any:)))
        case let string as String: self = .string(string)
        case let number as NSNumber:
            // JSONSerialization makes booleans as `char` numbers.
            if String(cString: number.objCType) == "c" {
                self = .bool(number.boolValue)
            } else if let integer = Int(exactly: number.doubleValue), !"\(number)".contains(".") {
                self = .number(String(integer))
            } else {
                self = .number("\(number.doubleValue)")
            }
        default: self = .null
        }
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(nilLiteral: ()) { self = .null }
}
