// libFuzzer entry point for responses read with the server's decoder (the HTTPS client's), built
// by scripts/fuzz-http like the request fuzzer. Every input is fed in pieces whose sizes come
// from its first byte, then the connection ends; the decoder must produce responses within the
// limits or refuse — never crash or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponseDecoder(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let first = input.first else { return 0 }
    let pieceSize = Int(first % 64) + 1
    var limits = HTTPMessageLimits()
    limits.startLineLength = 512
    limits.headerBytes = 2048
    limits.headerCount = 32
    limits.bodyBytes = 4096
    var decoder = HTTPMessageDecoder<HTTPClientResponse>(limits: limits)
    decoder.answeringHead = first & 0x80 != 0
    func check(_ response: HTTPClientResponse) {
        precondition((100...599).contains(response.status), "a status outside 100...599")
        precondition(response.body.count <= 4096, "a body over the limit was accepted")
        precondition(response.headers.count <= 32, "more headers than the limit were accepted")
    }
    var offset = 1
    feeding: while offset < input.count {
        let end = min(input.count, offset + pieceSize)
        decoder.append(input[offset..<end])
        offset = end
        while true {
            do {
                switch try decoder.next() {
                case .needMoreData: continue feeding
                case .expectsContinue: preconditionFailure("a response never waits for 100 Continue")
                case .message(let response): check(response)
                }
            } catch {
                return 0
            }
        }
    }
    if let response = try? decoder.endOfInput() { check(response) }
    return 0
}
