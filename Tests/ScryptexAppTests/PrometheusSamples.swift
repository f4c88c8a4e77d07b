import Foundation
import Testing

@testable import ScryptexApp

/// A strict reader of Prometheus' text format (0.0.4) for tests: every line must be a `# HELP`,
/// a `# TYPE` (counter or gauge) before its family's samples, or a sample
/// `name{label="value",…} number`.
struct PrometheusSamples {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    private(set) var samples: [Sample] = []

    init(parsing text: String) throws {
        struct Malformed: Error, CustomStringConvertible {
            var line: String
            var description: String { "not Prometheus text format: \(line)" }
        }
        let sample = try NSRegularExpression(
            pattern:
                #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$"#
        )
        let label = try NSRegularExpression(pattern: #"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#)
        var typed = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.isEmpty { continue }
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram"].contains(parts[3]) else {
                    throw Malformed(line: line)
                }
                typed.insert(String(parts[2]))
                if parts[3] == "histogram" {
                    for suffix in ["_bucket", "_sum", "_count"] { typed.insert(String(parts[2]) + suffix) }
                }
                continue
            }
            let range = NSRange(line.startIndex..., in: line)
            guard let match = sample.firstMatch(in: line, range: range),
                let name = Range(match.range(at: 1), in: line).map({ String(line[$0]) }), typed.contains(name),
                let value = Range(match.range(at: 4), in: line).flatMap({ Double(line[$0]) })
            else { throw Malformed(line: line) }
            var labels: [String: String] = [:]
            if let inner = Range(match.range(at: 3), in: line).map({ String(line[$0]) }) {
                for pair in label.matches(in: inner, range: NSRange(inner.startIndex..., in: inner)) {
                    labels[String(inner[Range(pair.range(at: 1), in: inner)!])] = String(
                        inner[Range(pair.range(at: 2), in: inner)!])
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    func first(_ name: String) -> Sample? {
        samples.first { $0.name == name }
    }
}

@Suite("Prometheus text format")
struct PrometheusTextTests {
    @Test func labelValuesAndHelpAreEscapedAndNumbersPlain() throws {
        var text = PrometheusText()
        text.family(
            "demo_total", .counter, help: "A line\nwith a \\ backslash.",
            [([("path", "a\"b\\c\nd")], 3), ([], 0.25), ([("x", "y")], .infinity)])
        #expect(
            text.output == """
                # HELP demo_total A line\\nwith a \\\\ backslash.
                # TYPE demo_total counter
                demo_total{path="a\\"b\\\\c\\nd"} 3
                demo_total 0.25
                demo_total{x="y"} +Inf

                """)
        let parsed = try PrometheusSamples(parsing: text.output)
        #expect(parsed.value("demo_total", ["path": #"a\"b\\c\nd"#]) == 3)
        #expect(parsed.value("demo_total", [:]) == 0.25)
        #expect(throws: (any Error).self) { try PrometheusSamples(parsing: "no_type_line 1\n") }

        var histogram = PrometheusText()
        histogram.histogram(
            "wait_seconds", help: "Waits.",
            [([("listener", "https")], .init(upperBounds: [0.1, 1], cumulativeCounts: [2, 5, 6], sumSeconds: 3.5))])
        #expect(
            histogram.output == """
                # HELP wait_seconds Waits.
                # TYPE wait_seconds histogram
                wait_seconds_bucket{listener="https",le="0.1"} 2
                wait_seconds_bucket{listener="https",le="1"} 5
                wait_seconds_bucket{listener="https",le="+Inf"} 6
                wait_seconds_sum{listener="https"} 3.5
                wait_seconds_count{listener="https"} 6

                """)
        #expect(
            try PrometheusSamples(parsing: histogram.output).value("wait_seconds_count", ["listener": "https"]) == 6)
    }
}
