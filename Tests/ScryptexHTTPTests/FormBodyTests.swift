import Foundation
import Testing

@testable import ScryptexHTTP

@Suite("HTML form bodies")
struct FormBodyTests {
    func request(_ body: String, contentType: String? = "application/x-www-form-urlencoded") -> HTTPRequest {
        HTTPRequest(
            method: .post, target: "/portal/accounts",
            headers: HTTPHeaders(contentType.map { [("Content-Type", $0)] } ?? []), body: Array(body.utf8))
    }

    @Test func readsFieldsDecodingPlusesAndEscapesAndKeepsPasswordsExact() throws {
        let form = try request("name=Acme+Fund%20I&password=+a%26b+&empty=&note=line%0Atwo").formFields()
        #expect(form["name"] == "Acme Fund I")
        #expect(form["password"] == "a&b")
        #expect(form.exactly("password") == " a&b ")
        #expect(form["empty"] == nil)
        #expect(form["note"] == "line\ntwo")
        #expect(form["missing"] == nil)
        #expect(throws: HTTPProblem.self) { try form.required("missing") }
    }

    @Test func refusesWhatIsNotAFormOrIsMalformedNamingTheProblem() {
        func problem(_ request: HTTPRequest) -> HTTPProblem? {
            do {
                _ = try request.formFields()
                return nil
            } catch {
                return error as? HTTPProblem
            }
        }
        #expect(problem(request("a=1", contentType: nil))?.status == .unsupportedMediaType)
        #expect(
            problem(request("{}", contentType: "application/json"))?.detail.contains("not application/json") == true)
        #expect(problem(request("a=1&a=2"))?.detail == "field 'a' is given twice")
        #expect(problem(request("a=%ZZ"))?.detail.contains("malformed escape") == true)
        #expect(problem(request("a=%FF"))?.detail.contains("not UTF-8") == true)
        #expect(problem(request("a=%00"))?.detail == "field 'a' holds the control character U+0")
        #expect(problem(request("a=" + String(repeating: "x", count: 70_000)))?.detail.contains("64 KiB") == true)
        #expect(problem(request("charset=1", contentType: "application/x-www-form-urlencoded; charset=utf-8")) == nil)
    }
}
