// libFuzzer entry point for the HTTP request parser, built by scripts/fuzz-http with
// `swiftc -sanitize=fuzzer,address` together with the parser's own source files (they import
// nothing). Every input is fed in pieces whose sizes come from its first byte, and the decoder
// must either ask for more data, produce requests, or refuse with an error — never crash, hang
// or produce a request that breaks its own invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let first = input.first else { return 0 }
    let pieceSize = Int(first % 64) + 1
    var limits = HTTPRequestDecoder.Limits()
    limits.startLineLength = 512
    limits.headerBytes = 2048
    limits.headerCount = 32
    limits.bodyBytes = 4096
    var decoder = HTTPRequestDecoder(limits: limits)
    var offset = 1
    var requests = 0
    feeding: while offset < input.count {
        let end = min(input.count, offset + pieceSize)
        decoder.append(input[offset..<end])
        offset = end
        while true {
            do {
                switch try decoder.next() {
                case .needMoreData:
                    continue feeding
                case .expectsContinue:
                    continue
                case .message(let request):
                    requests += 1
                    precondition(request.body.count <= 4096, "a body over the limit was accepted")
                    precondition(request.headers.count <= 32, "more headers than the limit were accepted")
                    precondition(request.target.utf8.count <= 512, "a target over the limit was accepted")
                    precondition(requests <= input.count, "more requests than bytes")
                }
            } catch {
                precondition((400...599).contains(error.status.code), "a refusal without an error status")
                break feeding
            }
        }
    }
    return 0
}
