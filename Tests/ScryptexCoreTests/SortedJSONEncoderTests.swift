import Foundation
import ScryptexCore
import Testing

@Suite("SortedJSONEncoder")
struct SortedJSONEncoderTests {
    enum Kind: String, Codable { case fund, office }

    struct Limits: Codable, Equatable {
        var maxOrder: ExactDecimal?
        var venues: [String]
        var weights: [Double]
    }

    struct Account: Codable, Equatable {
        var id: UUID
        var parentId: UUID?
        var name: String
        var kind: Kind
        var aum: ExactDecimal
        var score: Double
        var count: Int
        var small: Int8
        var large: UInt64
        var active: Bool
        var tags: [String: String]
        var limits: Limits
        var history: [Limits]
        var createdAt: Date
        var blob: Data
        var link: URL
        var nothing: String?
    }

    static let account = Account(
        id: UUID(uuidString: "E7A853F9-ACB4-4484-A29B-F353190630AA")!, parentId: nil,
        name: "Fund \"A\" \\ slash/ tab\t newline\n bell\u{07} é 日本 🚀", kind: .fund,
        aum: ExactDecimal("1234567.8900")!, score: 0.1 + 0.2, count: -42, small: -8, large: UInt64.max,
        active: true, tags: ["zeta": "1", "alpha": "2", "Beta": "3", "lei": "5493001KJTIIGC8Y1R12"],
        limits: Limits(maxOrder: ExactDecimal("10.5"), venues: ["XNAS", "XOFF"], weights: [1, 2.5, 1e-7, 1e21]),
        history: [], createdAt: Date(timeIntervalSince1970: 1_764_924_029.75), blob: Data([0, 1, 2, 250]),
        link: URL(string: "https://acme.example/a?b=c")!, nothing: nil)

    /// Foundation's encoder as the responses were written before: keys sorted, slashes plain.
    static func foundation(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }

    static func object(_ bytes: some Collection<UInt8>) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func writesWhatFoundationWritesWithIdentifiersInLowerCase() throws {
        let ours = try SortedJSONEncoder().encode(Self.account)
        let theirs = try Self.foundation(Self.account)
        let text = String(decoding: ours, as: UTF8.self)
        // The same document; Foundation writes the UUID in upper case, this encoder in lower.
        let expected = String(decoding: theirs, as: UTF8.self).replacingOccurrences(
            of: "E7A853F9-ACB4-4484-A29B-F353190630AA", with: "e7a853f9-acb4-4484-a29b-f353190630aa")
        #expect(try Self.object(ours) == Self.object(Data(expected.utf8)))
        #expect(text.contains(#""id":"e7a853f9-acb4-4484-a29b-f353190630aa""#))
        #expect(text.contains(#""createdAt":"2025-12-05T08:40:29Z""#), "whole seconds, UTC: \(text)")
        #expect(text.contains(#""link":"https://acme.example/a?b=c""#), "slashes are not escaped")
        #expect(!text.contains("nothing"), "a nil optional is left out")
        #expect(text.contains(#""score":0.30000000000000004"#))
        #expect(text.contains(#""weights":[1,2.5,1e-07,1e+21]"#), "\(text)")
        #expect(text.contains(#""large":18446744073709551615"#))
        #expect(text.contains(#"\"A\" \\ slash/ tab\t newline\n bell\u0007 é 日本 🚀"#), "\(text)")
        // Decodes back to the same value.
        #expect(try JSONDecoder.iso8601.decode(Account.self, from: Data(ours)) == Self.account.withWholeSeconds)
    }

    @Test func sortsEveryObjectsKeysByTheirBytes() throws {
        let text = String(decoding: try SortedJSONEncoder().encode(Self.account), as: UTF8.self)
        let keys = ["\"active\"", "\"aum\"", "\"blob\"", "\"count\"", "\"createdAt\"", "\"history\"", "\"id\""]
        let positions = keys.map { text.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(text.contains(#""tags":{"Beta":"3","alpha":"2","lei":"5493001KJTIIGC8Y1R12","zeta":"1"}"#), "\(text)")
    }

    @Test func matchesFoundationByteForByteOnPlainValues() throws {
        struct Plain: Codable {
            var b: [Int]
            var a: String
            var nested: [String: [String: Bool]]
            var empty: [String: Int]
            var list: [[Int]]
        }
        let value = Plain(b: [3, 1, 2], a: "x", nested: ["k": ["y": true, "x": false]], empty: [:], list: [[], [1]])
        #expect(try SortedJSONEncoder().encode(value) == Array(try Self.foundation(value)))
        #expect(try SortedJSONEncoder().encode([1, 2]) == Array("[1,2]".utf8))
        #expect(try SortedJSONEncoder().encode("top") == Array(#""top""#.utf8))
        #expect(try SortedJSONEncoder().encode(Optional<Int>.none) == Array("null".utf8))
    }

    @Test func refusesNumbersJSONCannotHold() throws {
        struct Reading: Encodable { var value: Double }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder().encode(Reading(value: .nan)) }
        #expect(throws: EncodingError.self) { try SortedJSONEncoder().encode([Double.infinity]) }
    }

    @Test func keepsTheLastValueOfAKeyEncodedTwiceAndWritesSuperEncoders() throws {
        struct Twice: Encodable {
            enum Key: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(1, forKey: .b)
                try container.encode(2, forKey: .a)
                try container.encode(3, forKey: .b)
                var nested = container.nestedUnkeyedContainer(forKey: .a)
                try nested.encode("replaced")
                let parent = container.superEncoder()
                var single = parent.singleValueContainer()
                try single.encode(["inherited": true])
            }
        }
        let text = String(decoding: try SortedJSONEncoder().encode(Twice()), as: UTF8.self)
        #expect(text == #"{"a":["replaced"],"b":3,"super":{"inherited":true}}"#)
    }
}

extension SortedJSONEncoderTests.Account {
    /// ISO 8601 dates keep whole seconds.
    var withWholeSeconds: Self {
        var copy = self
        copy.createdAt = Date(timeIntervalSince1970: createdAt.timeIntervalSince1970.rounded(.down))
        return copy
    }
}

extension JSONDecoder {
    static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
