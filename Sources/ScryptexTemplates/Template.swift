/// A Mustache template (the core of the Mustache specification: interpolation, sections,
/// inverted sections, comments, partials with standalone indentation, set delimiters, and the
/// optional inheritance module: parents `{{<name}}` and blocks `{{$name}}`), parsed once and
/// rendered many times. Variables are HTML-escaped unless written `{{{name}}}` or
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
    /// name (`{{> name}}` and parents, `{{< name}}`); a missing one renders as nothing, as the
    /// specification asks.
    public func render(_ value: TemplateValue, partials: [String: String] = [:]) throws(TemplateError) -> String {
        try render(value, partials: partials, parsed: [:])
    }

    /// Renders with partials already parsed (by name, as used unindented), so a library's
    /// templates are parsed once, when loaded.
    func render(
        _ value: TemplateValue, partials: [String: String], parsed: [String: Template]
    ) throws(TemplateError) -> String {
        var renderer = TemplateRenderer(partials: partials, parsed: parsed)
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
    /// `{{$name}}default{{/name}}`: a place a child may fill. `indentation` is the block's own:
    /// the blanks before its tag when only blanks precede it on its line, or, when the tag stands
    /// alone on its line, the blanks that start the first line of its content.
    case block(TemplateBlock)
    /// `{{<name}}{{$block}}…{{/block}}{{/name}}`: the template `name`, its blocks filled by these.
    case parent(name: String, blocks: [String: TemplateBlock], indentation: String)
}

struct TemplateBlock: Sendable {
    var name: String
    var nodes: [TemplateNode]
    var indentation: String
    /// Whether the opening tag stood alone on its line (the line is gone from the output).
    var standalone: Bool
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

    private enum SectionKind {
        case section, inverted, block, parent
    }

    private struct OpenSection {
        var name: String
        var kind: SectionKind
        var nodes: [TemplateNode]
        var line: Int
        var indentation = ""
        var standalone = false
    }

    /// A line of nothing but blanks and two or more tags, one of them a parent's or a block's
    /// (`{{<parent}}{{$block}}`, `{{/block}}{{/parent}}`, `  {{<parent}}{{/parent}}`): such a
    /// line is standalone as a whole, unless it holds a whole block or section
    /// (`{{$name}}{{/name}}`), whose place on the line matters.
    private struct TagLine {
        var lineStart: Int
        var lineEnd: Int
        var lastTagEnd: Int
    }

    mutating func parse() throws(TemplateError) -> [TemplateNode] {
        var stack = [OpenSection(name: "", kind: .section, nodes: [], line: 1)]
        var position = 0
        var tagLineEnd: (lastTagEnd: Int, lineEnd: Int)?
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
            let kind: UInt8? = [UInt8]("#^/!>={&$<".utf8).contains(sigil) ? sigil : nil
            if kind != nil { contentStart += 1 }
            let content = String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self)
                .trimmingWhitespace()

            // A section, comment, partial or delimiter tag alone on its line takes the line with it.
            var textEnd = tagStart
            var next = tagEnd
            var indentation = ""
            var standalone = false
            if let pending = tagLineEnd {
                // A later tag of a standalone line of tags: the last one takes the line's end.
                standalone = true
                if tagEnd == pending.lastTagEnd {
                    next = pending.lineEnd
                    tagLineEnd = nil
                }
            } else if let kind, kind != UInt8(ascii: "{"), kind != UInt8(ascii: "&"),
                let (lineStart, lineEnd) = standaloneLine(tagStart: tagStart, tagEnd: tagEnd)
            {
                textEnd = lineStart
                next = lineEnd
                indentation = String(decoding: bytes[lineStart..<tagStart], as: UTF8.self)
                standalone = true
            } else if let kind, kind != UInt8(ascii: "{"), kind != UInt8(ascii: "&"),
                let line = tagLine(startingAt: tagStart, openSections: stack.map { ($0.name, $0.kind) })
            {
                textEnd = line.lineStart
                indentation = String(decoding: bytes[line.lineStart..<tagStart], as: UTF8.self)
                standalone = true
                tagLineEnd = (line.lastTagEnd, line.lineEnd)
            } else if kind == UInt8(ascii: "$"), let lineStart = lineStartIfBlank(before: tagStart) {
                indentation = String(decoding: bytes[lineStart..<tagStart], as: UTF8.self)
            }
            appendText(position..<textEnd)
            position = next

