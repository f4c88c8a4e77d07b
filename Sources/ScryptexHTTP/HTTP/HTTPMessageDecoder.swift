/// Why a request was refused while parsing; `status` is the answer to send before closing.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPStatus
    public var reason: String

    public init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status.code): \(reason)" }
}

/// Bounds on a message's size.
public struct HTTPMessageLimits: Sendable {
    /// The longest start line (request line or status line); a longer request line gets 414.
    public var startLineLength = 8 * 1024
    /// The most bytes in all header lines together; more gets 431.
    public var headerBytes = 32 * 1024
    public var headerCount = 100
    /// The largest body; a larger one gets 413.
    public var bodyBytes = 1024 * 1024

    public init() {}
}

/// How a message's body is delimited (RFC 9112 §6.3).
public enum HTTPBodyFraming: Sendable {
    case length(Int)
    case chunked
    /// Until the connection closes (a response without length or chunked coding).
    case untilClose
}

/// What the decoder needs from a kind of message: how its start line reads and how its body is
/// delimited. Requests and responses share everything else: the head scan, the field rules,
/// lengths and chunked bodies.
public protocol HTTPDecodableMessage: Sendable {
    /// "request line" or "status line", for errors.
    static var startLineName: String { get }
    /// The answer to a start line over the limit.
    static var startLineTooLong: HTTPStatus { get }
    static func parseStartLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Self
    var headers: HTTPHeaders { get set }
    var body: [UInt8] { get set }
    /// Whether the sender waits for `100 Continue` before its body.
    var expectsContinue: Bool { get }
    /// - Parameter answeringHead: The message answers a `HEAD` request (responses only).
    func framing(limits: HTTPMessageLimits, answeringHead: Bool) throws(HTTPParseError) -> HTTPBodyFraming
}

/// Requests from a connection, as the server reads them.
public typealias HTTPRequestDecoder = HTTPMessageDecoder<HTTPRequest>

/// Turns bytes from a connection into messages (RFC 9112), strictly: requests for the server,
/// responses for the client, with the same code.
///
/// Bytes are appended as they arrive; `next()` returns the next complete message, a request
/// that waits for `100 Continue`, or asks for more data. Everything ambiguous that request
/// smuggling relies on is refused: both `Content-Length` and `Transfer-Encoding`, conflicting or
/// malformed lengths, obs-fold, bare CR or LF, NUL, invalid field-name bytes, whitespace before
/// a colon, a transfer coding other than a final `chunked`. Sizes are bounded.
public struct HTTPMessageDecoder<Message: HTTPDecodableMessage>: Sendable {
    public typealias Limits = HTTPMessageLimits

    public enum Event: Sendable {
        case needMoreData
        /// The head of a request with `Expect: 100-continue` whose body has not arrived:
        /// answer `100 Continue` (or a final status), then keep calling `next()`.
        case expectsContinue(Message)
        case message(Message)
    }

    private enum ChunkState {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers(bytes: Int)
    }

    private enum State {
        case head
        case body(Message, remaining: Int)
        case chunked(Message, ChunkState)
        case untilClose(Message)
    }

    public let limits: Limits
    /// The messages answer `HEAD` requests: their bodies are empty whatever their fields say.
    public var answeringHead = false
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state = State.head
    private var continueAnnounced = false
    /// Where the head scan resumes, and the request line's LF once seen (absolute indices
    /// into `buffer`, so byte-at-a-time input is scanned once, not over and over).
    private var scannedHeadBytes = 0
    private var requestLineEnd: Int?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received and not yet consumed by a request.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether a request has been started but not completed (bytes of it have arrived).
    public var isMidRequest: Bool {
        if case .head = state { return bufferedByteCount > 0 }
        return true
    }

