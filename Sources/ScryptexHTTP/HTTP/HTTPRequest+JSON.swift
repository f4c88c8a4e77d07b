import Foundation
import ScryptexCore

extension HTTPRequest {
    /// Checks that the request carries a well-formed JSON body declared `application/json` (or
    /// a `+json` type), for handlers that decode the body themselves; throws as `decodeJSON`.
    public func requireJSONBody(maximumDepth: Int = 32) throws {
        // A declared type is required: a browser sends a cross-site form post (text/plain,
        // form-encoded) with the user's cookie but without a preflight, never application/json.
        guard let contentType = headers.first("content-type") else {
            throw HTTPProblem(
                .unsupportedMediaType, type: .unsupportedMediaType,
                detail: "the body must be sent with Content-Type: application/json")
        }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingSpaces.lowercasedASCII } ?? ""
        guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
            throw HTTPProblem(
                .unsupportedMediaType, type: .unsupportedMediaType,
                detail: "the body must be application/json, not \(mediaType)"
            )
        }
        guard !body.isEmpty else {
            throw HTTPProblem.badRequest("the request body is empty; a JSON document is expected", type: .invalidBody)
        }
        do {
            try JSONDocumentCheck.check(body, maximumDepth: maximumDepth)
        } catch {
            throw HTTPProblem.badRequest(error.description, type: .invalidBody)
        }
    }

    /// Decodes the body as JSON into `type`.
    ///
    /// - Parameter maximumDepth: The deepest nesting of objects and arrays accepted.
    /// - Throws: `HTTPProblem` with 415 when the body is not declared JSON, and 400 naming the
    ///   problem otherwise: not JSON at all, nested too deeply, a key given twice, a NUL in a
    ///   string, a number with more than 38 digits, or a field that is missing, null,
    ///   of the wrong type or invalid (the field is named by its path, such as
    ///   `riskParameters.maxDrawdown` or `config.assets[2]`).
    public func decodeJSON<Value: Decodable>(_ type: Value.Type, maximumDepth: Int = 32) throws -> Value {
        try requireJSONBody(maximumDepth: maximumDepth)
        do {
            return try Self.jsonDecoder.decode(type, from: Data(body))
        } catch let error as DecodingError {
            throw HTTPProblem.badRequest(DecodingErrorDescription.describe(error), type: .invalidBody)
        }
    }

    /// Dates are RFC 3339 timestamps (`2026-12-04T15:00:00Z`, fractions of a second and offsets
    /// allowed), never bare numbers: Foundation's default reads a number as seconds since 2001.
    private static var jsonDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            guard let text = try? container.decode(String.self) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an RFC 3339 timestamp such as \"2026-12-04T15:00:00Z\"")
            }
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "'\(text)' is not an RFC 3339 timestamp such as \"2026-12-04T15:00:00Z\"")
            }
            return date
        }
        return decoder
    }
}
