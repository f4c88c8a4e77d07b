import ScryptexTestSupport
import Testing

@testable import ScryptexHTTP

@Suite("HTTP/1.1 request decoder")
struct HTTPRequestDecoderTests {
    /// Decodes `text` fed in one piece; returns the requests or the error.
    static func decode(
        _ text: String, limits: HTTPRequestDecoder.Limits = .init()
    ) -> (requests: [HTTPRequest], error: HTTPParseError?) {
        var decoder = HTTPRequestDecoder(limits: limits)
        decoder.append(Array(text.utf8))
        var requests: [HTTPRequest] = []
        do {
            while true {
                switch try decoder.next() {
                case .needMoreData: return (requests, nil)
                case .expectsContinue: continue
                case .message(let request): requests.append(request)
                }
            }
        } catch {
            return (requests, error)
        }
    }

    @Test func simpleGet() throws {
        let (requests, error) = Self.decode(
            "GET /healthz?x=1 HTTP/1.1\r\nHost: acme.localhost:8443\r\nAccept: */*\r\n\r\n")
        #expect(error == nil)
        let request = try #require(requests.first)
        #expect(request.method == .get)
        #expect(request.path == "/healthz")
        #expect(request.query == "x=1")
        #expect(request.hostName == "acme.localhost")
        #expect(request.headers.first("ACCEPT") == "*/*")
        #expect(request.keepAlive)
    }

    @Test func contentLengthBody() throws {
        let (requests, error) = Self.decode("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
        #expect(error == nil)
        #expect(requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "hello")
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let text =
            "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        let (requests, error) = Self.decode(text)
        #expect(error == nil)
        #expect(requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "hello world")
    }

    @Test func pipelinedRequests() {
        let text =
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
        let (requests, error) = Self.decode(text)
        #expect(error == nil)
        #expect(requests.map(\.target) == ["/1", "/2", "/3"])
    }

    @Test func byteAtATimeGivesTheSameRequests() throws {
        let text =
            "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        var decoder = HTTPRequestDecoder()
        var requests: [HTTPRequest] = []
        for byte in text.utf8 {
            decoder.append([byte])
            while case .message(let request) = try decoder.next() { requests.append(request) }
        }
        #expect(requests.map(\.target) == ["/a", "/b"])
        #expect(requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "abc")
    }

    @Test func expectContinueIsAnnouncedOnce() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(Array("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .expectsContinue(let head) = try decoder.next() else {
            Issue.record("expected a 100-continue event")
            return
        }
        #expect(head.target == "/x")
        guard case .needMoreData = try decoder.next() else {
            Issue.record("expected to wait for the body")
            return
        }
        decoder.append(Array("abc".utf8))
        guard case .message(let request) = try decoder.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.body == Array("abc".utf8))
    }

    @Test func http10DefaultsToClose() throws {
        let (requests, _) = Self.decode("GET / HTTP/1.0\r\n\r\n")
        #expect(requests.first?.keepAlive == false)
        let (keep, _) = Self.decode("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(keep.first?.keepAlive == true)
        let (close, _) = Self.decode("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        #expect(close.first?.keepAlive == false)
    }

    // One test per smuggling and framing rule.
    @Test(arguments: [
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "both Content-Length and Transfer-Encoding"
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
            "conflicting Content-Length"
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", 400, "conflicting Content-Length"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "is not a number"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400, "is not a number"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400, "is not a number"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400, "is not a number"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  folded\r\n\r\n", 400, "obsolete line folding"),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400, "contains a byte that is not allowed"),
        ("GET / HTTP/1.1\r\nHost: h\r\nName : x\r\n\r\n", 400, "whitespace before ':'"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "bare CR"),
        ("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400, "bare LF"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", 400, "NUL"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{1}b\r\n\r\n", 400, "control byte"),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
            "final transfer coding must be 'chunked'"
        ),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
            "final transfer coding must be 'chunked'"
        ),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not supported"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, "more than once"),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", 400,
            "final transfer coding"
        ),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "not allowed in an HTTP/1.0"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "not a hexadecimal number"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400, "not followed by CRLF"),
        (
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400,
            "not a hexadecimal number"
        ),
        ("GET / HTTP/1.1\r\n\r\n", 400, "Host header is missing"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"),
        ("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400, "more than one Host"),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1"),
        ("GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400, "protocol version is malformed"),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "request line"),
        ("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method is not a token"),
        ("GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "must be a path"),
        ("GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n", 417, "100-continue"),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "has no ':'"),
    ])
    func refusesAmbiguousRequests(text: String, status: Int, reason: String) {
        let (requests, error) = Self.decode(text)
        #expect(requests.isEmpty)
        #expect(error?.status.code == status, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error?.reason))")
    }

    @Test func limits() {
        var limits = HTTPRequestDecoder.Limits()
        limits.startLineLength = 64
        limits.headerBytes = 128
        limits.headerCount = 3
        limits.bodyBytes = 10
        let longTarget = "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(Self.decode(longTarget, limits: limits).error?.status.code == 414)
        let bigHeaders = "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "b", count: 200) + "\r\n\r\n"
        #expect(Self.decode(bigHeaders, limits: limits).error?.status.code == 431)
        let manyHeaders = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
        #expect(Self.decode(manyHeaders, limits: limits).error?.status.code == 431)
        let bigBody = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"
        #expect(Self.decode(bigBody, limits: limits).error?.status.code == 413)
        let bigChunked =
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n"
        #expect(Self.decode(bigChunked, limits: limits).error?.status.code == 413)
        // An unterminated request line is refused as soon as it passes the limit.
        #expect(Self.decode("GET /" + String(repeating: "a", count: 100), limits: limits).error?.status.code == 414)
    }

    /// Seeded random and mutated inputs: the decoder never crashes, never hangs, and either
    /// asks for more data, yields requests, or refuses with a 4xx/5xx.
    @Test func randomAndMutatedInputsNeverCrash() {
        var generator = SeededGenerator(seed: 0x5C_1257_E7)
        let seeds = [
            "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
        ].map { Array($0.utf8) }
        let alphabet = Array(
            "\r\n :;,0123456789abcdefGETPOSTHTTP/1.1chunkedContent-LengthTransfer-Encoding\u{0}\t".utf8)
        for iteration in 0..<20_000 {
            var bytes = seeds[iteration % seeds.count]
            let mutations = Int(generator.next() % 8) + 1
            for _ in 0..<mutations {
                let position = Int(generator.next() % UInt64(bytes.count + 1))
                switch generator.next() % 4 {
                case 0:
                    if position < bytes.count {
                        bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                    }
                case 1: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: position)
                case 2: if position < bytes.count { bytes.remove(at: position) }
                default: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
                }
            }
            var decoder = HTTPRequestDecoder()
            var offset = 0
            var steps = 0
            outer: while offset < bytes.count {
                let size = Int(generator.next() % 16) + 1
                decoder.append(bytes[offset..<min(bytes.count, offset + size)])
                offset += size
                while steps < 10_000 {
                    steps += 1
                    do {
                        switch try decoder.next() {
                        case .needMoreData: continue outer
                        case .expectsContinue, .message: continue
                        }
                    } catch {
                        #expect(error.status.code >= 400)
                        break outer
                    }
                }
                Issue.record("the decoder looped on input \(bytes)")
                break
            }
        }
    }
}
