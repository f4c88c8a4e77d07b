import Foundation

/// Reads a request body strictly: a JSON object whose every member is a field the type knows
/// (a misspelt field is refused, never silently ignored), each field decoded and named when it
/// is wrong.
public enum StrictJSON {
    /// Decodes `bytes` as a `Value`, refusing members outside `fields`.
    /// - Parameter subject: What the body is, as the error names it (`a credit line`).
    public static func decode<Value: Decodable>(
        _ type: Value.Type, from bytes: [UInt8], fields: Set<String>, subject: String
    ) throws(ServiceError) -> Value {
        let data = Data(bytes)
        guard let members = try? JSONDecoder().decode([String: AnyMember].self, from: data) else {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        if let unknown = members.keys.sorted().first(where: { !fields.contains($0) }) {
            throw ServiceError(.invalidInput, "field '\(unknown.prefix(80))': not a field of \(subject)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw ServiceError(.invalidInput, DecodingErrorDescription.describe(error))
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError(.invalidInput, "the body is not \(subject)")
        }
    }
}

/// A JSON member whose value is not looked at (only the object's keys are).
private struct AnyMember: Decodable {
    init(from decoder: any Decoder) throws {}
}