            switch kind {
            case UInt8(ascii: "#"), UInt8(ascii: "^"):
                stack.append(
                    OpenSection(
                        name: content, kind: kind == UInt8(ascii: "^") ? .inverted : .section, nodes: [],
                        line: line(of: tagStart)))
            case UInt8(ascii: "$"), UInt8(ascii: "<"):
                guard !content.isEmpty else { throw error("an empty tag", at: tagStart) }
                var section = OpenSection(
                    name: content, kind: kind == UInt8(ascii: "$") ? .block : .parent, nodes: [],
                    line: line(of: tagStart), indentation: indentation, standalone: standalone)
                if section.kind == .block, standalone {
                    // Alone on its line: the block's indentation is its content's.
                    section.indentation = leadingBlanks(from: position)
                }
                stack.append(section)
            case UInt8(ascii: "/"):
                guard stack.count > 1 else { throw error("a closing tag '\(content)' without a section", at: tagStart) }
                let section = stack.removeLast()
                guard section.name == content else {
                    throw error(
                        "'\(content)' closes the section '\(section.name)' opened on line \(section.line)", at: tagStart
                    )
                }
                switch section.kind {
                case .section, .inverted:
                    append(.section(name: section.name, nodes: section.nodes, inverted: section.kind == .inverted))
                case .block:
                    append(
                        .block(
                            TemplateBlock(
                                name: section.name, nodes: section.nodes, indentation: section.indentation,
                                standalone: section.standalone)))
                case .parent:
                    // Only the blocks inside a parent tag mean anything; other text there is ignored.
                    var blocks: [String: TemplateBlock] = [:]
                    for case .block(let block) in section.nodes where blocks[block.name] == nil {
                        blocks[block.name] = block
                    }
                    append(.parent(name: section.name, blocks: blocks, indentation: section.indentation))
                }
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

    /// Where the line of `offset` starts, when only blanks come before `offset` on it.
    private func lineStartIfBlank(before offset: Int) -> Int? {
        var lineStart = offset
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") {
            guard bytes[lineStart - 1] == UInt8(ascii: " ") || bytes[lineStart - 1] == UInt8(ascii: "\t") else {
                return nil
            }
            lineStart -= 1
        }
        return lineStart
    }