    /// Whether the head of the current request is complete and its body is arriving.
    public var isReadingBody: Bool {
        if case .head = state { return false }
        return true
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            scannedHeadBytes = max(0, scannedHeadBytes - readIndex)
            requestLineEnd = requestLineEnd.map { $0 - readIndex }
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next event from the bytes received so far.
    /// - Throws: `HTTPParseError`; the connection must answer with its status and close.
    public mutating func next() throws(HTTPParseError) -> Event {
        switch state {
        case .head:
            return try decodeHead()
        case .body(var message, let remaining):
            let available = buffer.count - readIndex
            if available < remaining {
                return announceContinue(message)
            }
            message.body.append(contentsOf: buffer[readIndex..<(readIndex + remaining)])
            readIndex += remaining
            return finish(message)
        case .chunked(let message, let chunkState):
            return try decodeChunked(message, chunkState)
        case .untilClose(var message):
            if message.body.count + bufferedByteCount > limits.bodyBytes {
                throw HTTPParseError(.contentTooLarge, "the body exceeds the limit of \(limits.bodyBytes) bytes")
            }
            message.body.append(contentsOf: buffer[readIndex...])
            readIndex = buffer.count
            state = .untilClose(message)
            return .needMoreData
        }
    }

    /// The connection ended: the message whose body runs until then, if one does.
    /// - Throws: `HTTPParseError` when a message was cut short.
    public mutating func endOfInput() throws(HTTPParseError) -> Message? {
        switch state {
        case .untilClose(var message):
            message.body.append(contentsOf: buffer[readIndex...])
            readIndex = buffer.count
            state = .head
            return message
        case .head where bufferedByteCount == 0:
            return nil
        default:
            throw HTTPParseError(.badRequest, "the connection ended in the middle of a message")
        }
    }

    private mutating func finish(_ message: Message) -> Event {
        state = .head
        continueAnnounced = false
        return .message(message)
    }

    private mutating func announceContinue(_ message: Message) -> Event {
        if !continueAnnounced && message.expectsContinue {
            continueAnnounced = true
            return .expectsContinue(message)
        }
        return .needMoreData
    }

    // MARK: Head

    private mutating func decodeHead() throws(HTTPParseError) -> Event {
        // A server ignores empty lines before a request line (RFC 9112 §2.2).
        while buffer.count - readIndex >= 2, buffer[readIndex] == 13, buffer[readIndex + 1] == 10 {
            readIndex += 2
        }
        let start = readIndex
        var index = max(start, scannedHeadBytes)
        if let known = requestLineEnd, known < start { requestLineEnd = nil }
        var end: Int?
        while index < buffer.count {
            let byte = buffer[index]
            if byte == 10 {
                guard index > start, buffer[index - 1] == 13 else {
                    throw HTTPParseError(.badRequest, "a line ends with a bare LF; lines must end with CRLF")
                }
                if requestLineEnd == nil { requestLineEnd = index }
                if index >= start + 3, buffer[index - 2] == 10, buffer[index - 3] == 13 {
                    end = index + 1
                    break
                }
            } else if byte == 13, index + 1 < buffer.count, buffer[index + 1] != 10 {
                throw HTTPParseError(.badRequest, "the message head contains a bare CR")
            } else if byte == 0 {
                throw HTTPParseError(.badRequest, "the message head contains a NUL byte")
            }
            if requestLineEnd == nil, index - start >= limits.startLineLength {
                throw Self.startLineTooLong(limits)
            }
            if index - start >= limits.startLineLength + limits.headerBytes {
                throw HTTPParseError(
                    .requestHeaderFieldsTooLarge, "the header fields exceed \(limits.headerBytes) bytes")
            }
            index += 1
        }
        if requestLineEnd == nil, index - start >= limits.startLineLength {
            throw Self.startLineTooLong(limits)
        }
        guard let end, let requestLineEnd else {
            // Resume scanning where this pass stopped, minus the few bytes a terminator spans
            // (but never back before the request line's end, which is already recorded).
            scannedHeadBytes = max(start, index - 3, (requestLineEnd ?? start - 1) + 1)
            return .needMoreData
        }
        scannedHeadBytes = 0
        self.requestLineEnd = nil
        let headerBytes = end - requestLineEnd
        if headerBytes > limits.headerBytes {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "the header fields exceed \(limits.headerBytes) bytes")
        }
        var message = try Message.parseStartLine(buffer[start..<(requestLineEnd - 1)])
        message.headers = try parseFields(buffer[(requestLineEnd + 1)..<(end - 2)], trailers: false)
        if message.headers.count > limits.headerCount {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "more than \(limits.headerCount) header fields")
        }
        readIndex = end
        switch try message.framing(limits: limits, answeringHead: answeringHead) {
        case .length(0):
            return finish(message)
        case .length(let length):
            state = .body(message, remaining: length)
            return try next()
        case .chunked:
            state = .chunked(message, .size)
            return try next()
        case .untilClose:
            state = .untilClose(message)
            return try next()
        }
    }

    private static func startLineTooLong(_ limits: Limits) -> HTTPParseError {
        HTTPParseError(
            Message.startLineTooLong, "the \(Message.startLineName) is longer than \(limits.startLineLength) bytes")
    }

    private func parseFields(_ block: ArraySlice<UInt8>, trailers: Bool) throws(HTTPParseError) -> HTTPHeaders {
        var headers = HTTPHeaders()
        var lineStart = block.startIndex
        var index = block.startIndex
        while lineStart < block.endIndex {
            while index < block.endIndex, block[index] != 13 { index += 1 }
            try appendField(block[lineStart..<index], to: &headers)
            index += 2
            lineStart = index
        }
        return headers
    }

    private func appendField(_ line: ArraySlice<UInt8>, to headers: inout HTTPHeaders) throws(HTTPParseError) {
        guard let first = line.first else { return }
        if first == 32 || first == 9 {
            throw HTTPParseError(
                .badRequest, "obsolete line folding (a header line starting with whitespace) is not accepted")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError(.badRequest, "a header line has no ':'")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty else { throw HTTPParseError(.badRequest, "a header field has an empty name") }
        guard name.allSatisfy(HTTPGrammar.isTokenByte) else {
            let shown = String(decoding: name.filter { $0 >= 33 && $0 < 127 }, as: UTF8.self)
            throw HTTPParseError(
                .badRequest, "the header name '\(shown)' contains a byte that is not allowed (or whitespace before ':')"
            )
        }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == 32 || byte == 9 { value.removeFirst() }
        while let byte = value.last, byte == 32 || byte == 9 { value.removeLast() }
        guard value.allSatisfy(HTTPGrammar.isFieldValueByte) else {
            throw HTTPParseError(
                .badRequest, "the value of header '\(String(decoding: name, as: UTF8.self))' contains a control byte")
        }
        headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    // MARK: Chunked bodies (RFC 9112 §7.1)

    private mutating func decodeChunked(_ start: Message, _ startState: ChunkState) throws(HTTPParseError) -> Event {
        var request = start
        var chunkState = startState
        while true {
            switch chunkState {
            case .size:
                guard let lineEnd = try findLineEnd(limit: 1024, what: "chunk size line") else {
                    state = .chunked(request, chunkState)
                    return announceContinue(request)
                }
                let line = buffer[readIndex..<(lineEnd - 1)]
                let sizePart = line.prefix { $0 != UInt8(ascii: ";") }
                guard !sizePart.isEmpty, sizePart.count <= 15, sizePart.allSatisfy(HTTPGrammar.isHexByte),
                    let size = Int(String(decoding: sizePart, as: UTF8.self), radix: 16)
                else {
                    throw HTTPParseError(.badRequest, "a chunk size is not a hexadecimal number")
                }
                readIndex = lineEnd + 1
                if request.body.count + size > limits.bodyBytes {
                    throw HTTPParseError(
                        .contentTooLarge, "the chunked body exceeds the limit of \(limits.bodyBytes) bytes")
                }
                chunkState = size == 0 ? .trailers(bytes: 0) : .data(remaining: size)
            case .data(let remaining):
                let available = buffer.count - readIndex
                let take = min(available, remaining)
                request.body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                if take < remaining {
                    state = .chunked(request, .data(remaining: remaining - take))
                    return announceContinue(request)
                }
                chunkState = .dataEnd
            case .dataEnd:
                guard buffer.count - readIndex >= 2 else {
                    state = .chunked(request, chunkState)
                    return .needMoreData
                }
                guard buffer[readIndex] == 13, buffer[readIndex + 1] == 10 else {
                    throw HTTPParseError(.badRequest, "chunk data is not followed by CRLF")
                }
                readIndex += 2
                chunkState = .size
            case .trailers(let bytes):
                guard let lineEnd = try findLineEnd(limit: limits.headerBytes - bytes, what: "trailer section") else {
                    state = .chunked(request, chunkState)
                    return .needMoreData
                }
                let line = buffer[readIndex..<(lineEnd - 1)]
                readIndex = lineEnd + 1
                if line.isEmpty {
                    return finish(request)
                }
                // Trailer fields are checked like header fields, then dropped.
                var trailers = HTTPHeaders()
                try appendField(line, to: &trailers)
                chunkState = .trailers(bytes: bytes + line.count + 2)
            }
        }
    }

    /// The index of the LF ending the line at `readIndex`, nil if it has not arrived.
    private func findLineEnd(limit: Int, what: String) throws(HTTPParseError) -> Int? {
        var index = readIndex
        while index < buffer.count {
            let byte = buffer[index]
            if byte == 10 {
                guard index > readIndex, buffer[index - 1] == 13 else {
                    throw HTTPParseError(.badRequest, "a line in the \(what) ends with a bare LF")
                }
                return index
            }
            if byte == 0 { throw HTTPParseError(.badRequest, "the \(what) contains a NUL byte") }
            if byte == 13, index + 1 < buffer.count, buffer[index + 1] != 10 {
                throw HTTPParseError(.badRequest, "the \(what) contains a bare CR")
            }
            if index - readIndex > limit {
                throw HTTPParseError(.badRequest, "the \(what) is too long")
            }
            index += 1
        }
        return nil
    }
}

// MARK: - Requests

extension HTTPRequest: HTTPDecodableMessage {
    public static let startLineName = "request line"
    public static let startLineTooLong = HTTPStatus.uriTooLong

    public var expectsContinue: Bool { headers.first("expect")?.lowercasedASCII == "100-continue" }

    public static func parseStartLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPRequest {
        // METHOD SP target SP HTTP/x.y — exactly one space between the parts.
        guard let firstSpace = line.firstIndex(of: 32), let secondSpace = line[(firstSpace + 1)...].firstIndex(of: 32),
            firstSpace > line.startIndex, secondSpace > firstSpace + 1
        else {
            throw HTTPParseError(.badRequest, "the request line is not 'METHOD target HTTP/1.1'")
        }
        let method = line[line.startIndex..<firstSpace]
        let target = line[(firstSpace + 1)..<secondSpace]
        let version = line[(secondSpace + 1)...]
        guard method.allSatisfy(HTTPGrammar.isTokenByte) else {
            throw HTTPParseError(.badRequest, "the method is not a token")
        }
        guard version.count == 8, version.starts(with: HTTPGrammar.httpSlash),
            version[version.startIndex + 6] == UInt8(ascii: "."),
            let major = HTTPGrammar.digit(version[version.startIndex + 5]),
            let minor = HTTPGrammar.digit(version[version.startIndex + 7])
        else {
            throw HTTPParseError(.badRequest, "the protocol version is malformed")
        }
        guard major == 1, minor <= 1 else {
            throw HTTPParseError(.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served")
        }
        guard target.allSatisfy(HTTPGrammar.isTargetByte) else {
            throw HTTPParseError(.badRequest, "the request target contains a byte that is not allowed")
        }
        guard target.first == UInt8(ascii: "/") || (target.count == 1 && target.first == UInt8(ascii: "*")) else {
            throw HTTPParseError(.badRequest, "the request target must be a path starting with '/'")
        }
        return HTTPRequest(
            method: Self.knownMethod(method) ?? HTTPMethod(rawValue: String(decoding: method, as: UTF8.self)),
            target: String(decoding: target, as: UTF8.self),
            versionMinor: minor
        )
    }

    private static let knownMethods: [([UInt8], HTTPMethod)] = [
        HTTPMethod.get, .post, .head, .put, .patch, .delete, .options,
    ].map { (Array($0.rawValue.utf8), $0) }

    /// Common methods without building a new string.
    private static func knownMethod(_ bytes: ArraySlice<UInt8>) -> HTTPMethod? {
        for (name, method) in knownMethods where name.elementsEqual(bytes) { return method }
        return nil
    }

    public func framing(limits: HTTPMessageLimits, answeringHead: Bool) throws(HTTPParseError) -> HTTPBodyFraming {
        let request = self
        // Two Host fields are refused in any version: a proxy and this server might pick
        // different ones, and the tenant is chosen by it.
        let hosts = request.headers.count(of: "host")
        if hosts > 1 || (request.versionMinor == 1 && hosts == 0) {
            throw HTTPParseError(
                .badRequest, hosts == 0 ? "the Host header is missing" : "more than one Host header")
        }
        if let expectation = request.headers.first("expect"), expectation.lowercasedASCII != "100-continue" {
            throw HTTPParseError(.expectationFailed, "only 'Expect: 100-continue' is supported")
        }
        // Most requests have neither field: look before collecting values.
        let lengths = request.headers.contains("content-length") ? request.headers["content-length"] : []
        let encodings = request.headers.contains("transfer-encoding") ? request.headers["transfer-encoding"] : []
        if !lengths.isEmpty && !encodings.isEmpty {
            throw HTTPParseError(.badRequest, "both Content-Length and Transfer-Encoding are present")
        }
        if !encodings.isEmpty {
            if request.versionMinor == 0 {
                throw HTTPParseError(.badRequest, "Transfer-Encoding is not allowed in an HTTP/1.0 request")
            }
            let codings = encodings.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingSpaces.lowercasedASCII }
            guard codings.last == "chunked" else {
                throw HTTPParseError(.badRequest, "the final transfer coding must be 'chunked'")
            }
            if codings.dropLast().contains("chunked") {
                throw HTTPParseError(.badRequest, "'chunked' is applied more than once")
            }
            guard codings.count == 1 else {
                throw HTTPParseError(.notImplemented, "transfer codings other than 'chunked' are not supported")
            }
            return .chunked
        }
        guard !lengths.isEmpty else { return .length(0) }
        return .length(try HTTPGrammar.contentLength(lengths, limit: limits.bodyBytes))
    }
}

// MARK: - Responses

/// A response as a client reads it.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension HTTPClientResponse: HTTPDecodableMessage {
    public static let startLineName = "status line"
    public static let startLineTooLong = HTTPStatus.badRequest

    public var expectsContinue: Bool { false }

    /// `HTTP/1.x SP 3DIGIT SP reason` (the reason may be empty).
    public static func parseStartLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPClientResponse {
        let start = line.startIndex
        guard line.count >= 12, line[start..<(start + 5)].elementsEqual(HTTPGrammar.httpSlash),
            HTTPGrammar.digit(line[start + 5]) == 1, line[start + 6] == UInt8(ascii: "."),
            HTTPGrammar.digit(line[start + 7]) != nil, line[start + 8] == 32,
            let hundreds = HTTPGrammar.digit(line[start + 9]), let tens = HTTPGrammar.digit(line[start + 10]),
            let ones = HTTPGrammar.digit(line[start + 11]), (1...5).contains(hundreds),
            line.count == 12 || line[start + 12] == 32,
            line.dropFirst(12).allSatisfy(HTTPGrammar.isFieldValueByte)
        else {
            let shown = String(decoding: line.prefix(80).filter { $0 >= 32 && $0 < 127 }, as: UTF8.self)
            throw HTTPParseError(.badRequest, "the status line '\(shown)' is not 'HTTP/1.1 NNN reason'")
        }
        return HTTPClientResponse(status: hundreds * 100 + tens * 10 + ones)
    }

    /// RFC 9112 §6.3: no body for `HEAD`, 1xx, 204 and 304; then chunked, then Content-Length,
    /// else until the connection closes.
    public func framing(limits: HTTPMessageLimits, answeringHead: Bool) throws(HTTPParseError) -> HTTPBodyFraming {
        if answeringHead || (100..<200).contains(status) || status == 204 || status == 304 { return .length(0) }
        let encodings = headers["transfer-encoding"]
        if !encodings.isEmpty {
            let codings = encodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercasedASCII }
            return codings.last == "chunked" ? .chunked : .untilClose
        }
        let lengths = headers["content-length"]
        return lengths.isEmpty ? .untilClose : .length(try HTTPGrammar.contentLength(lengths, limit: limits.bodyBytes))
    }
}

