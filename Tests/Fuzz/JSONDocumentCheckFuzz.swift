// libFuzzer entry point for the JSON body check, built by scripts/fuzz-http with
// `swiftc -sanitize=fuzzer,address` together with JSONDocumentCheck.swift (it imports nothing).
// Any input must be accepted or refused with a description — never crash or hang — and what is
// accepted holds no NUL character and no key twice in one object at the top level.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONDocumentCheck(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    do {
        try JSONDocumentCheck.check(input, maximumDepth: 16)
        precondition(!input.contains(0), "a raw NUL was accepted")
    } catch {
        precondition(!error.description.isEmpty, "a refusal without a reason")
    }
    return 0
}
