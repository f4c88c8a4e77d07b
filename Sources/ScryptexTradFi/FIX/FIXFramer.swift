/// Cuts FIX messages out of a byte stream (a TCP or TLS connection): each starts with
/// `8=FIX.4.4␁9=<length>␁` and ends 7 bytes after its body with `10=<checksum>␁`. Bytes that are
/// not a message are skipped up to the next `8=FIX`, and reported.
public struct FIXFramer: Sendable {
    public enum Item: Sendable, Equatable {
        case message(FIXMessage)
        /// A message (or bytes) that could not be read: dropped, with why.
        case garbled(FIXGarbled)
    }

    /// The largest message accepted (a larger BodyLength is garbage).
    public static let maximumBodyLength = 1 << 20

    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Appends bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message or garbled item, nil until more bytes arrive.
    public mutating func next() -> Item? {
        while true {
            guard let begin = find(Self.prefix, from: start) else {
                // Noise so far: reported once a message starts after it, or when it grows long
                // (all but a possible partial prefix at the end is dropped).
                let noise = buffer.count - start
                guard noise > 4_096 else { return nil }
                let keep = buffer.count - (Self.prefix.count - 1)
                start = keep
                return .garbled(FIXGarbled("\(noise - (Self.prefix.count - 1)) bytes that are not a message, skipped"))
            }
            if begin > start {
                let skipped = begin - start
                start = begin
                return .garbled(FIXGarbled("\(skipped) bytes that are not a message, skipped"))
            }
            // 8=FIX.4.4␁9=
            let lengthStart = begin + Self.prefix.count
            guard buffer.count >= lengthStart + 3 else { return nil }
            let beginEnd = buffer[lengthStart...].firstIndex(of: FIXMessage.delimiter)
            guard let beginEnd else {
                if buffer.count - lengthStart > 16 { return skip(from: begin, "BeginString (8) does not end") }
                return nil
            }
            let bodyLengthTag = beginEnd + 1
            guard buffer.count >= bodyLengthTag + 2 else { return nil }
            guard buffer[bodyLengthTag] == UInt8(ascii: "9"), buffer[bodyLengthTag + 1] == UInt8(ascii: "=") else {
                return skip(from: begin, "BodyLength (9) is not the second field")
            }
            var cursor = bodyLengthTag + 2
            var length = 0
            while cursor < buffer.count, buffer[cursor] != FIXMessage.delimiter {
                let digit = buffer[cursor]
                guard (0x30...0x39).contains(digit), cursor - bodyLengthTag < 10 else {
                    return skip(from: begin, "BodyLength (9) is not a number")
                }
                length = length * 10 + Int(digit - 0x30)
                cursor += 1
            }
            guard cursor < buffer.count else { return nil }
            guard length <= Self.maximumBodyLength else {
                return skip(from: begin, "BodyLength (9) \(length) is more than \(Self.maximumBodyLength)")
            }
            let end = cursor + 1 + length + 7
            guard buffer.count >= end else { return nil }
            start = end
            do {
                return .message(try FIXMessage.parse(buffer[begin..<end]))
            } catch {
                // The length may be what is wrong: look for the next message from just after this
                // one's start rather than trusting it.
                if let next = find(Self.prefix, from: begin + 1), next < end { start = next }
                return .garbled(error)
            }
        }
    }

    static let prefix = Array("8=FIX".utf8)

    private mutating func skip(from begin: Int, _ reason: String) -> Item {
        start = find(Self.prefix, from: begin + 1) ?? buffer.count
        return .garbled(FIXGarbled(reason))
    }

    private func find(_ needle: [UInt8], from index: Int) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        var position = index
        while position + needle.count <= buffer.count {
            if buffer[position] == needle[0] && buffer[position..<(position + needle.count)].elementsEqual(needle) {
                return position
            }
            position += 1
        }
        return nil
    }
}
