import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP

/// JSON over HTTPS to one provider: an answer other than 2xx, an unreachable server or a body
/// that is not what the provider documents becomes `.upstreamFailed`, naming the provider, the
/// call and what came back.
struct ProviderAPI: Sendable {
    let provider: String
    let client: HTTPSClient

    init(provider: String, trustedCertificatesFile: String?) {
        self.provider = provider
        client = HTTPSClient(trustedCertificatesFile: trustedCertificatesFile, timeout: .seconds(20))
    }

    /// Sends the request and decodes a 2xx answer's JSON body as `Answer`.
    func send<Answer: Decodable>(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8] = [],
        answer: Answer.Type
    ) async throws -> Answer {
        let call = "\(method.rawValue) \(Self.pathOf(url))"
        let response: HTTPClientResponse
        do {
            response = try await client.send(method, url, headers: headers, body: body)
        } catch {
            throw ServiceError(.upstreamFailed, "\(provider) could not be reached for \(call): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw ServiceError(
                .upstreamFailed,
                "\(provider) answered \(response.status) to \(call): \(Self.excerpt(response.body))")
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body))
        } catch {
            throw ServiceError(
                .upstreamFailed,
                "\(provider)'s answer to \(call) is not what its API documents: \(Self.excerpt(response.body))")
        }
    }

    /// A JSON body.
    static func json(_ object: [String: Any]) -> [UInt8] {
        // Only strings, numbers and nested objects go in: serialization cannot fail.
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// The path of a URL, without its query (queries may carry identifiers, never secrets, but
    /// errors stay short).
    static func pathOf(_ url: String) -> String {
        URLComponents(string: url)?.path ?? url
    }

    /// The first 200 printable characters of a body, for an error message.
    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self).filter { !$0.isNewline }
        return text.isEmpty ? "(no body)" : text
    }

    /// A signature header compared with the expected hexadecimal HMAC of the body, in constant
    /// time; `.unauthenticated` when it is missing or differs.
    static func requireSignature(
        _ presented: String?, header: String, expected: [UInt8], provider: String
    ) throws {
        guard let presented, let bytes = Hex.decode(presented.lowercased()) else {
            throw ServiceError(.unauthenticated, "the notification carries no \(header) from \(provider)")
        }
        guard ConstantTime.equals(bytes, expected) else {
            throw ServiceError(.unauthenticated, "the notification's \(header) does not match its body")
        }
    }

    /// A provider identifier that goes into a URL path: letters, digits, '-' and '_' only.
    static func pathSegment(_ text: String, field: String, provider: String) throws -> String {
        guard !text.isEmpty, text.count <= 128,
            text.unicodeScalars.allSatisfy({
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
            })
        else {
            throw ServiceError(.invalidInput, "field '\(field)': '\(text.prefix(80))' is not a \(provider) identifier")
        }
        return text
    }
}
