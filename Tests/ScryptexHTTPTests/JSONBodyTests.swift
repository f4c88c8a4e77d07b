import Foundation
import ScryptexCore
import Testing

@testable import ScryptexHTTP

@Suite("JSON request bodies")
struct JSONBodyTests {
    struct Strategy: Decodable, Equatable {
        struct Config: Decodable, Equatable {
            var lookbackPeriod: Int
            var assets: [String]
        }
        struct Risk: Decodable, Equatable {
            var maxPositionSize: ExactDecimal
            var maxDrawdown: ExactDecimal
        }
        var name: String
        var config: Config
        var riskParameters: Risk
    }

    static func request(_ body: String, contentType: String? = "application/json") -> HTTPRequest {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return HTTPRequest(method: .post, target: "/x", headers: headers, body: Array(body.utf8))
    }

    static func problem(_ body: String, contentType: String? = "application/json") -> HTTPProblem? {
        do {
            _ = try request(body, contentType: contentType).decodeJSON(Strategy.self, maximumDepth: 8)
            return nil
        } catch let problem as HTTPProblem {
            return problem
        } catch {
            return nil
        }
    }

    @Test func decodesTheSpecificationsExample() throws {
        let body = #"""
            {"name":"Mean Reversion ETH","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"assets":["ETH/USDC"]},"riskParameters":{"maxPositionSize":0.05,"stopLoss":0.02,"maxDrawdown":0.10}}
            """#
        let strategy = try Self.request(body).decodeJSON(Strategy.self)
        #expect(strategy.config.assets == ["ETH/USDC"])
        #expect(strategy.riskParameters.maxPositionSize == ExactDecimal("0.05")!)
        #expect(strategy.riskParameters.maxDrawdown.description == "0.1")
    }

    @Test(arguments: [
        (#"{"name":"a","config":{"lookbackPeriod":20,"assets":[]}}"#, "the field 'riskParameters' is required"),
        (
            #"{"name":"a","config":{"lookbackPeriod":"20","assets":[]},"riskParameters":{"maxPositionSize":1,"maxDrawdown":1}}"#,
            "the field 'config.lookbackPeriod' must be a whole number"
        ),
        (
            #"{"name":null,"config":{"lookbackPeriod":1,"assets":[]},"riskParameters":{"maxPositionSize":1,"maxDrawdown":1}}"#,
            "the field 'name' must not be null"
        ),
        (
            #"{"name":"a","config":{"lookbackPeriod":1,"assets":["x",2]},"riskParameters":{"maxPositionSize":1,"maxDrawdown":1}}"#,
            "the field 'config.assets[1]' must be a string"
        ),
        (
            #"{"name":"a","config":{"lookbackPeriod":1,"assets":[]},"riskParameters":{"maxPositionSize":"lots","maxDrawdown":1}}"#,
            "the field 'riskParameters.maxPositionSize' is not valid"
        ),
        (#"{"name":"a",,}"#, "the request body is not valid JSON"),
        ("", "the request body is empty"),
        (#"[[[[[[[[[["deep"]]]]]]]]]]"#, "nests deeper than 8 levels"),
    ])
    func problemsNameTheField(body: String, message: String) {
        let problem = Self.problem(body)
        #expect(problem?.status == .badRequest)
        #expect(problem?.problemType == .invalidBody)
        #expect(problem?.detail.contains(message) == true, "\(String(describing: problem?.detail))")
    }

    @Test(arguments: [
        (#"{"name":"a","name":"b"}"#, "the field 'name' appears more than once"),
        (#"{"config":{"assets":[],"assets":[]}}"#, "the field 'config.assets' appears more than once"),
        (#"{"name":"a","n\u0061me":"b"}"#, "the field 'name' appears more than once"),
        (#"{"name":"a\u0000b"}"#, "the field 'name' contains a NUL character"),
        ("{\"name\":\"a\u{0}b\"}", "the field 'name' contains a NUL character"),
        ("{\"name\":\"a\u{1}b\"}", "a control character in a string"),
        (#"{"config":{"lookbackPeriod":123456789012345678901234567890123456789}}"#, "more than 38 digits"),
        (#"{"name":"a"} x"#, "unexpected text after the document"),
        (#"{"name":01}"#, "leading zero"),
        (#"{"name":NaN}"#, "not valid JSON"),
        (#"{"name":"\x"}"#, "invalid escape"),
        (#"{"name":"a""#, "not valid JSON"),
    ])
    func documentsAreCheckedBeforeDecoding(body: String, message: String) {
        let problem = Self.problem(body)
        #expect(problem?.status == .badRequest)
        #expect(problem?.detail.contains(message) == true, "\(String(describing: problem?.detail))")
    }

    @Test func validDocumentsPassTheCheck() throws {
        for body in [
            #"{"a":[1,-2.5e-3,0,true,false,null,"\u00e9\ud83d\ude00\n"],"b":{"a":{}},"c":[]}"#, "  [ ]  ", "0",
            #""x""#, #"{"k":"\ud800"}"#,
        ] {
            try JSONDocumentCheck.check(Array(body.utf8), maximumDepth: 8)
        }
    }

    @Test func datesAreRFC3339Timestamps() throws {
        struct Expiry: Decodable { var at: Date }
        func decode(_ value: String) throws -> Date {
            let expiry = try Self.request(#"{"at":\#(value)}"#).decodeJSON(Expiry.self)
            return expiry.at
        }
        #expect(try decode(#""2026-12-04T15:00:00Z""#) == Date(timeIntervalSince1970: 1_796_396_400))
        #expect(try decode(#""2026-12-04T16:00:00.500+01:00""#) == Date(timeIntervalSince1970: 1_796_396_400.5))
        for wrong in ["3600", #""2026-12-04""#, #""tomorrow""#] {
            #expect(throws: HTTPProblem.self) { try decode(wrong) }
        }
    }

    @Test func aBodyWithoutAContentTypeIsNotRead() {
        #expect(Self.problem(#"{"name":"a"}"#, contentType: nil)?.status == .unsupportedMediaType)
    }

    @Test func otherMediaTypesGet415() {
        let problem = Self.problem(#"{"name":"a"}"#, contentType: "text/plain")
        #expect(problem?.status == .unsupportedMediaType)
        #expect(Self.problem(#"{"name":"a"}"#, contentType: "application/problem+json")?.status == .badRequest)
    }
}
