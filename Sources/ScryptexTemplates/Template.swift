/// A Mustache template (the core of the Mustache specification: interpolation, sections,
/// inverted sections, comments, partials with standalone indentation, set delimiters), parsed
/// once and rendered many times. Variables are HTML-escaped unless written `{{{name}}}` or
/// `{{&name}}`.
public struct Template: Sendable {
    public let name: String
    let nodes: [TemplateNode]

    /// Parses `source`.
    /// - Throws: `TemplateError` naming the template, the line and what is wrong (an unclosed
    ///   tag or section, a stray closing tag, a bad delimiter change).
    public init(_ source: String, name: String = "template") throws(TemplateError) {
        self.name = name
        var parser = TemplateParser(source: source, name: name)
        self.nodes = try parser.parse()
    }

    /// Renders the template with `value` as the context; `partials` are templates' sources by
    /// name (`{{> name}}`); a missing partial renders as nothing, as the specification asks.
    public func render(_ value: TemplateValue, partials: [String: String] = [:]) throws(TemplateError) -> String {
        var renderer = TemplateRenderer(partials: partials)
        var output = ""
        try renderer.render(nodes, stack: [value], into: &output)
        return output
    }
}

/// Why a template could not be parsed or rendered.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

indirect enum TemplateNode: Sendable {
    case text(String)
    case variable(name: String, escaped: Bool)
    case section(name: String, nodes: [TemplateNode], inverted: Bool)
    case partial(name: String, indentation: String)
}

/// Scans the source as UTF-8 bytes, tag by tag, handling standalone lines as it goes.
struct TemplateParser {
    let bytes: [UInt8]
    let name: String
    var open: [UInt8] = Array("{{".utf8)
    var close: [UInt8] = Array("}}".utf8)

    init(source: String, name: String) {
        self.bytes = Array(source.utf8)
        self.name = name
    }

    private struct OpenSection {
        var name: String
        var inverted: Bool
        var nodes: [TemplateNode]
        var line: Int
    }