/// Character classes of RFC 9110 §5.6.
enum HTTPGrammar {
    static let httpSlash = Array("HTTP/".utf8)

    /// The one length all `Content-Length` values (and list items) agree on; 400 for anything
    /// else, 413 over `limit`.
    static func contentLength(_ fields: [String], limit: Int) throws(HTTPParseError) -> Int {
        var length: Int?
        for field in fields {
            for item in field.split(separator: ",", omittingEmptySubsequences: false) {
                let text = item.trimmingSpaces
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ HTTPGrammar.digit($0) != nil }),
                    let value = Int(text)
                else {
                    throw HTTPParseError(.badRequest, "Content-Length '\(field)' is not a number")
                }
                if let length, length != value {
                    throw HTTPParseError(.badRequest, "conflicting Content-Length values")
                }
                length = value
            }
        }
        let value = length ?? 0
        if value > limit {
            throw HTTPParseError(.contentTooLarge, "the body of \(value) bytes exceeds the limit of \(limit)")
        }
        return value
    }
    /// tchar: `!#$%&'*+-.^_`|~`, digits and letters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"),
            UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Visible characters, spaces and tabs, and obs-text; no other control bytes.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 9 || (byte >= 32 && byte != 127)
    }

    /// Bytes allowed in a request target: visible ASCII (percent-encoding covers the rest).
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 32 && byte < 127
    }

    static func isHexByte(_ byte: UInt8) -> Bool {
        digit(byte) != nil || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
