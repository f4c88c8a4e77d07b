import Foundation
import ScryptexTemplates
import ScryptexTestSupport
import Testing

/// One case of the official Mustache specification's test suite.
struct SpecCase: Sendable, CustomTestStringConvertible {
    var file: String
    var name: String
    var template: String
    var data: TemplateValue
    var partials: [String: String]
    var expected: String

    var testDescription: String { "\(file): \(name)" }

    /// The required modules of the spec and the optional inheritance module, read from the
    /// shared data folder.
    static let all: [SpecCase] = {
        var cases: [SpecCase] = []
        for file in ["comments", "delimiters", "interpolation", "inverted", "partials", "sections", "~inheritance"] {
            guard let data = FileManager.default.contents(atPath: SharedData.path("mustache-spec/\(file).json")),
                let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let tests = root["tests"] as? [[String: Any]]
            else {
                cases.append(
                    SpecCase(
                        file: file, name: "missing spec file", template: "", data: .null, partials: [:],
                        expected: "the spec file \(file).json could not be read"))
                continue
            }
            for test in tests {
                cases.append(
                    SpecCase(
                        file: file, name: test["name"] as? String ?? "?", template: test["template"] as? String ?? "",
                        data: TemplateValue(any: test["data"] ?? NSNull()),
                        partials: test["partials"] as? [String: String] ?? [:],
                        expected: test["expected"] as? String ?? ""))
            }
        }
        return cases
    }()
}

@Suite("Mustache templates")
struct MustacheSpecTests {
    @Test func theWholeRequiredSpecIsHere() {
        // comments 12, delimiters 14, interpolation 42, inverted 22, partials 12, sections 34,
        // inheritance 27.
        #expect(SpecCase.all.count == 163)
    }

    @Test(arguments: SpecCase.all) func conformsToTheSpecification(_ spec: SpecCase) throws {
        let template = try Template(spec.template, name: spec.name)
        #expect(try template.render(spec.data, partials: spec.partials) == spec.expected)
    }

    @Test func badTemplatesNameTheLineAndTheProblem() {
        for (source, message) in [
            ("a\n{{#items}}\nb", "the section 'items' opened on line 2 is never closed"),
            ("{{#a}}\n{{/b}}", "line 2: 'b' closes the section 'a' opened on line 1"),
            ("{{/a}}", "line 1: a closing tag 'a' without a section"),
            ("x {{name", "line 1: an unclosed tag"),
            ("{{= | =}}", "a delimiter change needs two delimiters"),
        ] {
            #expect(throws: TemplateError.self) { try Template(source, name: "page") }
            do {
                _ = try Template(source, name: "page")
            } catch {
                #expect(error.message.contains(message), "\(error.message)")
                #expect(error.message.hasPrefix("page"))
            }
        }
    }

    @Test func escapesEverythingThatCouldBreakOutOfHTML() throws {
        let template = try Template("<a title='{{v}}' href=\"{{v}}\">{{v}}</a>{{{v}}}")
        #expect(
            try template.render(["v": "'\"<&>"])
                == "<a title='&#39;&quot;&lt;&amp;&gt;' href=\"&#39;&quot;&lt;&amp;&gt;\">&#39;&quot;&lt;&amp;&gt;</a>'\"<&>"
        )
    }

    @Test func rendersEncodableValuesWithExactNumbersAsText() throws {
        struct Line: Encodable {
            var product: String
            var amount: String
        }
        let value = try TemplateValue(encoding: ["lines": [Line(product: "data", amount: "0.10")]])
        #expect(try Template("{{#lines}}{{product}}={{amount}};{{/lines}}").render(value) == "data=0.10;")
    }
}

@Suite("Template inheritance")
struct TemplateInheritanceTests {
    @Test func aPageFillsItsLayoutsBlocksAndKeepsTheRestOfTheLayout() throws {
        let layout = """
            <html>
              <title>{{$title}}{{productName}}{{/title}}</title>
              <main>
                {{$content}}
                <p>nothing here</p>
                {{/content}}
              </main>
            </html>

            """
        let page = """
            {{<layout}}
            {{$title}}Accounts · {{productName}}{{/title}}
            {{$content}}
            <ul>
              {{#accounts}}<li>{{name}}</li>{{/accounts}}
            </ul>
            {{/content}}
            {{/layout}}

            """
        let value: TemplateValue = [
            "productName": "Acme <Prime>", "accounts": [["name": "Fund I"], ["name": "Fund II"]],
        ]
        let rendered = try Template(page, name: "accounts").render(value, partials: ["layout": layout])
        #expect(
            rendered == """
                <html>
                  <title>Accounts · Acme &lt;Prime&gt;</title>
                  <main>
                    <ul>
                      <li>Fund I</li><li>Fund II</li>
                    </ul>
                  </main>
                </html>

                """)
    }

    @Test func anUnclosedParentOrBlockNamesItsLine() {
        for (source, message) in [
            ("{{<layout}}\n{{$a}}x{{/a}}", "the section 'layout' opened on line 1 is never closed"),
            ("{{<layout}}\n{{$a}}x{{/layout}}", "line 2: 'layout' closes the section 'a' opened on line 2"),
            ("{{$}}", "line 1: an empty tag"),
        ] {
            do {
                _ = try Template(source, name: "page")
                Issue.record("\(source) parsed")
            } catch {
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
    }

    @Test func aParentThatIncludesItselfStopsAtADepthInsteadOfOverflowingTheStack() {
        #expect(throws: TemplateError.self) {
            try Template("{{<loop}}{{/loop}}").render([:], partials: ["loop": "x{{<loop}}{{/loop}}"])
        }
    }
}
