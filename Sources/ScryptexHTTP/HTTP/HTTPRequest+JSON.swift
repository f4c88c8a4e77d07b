import Foundation
import ScryptexCore

extension HTTPRequest {
    /// Decodes the body as JSON into `type`.
    ///
    /// - Parameter maximumDepth: The deepest nesting of objects and arrays accepted.
    /// - Throws: `HTTPProblem` with 415 when the body is not declared JSON, and 400 naming the
    ///   problem otherwise: not JSON at all, nested too deeply, or a field that is missing, null,
    ///   of the wrong type or invalid (the field is named by its path, such as
    ///   `riskParameters.maxDrawdown` or `config.assets[2]`).
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, maximumDepth: Int = 32) throws -> Value {
        if let contentType = headers.first("content-type") {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingSpaces.lowercasedASCII } ?? ""
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                throw HTTPProblem(
                    .unsupportedMediaType, type: "unsupported-media-type",
                    detail: "the body must be application/json, not \(mediaType)"
                )
            }
        }
        guard !body.isEmpty else {
            throw HTTPProblem.badRequest("the request body is empty; a JSON document is expected", type: "invalid-body")
        }
        if let problem = JSONShape.check(body, maximumDepth: maximumDepth) {
            throw HTTPProblem.badRequest(problem, type: "invalid-body")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch let error as DecodingError {
            throw HTTPProblem.badRequest(DecodingErrorDescription.describe(error), type: "invalid-body")
        }
    }
}

/// Checks a JSON document's nesting before it is decoded, and words decoding errors.
enum JSONShape {
    /// A description of the problem, or nil when the nesting is within bounds.
    static func check(_ bytes: [UInt8], maximumDepth: Int) -> String? {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximumDepth { return "the JSON body nests deeper than \(maximumDepth) levels" }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth < 0 { return "the request body is not valid JSON: unbalanced brackets" }
            default: break
            }
        }
        return nil
    }
}