    mutating func parse() throws(TemplateError) -> [TemplateNode] {
        var stack = [OpenSection(name: "", inverted: false, nodes: [], line: 1)]
        var position = 0
        func append(_ node: TemplateNode) { stack[stack.count - 1].nodes.append(node) }
        func appendText(_ range: Range<Int>) {
            if !range.isEmpty { append(.text(String(decoding: bytes[range], as: UTF8.self))) }
        }
        while position < bytes.count {
            guard let tagStart = find(open, from: position) else {
                appendText(position..<bytes.count)
                break
            }
            var contentStart = tagStart + open.count
            let sigil = contentStart < bytes.count ? bytes[contentStart] : 0
            var closing = close
            if sigil == UInt8(ascii: "{") {
                closing = [UInt8(ascii: "}")] + close
            } else if sigil == UInt8(ascii: "=") {
                closing = [UInt8(ascii: "=")] + close
            }
            guard let contentEnd = find(closing, from: contentStart + (sigil == UInt8(ascii: "=") ? 1 : 0)) else {
                throw error("an unclosed tag", at: tagStart)
            }
            let tagEnd = contentEnd + closing.count
            let kind: UInt8? = [UInt8]("#^/!>={&".utf8).contains(sigil) ? sigil : nil
            if kind != nil { contentStart += 1 }
            let content = String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self)
                .trimmingWhitespace()

            // A section, comment, partial or delimiter tag alone on its line takes the line with it.
            var textEnd = tagStart
            var next = tagEnd
            var indentation = ""
            if let kind, kind != UInt8(ascii: "{"), kind != UInt8(ascii: "&"),
                let (lineStart, lineEnd) = standaloneLine(tagStart: tagStart, tagEnd: tagEnd)
            {
                textEnd = lineStart
                next = lineEnd
                indentation = String(decoding: bytes[lineStart..<tagStart], as: UTF8.self)
            }
            appendText(position..<textEnd)
            position = next

            switch kind {
            case UInt8(ascii: "#"), UInt8(ascii: "^"):
                stack.append(
                    OpenSection(name: content, inverted: kind == UInt8(ascii: "^"), nodes: [], line: line(of: tagStart))
                )
            case UInt8(ascii: "/"):
                guard stack.count > 1 else { throw error("a closing tag '\(content)' without a section", at: tagStart) }
                let section = stack.removeLast()
                guard section.name == content else {
                    throw error(
                        "'\(content)' closes the section '\(section.name)' opened on line \(section.line)", at: tagStart
                    )
                }
                append(.section(name: section.name, nodes: section.nodes, inverted: section.inverted))
            case UInt8(ascii: "!"):
                break
            case UInt8(ascii: ">"):
                append(.partial(name: content, indentation: indentation))
            case UInt8(ascii: "="):
                let parts = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count == 2, !parts[0].contains("="), !parts[1].contains("=") else {
                    throw error("a delimiter change needs two delimiters, such as {{=<% %>=}}", at: tagStart)
                }
                open = Array(parts[0].utf8)
                close = Array(parts[1].utf8)
            case UInt8(ascii: "{"), UInt8(ascii: "&"):
                append(.variable(name: content, escaped: false))
            default:
                guard !content.isEmpty else { throw error("an empty tag", at: tagStart) }
                append(.variable(name: content, escaped: true))
            }
        }
        guard stack.count == 1 else {
            let section = stack.last!
            throw TemplateError("\(name): the section '\(section.name)' opened on line \(section.line) is never closed")
        }
        return stack[0].nodes
    }

    /// The line around a tag when nothing but blanks shares it: where the line starts, and
    /// where the next line starts (after its `\n` or `\r\n`, or the end).
    private func standaloneLine(tagStart: Int, tagEnd: Int) -> (Int, Int)? {
        var lineStart = tagStart
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") {
            guard bytes[lineStart - 1] == UInt8(ascii: " ") || bytes[lineStart - 1] == UInt8(ascii: "\t") else {
                return nil
            }
            lineStart -= 1
        }
        var lineEnd = tagEnd
        while lineEnd < bytes.count {
            switch bytes[lineEnd] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                lineEnd += 1
            case UInt8(ascii: "\n"):
                return (lineStart, lineEnd + 1)
            case UInt8(ascii: "\r") where lineEnd + 1 < bytes.count && bytes[lineEnd + 1] == UInt8(ascii: "\n"):
                return (lineStart, lineEnd + 2)
            default:
                return nil
            }
        }
        return (lineStart, lineEnd)
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start <= bytes.count - needle.count else { return nil }
        var index = start
        let first = needle[0]
        while index <= bytes.count - needle.count {
            if bytes[index] == first {
                var matched = true
                for offset in 1..<needle.count where bytes[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }

    private func line(of offset: Int) -> Int {
        1 + bytes[..<offset].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }

    private func error(_ what: String, at offset: Int) -> TemplateError {
        TemplateError("\(name), line \(line(of: offset)): \(what)")
    }
}

struct TemplateRenderer {
    let partials: [String: String]
    private var compiled: [String: [TemplateNode]] = [:]
    private var depth = 0

    init(partials: [String: String]) {
        self.partials = partials
    }

    mutating func render(
        _ nodes: [TemplateNode], stack: [TemplateValue], into output: inout String
    ) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .variable(let name, let escaped):
                let text = Self.lookUp(name, in: stack).text
                output += escaped ? Self.escapeHTML(text) : text
            case .section(let name, let children, let inverted):
                let value = Self.lookUp(name, in: stack)
                if inverted {
                    if !value.isTruthy { try render(children, stack: stack, into: &output) }
                } else if case .list(let items) = value {
                    for item in items { try render(children, stack: stack + [item], into: &output) }
                } else if value.isTruthy {
                    try render(children, stack: stack + [value], into: &output)
                }
            case .partial(let name, let indentation):
                guard let source = partials[name] else { continue }
                let key = indentation + "\u{0}" + name
                if compiled[key] == nil {
                    var parser = TemplateParser(source: Self.indent(source, by: indentation), name: "partial '\(name)'")
                    compiled[key] = try parser.parse()
                }
                depth += 1
                defer { depth -= 1 }
                guard depth < 100 else { throw TemplateError("partial '\(name)' nests more than 100 deep") }
                try render(compiled[key]!, stack: stack, into: &output)
            }
        }
    }

    /// `.` is the current context; `a.b.c` finds `a` up the stack, then `b` and `c` inside it.
    static func lookUp(_ name: String, in stack: [TemplateValue]) -> TemplateValue {
        if name == "." { return stack.last ?? .null }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var value: TemplateValue = .null
        for context in stack.reversed() {
            if case .object(let fields) = context, let found = fields[parts[0]] {
                value = found
                break
            }
        }
        for part in parts.dropFirst() {
            switch value {
            case .object(let fields):
                guard let found = fields[part] else { return .null }
                value = found
            case .list(let items):
                // `list.0`: an element by position, so a template can test whether a list has one.
                guard let index = Int(part), items.indices.contains(index) else { return .null }
                value = items[index]
            default:
                return .null
            }
        }
        return value
    }

    static func escapeHTML(_ text: String) -> String {
        guard text.utf8.contains(where: { [38, 60, 62, 34, 39].contains($0) }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Indents every line of a standalone partial's source that has content after it.
    static func indent(_ source: String, by indentation: String) -> String {
        guard !indentation.isEmpty else { return source }
        var result = indentation
        var characters = source[...]
        while let newline = characters.firstIndex(of: "\n") {
            result += characters[...newline]
            characters = characters[characters.index(after: newline)...]
            if !characters.isEmpty { result += indentation }
        }
        return result + characters
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\n" && $0 != "\r" }) else {
            return ""
        }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" && $0 != "\n" && $0 != "\r" })!
        return String(scalars[first...last])
    }
}
