import ScryptexCore

/// The fields of an HTML form post (`application/x-www-form-urlencoded`), each named once.
public struct FormFields: Sendable {
    private var values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The field `name`, trimmed; nil when absent or blank.
    public subscript(name: String) -> String? {
        guard let value = values[name].map({ String($0.trimmingSpaces) }), !value.isEmpty else { return nil }
        return value
    }

    /// The field `name` as sent (a password keeps its spaces); nil when absent or empty.
    public func exactly(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The field `name`; 400 naming it when it is missing or blank.
    public func required(_ name: String, _ label: String? = nil) throws -> String {
        guard let value = self[name] else {
            throw HTTPProblem.badRequest("field '\(label ?? name)' is required", type: .invalidField)
        }
        return value
    }

    /// Whether a checkbox `name` was ticked.
    public func isChecked(_ name: String) -> Bool { values[name] != nil }

    public var names: [String] { values.keys.sorted() }
}

extension HTTPRequest {
    /// The largest form body a page accepts.
    public static let largestFormBody = 64 * 1024

    /// Reads the body of an HTML form post.
    ///
    /// - Throws: `HTTPProblem` with 415 when the body is not declared
    ///   `application/x-www-form-urlencoded`, and 400 naming the problem when it is larger than
    ///   64 KiB, holds a malformed escape or bytes that are not UTF-8, a NUL or control
    ///   character, or a field given twice.
    public func formFields() throws -> FormFields {
        let mediaType =
            headers.first("content-type")?.split(separator: ";").first.map { $0.trimmingSpaces.lowercasedASCII } ?? ""
        guard mediaType == "application/x-www-form-urlencoded" else {
            throw HTTPProblem(
                .unsupportedMediaType, type: .unsupportedMediaType,
                detail: "a form must be sent as application/x-www-form-urlencoded"
                    + (mediaType.isEmpty ? "" : ", not \(mediaType)"))
        }
        guard body.count <= Self.largestFormBody else {
            throw HTTPProblem.badRequest("the form is larger than 64 KiB", type: .invalidBody)
        }
        var values: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ bytes: ArraySlice<UInt8>) -> String? {
                let text = String(
                    decoding: bytes.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                return PercentEncoding.decode(text)
            }
            guard let name = decode(parts[0]), let value = parts.count == 2 ? decode(parts[1]) : "" else {
                throw HTTPProblem.badRequest(
                    "the form holds a malformed escape or text that is not UTF-8", type: .invalidBody)
            }
            // Line breaks are allowed in values (a text area); other control characters are not.
            if let bad = (name + value).unicodeScalars.first(where: {
                ($0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t") || $0.value == 0x7F
            }) {
                throw HTTPProblem.badRequest(
                    "field '\(name.prefix(40))' holds the control character U+\(String(bad.value, radix: 16, uppercase: true))",
                    type: .invalidField)
            }
            guard values[name] == nil else {
                throw HTTPProblem.badRequest("field '\(name.prefix(40))' is given twice", type: .invalidField)
            }
            values[name] = value
        }
        return FormFields(values)
    }
}