    /// The blanks that start the line at `offset`.
    private func leadingBlanks(from offset: Int) -> String {
        var end = offset
        while end < bytes.count, bytes[end] == UInt8(ascii: " ") || bytes[end] == UInt8(ascii: "\t") { end += 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    /// The standalone line of tags that starts with the tag at `tagStart` (see ``TagLine``).
    private func tagLine(startingAt tagStart: Int, openSections: [(String, SectionKind)]) -> TagLine? {
        guard let lineStart = lineStartIfBlank(before: tagStart) else { return nil }
        var sections = openSections.map { (name: $0.0, kind: $0.1, onThisLine: false) }
        var position = tagStart
        var tags = 0
        var inheritance = false
        var lastTagEnd = tagStart
        while true {
            while position < bytes.count, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t")
            {
                position += 1
            }
            if position == bytes.count || bytes[position] == UInt8(ascii: "\n")
                || (bytes[position] == UInt8(ascii: "\r") && position + 1 < bytes.count
                    && bytes[position + 1] == UInt8(ascii: "\n"))
            {
                guard tags >= 2, inheritance else { return nil }
                let lineEnd =
                    position == bytes.count ? position : position + (bytes[position] == UInt8(ascii: "\r") ? 2 : 1)
                return TagLine(lineStart: lineStart, lineEnd: lineEnd, lastTagEnd: lastTagEnd)
            }
            guard position + open.count <= bytes.count, bytes[position..<position + open.count].elementsEqual(open),
                let contentEnd = find(close, from: position + open.count)
            else { return nil }
            let sigilAt = position + open.count
            let sigil = sigilAt < contentEnd ? bytes[sigilAt] : 0
            let name = String(decoding: bytes[(sigilAt + 1)..<max(sigilAt + 1, contentEnd)], as: UTF8.self)
                .trimmingWhitespace()
            switch sigil {
            case UInt8(ascii: "#"): sections.append((name, .section, true))
            case UInt8(ascii: "^"): sections.append((name, .inverted, true))
            case UInt8(ascii: "$"):
                sections.append((name, .block, true))
                inheritance = true
            case UInt8(ascii: "<"):
                sections.append((name, .parent, true))
                inheritance = true
            case UInt8(ascii: "/"):
                guard let last = sections.popLast(), last.name == name else { return nil }
                // A whole block or section on one line keeps the line.
                if last.onThisLine && last.kind != .parent { return nil }
                if last.kind == .block || last.kind == .parent { inheritance = true }
            case UInt8(ascii: "!"), UInt8(ascii: ">"): break
            default: return nil
            }
            tags += 1
            position = contentEnd + close.count
            lastTagEnd = position
        }
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
    /// The blocks filled by the parents being rendered, the outermost's filling first.
    private var overrides: [String: TemplateBlock] = [:]
    /// Re-indentations of the filled blocks being rendered, innermost last: at each line start,
    /// the filling's own indentation is taken off and the place's put on.
    private var reindentations: [(remove: String, add: String)] = []

    init(partials: [String: String], parsed: [String: Template] = [:]) {
        self.partials = partials
        for (name, template) in parsed { compiled["\u{0}" + name] = template.nodes }
    }

    mutating func render(
        _ nodes: [TemplateNode], stack: [TemplateValue], into output: inout String
    ) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let text):
                write(text, into: &output)
            case .variable(let name, let escaped):
                let text = Self.lookUp(name, in: stack).text
                if !reindentations.isEmpty, !text.isEmpty, output.isEmpty || output.utf8.last == 10 {
                    write("", into: &output)
                }
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
                guard let nodes = try template(named: name, indentation: indentation) else { continue }
                try nest("partial '\(name)'") { (renderer) throws(TemplateError) in
                    try renderer.render(nodes, stack: stack, into: &output)
                }
            case .parent(let name, let blocks, let indentation):
                guard let nodes = try template(named: name, indentation: indentation) else { continue }
                // A block filled further out wins over this parent's filling of it.
                let saved = overrides
                overrides = blocks.merging(saved) { _, outer in outer }
                defer { overrides = saved }
                try nest("parent '\(name)'") { (renderer) throws(TemplateError) in
                    try renderer.render(nodes, stack: stack, into: &output)
                }
            case .block(let place):
                guard let filling = overrides[place.name] else {
                    try render(place.nodes, stack: stack, into: &output)
                    continue
                }
                reindentations.append((filling.standalone ? filling.indentation : "", place.indentation))
                defer { reindentations.removeLast() }
                try nest("block '\(place.name)'") { (renderer) throws(TemplateError) in
                    try renderer.render(filling.nodes, stack: stack, into: &output)
                }
            }
        }
    }

    /// Appends template text, re-indenting each line that starts while filled blocks render.
    private func write(_ text: String, into output: inout String) {
        guard !reindentations.isEmpty else {
            output += text
            return
        }
        // Most fillings remove nothing: then every line start gains the same prefix.
        let onlyAdds = reindentations.allSatisfy { $0.remove.isEmpty }
        let prefix = onlyAdds ? reindentations.map(\.add).joined() : ""
        var atLineStart = output.isEmpty || output.utf8.last == 10
        let bytes = text.utf8
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: 10).map { bytes.index(after: $0) } ?? bytes.endIndex
            let line = text[start..<end]
            if atLineStart, bytes[start] != 10 {
                if onlyAdds {
                    output += prefix
                    output += line
                } else {
                    // Innermost first: what an inner re-indentation put on is this line's
                    // indentation for the next one out.
                    var indented = String(line)
                    for (remove, add) in reindentations.reversed() {
                        if indented.hasPrefix(remove) { indented.removeFirst(remove.count) }
                        indented = add + indented
                    }
                    output += indented
                }
            } else {
                output += line
            }
            atLineStart = bytes[bytes.index(before: end)] == 10
            start = end
        }
    }

    /// The parsed template `name` (a partial or parent), indented when it stands alone on an
    /// indented line; nil when there is none.
    private mutating func template(named name: String, indentation: String) throws(TemplateError) -> [TemplateNode]? {
        guard let source = partials[name] else { return nil }
        let key = indentation + "\u{0}" + name
        if let nodes = compiled[key] { return nodes }
        var parser = TemplateParser(source: Self.indent(source, by: indentation), name: "partial '\(name)'")
        let nodes = try parser.parse()
        compiled[key] = nodes
        return nodes
    }

    private mutating func nest(
        _ what: String, _ body: (inout TemplateRenderer) throws(TemplateError) -> Void
    ) throws(TemplateError) {
        depth += 1
        defer { depth -= 1 }
        guard depth < 100 else { throw TemplateError("\(what) nests more than 100 deep") }
        try body(&self)
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
