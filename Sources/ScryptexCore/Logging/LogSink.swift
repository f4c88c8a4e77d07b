import Synchronization

/// Where finished log lines go. A sink receives one complete JSON object per call.
public protocol LogSink: Sendable {
    func write(line: String)
    /// The same, as UTF-8 bytes (a sink that writes bytes takes them without a conversion).
    func write(utf8 line: [UInt8])
}

extension LogSink {
    public func write(utf8 line: [UInt8]) {
        write(line: String(decoding: line, as: UTF8.self))
    }
}

/// Writes each line to standard error through `LogOutput.standardError`: one `write(2)` per line
/// under a lock (lines from concurrent threads never interleave), or buffered per thread and
/// written in batches while a server runs.
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(line: String) {
        LogOutput.standardError.write(line: line)
    }

    public func write(utf8 line: [UInt8]) {
        LogOutput.standardError.write(utf8: line)
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
