/// Checks a JSON request body (RFC 8259) before it is decoded, for what Foundation's decoder lets
/// through or words badly: nesting deeper than a limit, a key given twice in one object (which of
/// the two counts differs between parsers), a NUL or other control character in a string (cut
/// short or refused later, by C code or the database), and numbers with more digits than any field
/// holds (Foundation would round them silently).
///
/// A value type with no imports, like the request decoder, so it can be fuzzed on its own.
struct JSONDocumentCheck {
    /// What is wrong with a document, in words for the caller.
    struct Problem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// The most significant digits a number may have: an exact decimal holds 38.
    static let maximumNumberDigits = 38

    let maximumDepth: Int
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// The keys and array indexes leading to the value being read, for messages.
    private var path: [PathComponent] = []

    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// Checks `bytes`; throws the first problem found.
    static func check(_ bytes: [UInt8], maximumDepth: Int) throws(Problem) {
        var check = JSONDocumentCheck(maximumDepth: maximumDepth, bytes: bytes)
        check.skipWhitespace()
        try check.value()
        check.skipWhitespace()
        guard check.index == bytes.count else { throw check.malformed("unexpected text after the document") }
    }

    private init(maximumDepth: Int, bytes: [UInt8]) {
        self.maximumDepth = maximumDepth
        self.bytes = bytes
    }

    private mutating func value() throws(Problem) {
        guard index < bytes.count else { throw malformed("the document ends early") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): _ = try string(collecting: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw malformed("unexpected character")
        }
    }

    private mutating func object() throws(Problem) {
        if try enter(closing: UInt8(ascii: "}")) { return }
        var keys: Set<[UInt8]> = []
        repeat {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw malformed("a key is expected") }
            let key = try string(collecting: true)
            path.append(.key(String(decoding: key, as: UTF8.self)))
            guard keys.insert(key).inserted else {
                throw Problem(description: "the field '\(pathDescription)' appears more than once")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw malformed("':' is expected") }
            index += 1
            skipWhitespace()
            try value()
            path.removeLast()
        } while try next(closing: UInt8(ascii: "}"))
    }

    private mutating func array() throws(Problem) {
        if try enter(closing: UInt8(ascii: "]")) { return }
        var element = 0
        repeat {
            path.append(.index(element))
            try value()
            path.removeLast()
            element += 1
        } while try next(closing: UInt8(ascii: "]"))
    }

    /// Steps into the object or array at `index`; true (and out again) when it is empty.
    private mutating func enter(closing: UInt8) throws(Problem) -> Bool {
        depth += 1
        if depth > maximumDepth {
            throw Problem(description: "the JSON body nests deeper than \(maximumDepth) levels")
        }
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == closing else { return false }
        index += 1
        depth -= 1
        return true
    }

    /// After a member or an element: true when another follows, false once the container closes.
    private mutating func next(closing: UInt8) throws(Problem) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw malformed("the document ends early") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return true
        }
        guard bytes[index] == closing else {
            throw malformed("',' or '\(Character(Unicode.Scalar(closing)))' is expected")
        }
        index += 1
        depth -= 1
        return false
    }

    /// Reads a string from its opening quote; returns its unescaped UTF-8 bytes when `collecting`.
    private mutating func string(collecting: Bool) throws(Problem) -> [UInt8] {
        index += 1
        var text: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                    if collecting { text.append(escaped) }
                case UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    if collecting { text.append(Self.controlCharacter(escaped)) }
                case UInt8(ascii: "u"):
                    let unit = try hexUnit()
                    if unit == 0 { throw nulCharacter() }
                    if collecting { appendEscapedCharacter(unit, to: &text) }
                default:
                    throw malformed("an invalid escape in a string")
                }
            case 0:
                throw nulCharacter()
            case 0x01..<0x20:
                throw malformed("a control character in a string (escape it)")
            default:
                if collecting { text.append(byte) }
                index += 1
            }
        }
        throw malformed("a string is not closed")
    }

    private mutating func hexUnit() throws(Problem) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed("an incomplete \\u escape") }
        var unit: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("an invalid \\u escape")
            }
            unit = unit << 4 | UInt32(digit)
        }
        index += 4
        return unit
    }

    /// Appends one `\u` escape's character, reading the low half of a surrogate pair when present
    /// (a lone half becomes U+FFFD, as decoders do), so that two spellings of one key compare equal.
    private mutating func appendEscapedCharacter(_ unit: UInt32, to text: inout [UInt8]) {
        var scalar = unit
        if (0xD800..<0xDC00).contains(unit), index + 6 <= bytes.count,
            bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        {
            index += 2
            if let low = try? hexUnit(), (0xDC00..<0xE000).contains(low) {
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else {
                index -= 2
                scalar = 0xFFFD
            }
        } else if (0xD800..<0xE000).contains(unit) {
            scalar = 0xFFFD
        }
        switch scalar {
        case 0..<0x80:
            text.append(UInt8(scalar))
        case 0x80..<0x800:
            text.append(UInt8(0xC0 | scalar >> 6))
            text.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            text.append(UInt8(0xE0 | scalar >> 12))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        default:
            text.append(UInt8(0xF0 | scalar >> 18))
            text.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            text.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            text.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private static func controlCharacter(_ escape: UInt8) -> UInt8 {
        switch escape {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        default: 0x09
        }
    }

    /// A number as RFC 8259 spells it: `-? int frac? exp?`, with at most `maximumNumberDigits`
    /// significant digits (leading zeros do not count).
    private mutating func number() throws(Problem) {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        var significant = 0
        var integerDigits = 0
        var leading = true
        func isDigit(_ index: Int) -> Bool {
            index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
        }
        while isDigit(index) {
            if bytes[index] != UInt8(ascii: "0") { leading = false }
            if !leading { significant += 1 }
            integerDigits += 1
            index += 1
        }
        guard integerDigits > 0 else { throw malformed("a number without digits") }
        if integerDigits > 1, bytes[index - integerDigits] == UInt8(ascii: "0") {
            throw malformed("a number with a leading zero")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw malformed("a number without digits after the point") }
            while isDigit(index) {
                if bytes[index] != UInt8(ascii: "0") { leading = false }
                if !leading { significant += 1 }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(index) else { throw malformed("a number without digits in its exponent") }
            while isDigit(index) { index += 1 }
        }
        if significant > Self.maximumNumberDigits {
            throw Problem(
                description:
                    "the field '\(pathDescription)' is a number with more than \(Self.maximumNumberDigits) digits")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Problem) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw malformed("unexpected character") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw malformed("unexpected character")
        }
        index += count
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    private var pathDescription: String {
        var text = ""
        for component in path {
            switch component {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "(body)" : text
    }

    private func nulCharacter() -> Problem {
        Problem(
            description: "the field '\(pathDescription)' contains a NUL character (\\u0000), which no field accepts")
    }

    private func malformed(_ what: String) -> Problem {
        Problem(description: "the request body is not valid JSON: \(what) at byte \(index)")
    }
}
