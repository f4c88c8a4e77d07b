import Glibc
import Synchronization

/// Where finished log lines go. A sink receives one complete JSON object per call.
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Writes each line to standard error with a single `write(2)` under a lock, so lines from
/// concurrent threads never interleave.
public struct StandardErrorLogSink: LogSink {
    private static let lock = Mutex(())

    public init() {}

    public func write(line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        Self.lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// Keeps lines in memory; for tests that assert on what was logged.
public final class MemoryLogSink: LogSink {
    private let storage = Mutex<[String]>([])

    public init() {}

    public func write(line: String) {
        storage.withLock { $0.append(line) }
    }

    /// Every line written so far, oldest first.
    public var lines: [String] { storage.withLock { $0 } }
}
