import CLinux
import Dispatch
import Foundation
import Glibc
import Synchronization

/// Where log lines leave the process: standard error, one complete line at a time.
///
/// By default every line is one `write(2)` under a lock, so a command's messages are out before
/// it exits. A server turns on buffering (`startBuffering`) for its lifetime:
/// - a thread that adopted a buffer (each event loop does) appends lines to it with no lock and no
///   system call, and hands the whole buffer over once per loop iteration (`flushCurrentThread`);
///   a connection's lines are written by its loop's thread, so they stay in order;
/// - other threads append to one shared buffer under a lock;
/// - one writer thread (`scryptex-log`) writes the batches at least every 100 ms;
/// - memory is bounded (4 MiB waiting): when standard error cannot keep up, batches are dropped and
///   counted, and a `log lines dropped` warning with the count is written once it can again —
///   requests never wait for the log.
public final class LogOutput: Sendable {
    public static let standardError = LogOutput(descriptor: 2)

    private let descriptor: Int32
    private let isBuffering = Atomic<Bool>(false)

    private struct Pending {
        var bytes: [UInt8] = []
        var lines = 0
        var droppedLines = 0
        var writer: Thread?
        var stopping = false
    }

    private let pending = Mutex(Pending())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private static let waitingLimit = 4 << 20
    private static let wakeWriterAt = 64 << 10

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Writes one line (without its newline).
    public func write(line: String) {
        write(line.utf8)
    }

    /// Writes one line given as UTF-8 bytes (without its newline).
    public func write(utf8 line: [UInt8]) {
        write(line)
    }

    private func write(_ line: some Collection<UInt8>) {
        guard isBuffering.load(ordering: .relaxed) else {
            var bytes = Array(line)
            bytes.append(UInt8(ascii: "\n"))
            pending.withLock { _ in writeFully(bytes) }
            return
        }
        if let buffer = ThreadLogBuffer.current {
            buffer.bytes.append(contentsOf: line)
            buffer.bytes.append(UInt8(ascii: "\n"))
            buffer.lines += 1
            if buffer.bytes.count >= Self.wakeWriterAt { flushCurrentThread() }
            return
        }
        var bytes = Array(line)
        bytes.append(UInt8(ascii: "\n"))
        enqueue(bytes, lines: 1)
    }

    /// Gives the calling thread a buffer of its own; lines it logs wait there until it calls
    /// `flushCurrentThread` (an event loop does after each iteration).
    public static func adoptThreadBuffer() {
        ThreadLogBuffer.adopt()
    }

    /// Hands the calling thread's buffered lines to the writer (one lock, no system call).
    public func flushCurrentThread() {
        guard let buffer = ThreadLogBuffer.current, !buffer.bytes.isEmpty else { return }
        let bytes = buffer.bytes
        let lines = buffer.lines
        buffer.bytes.removeAll(keepingCapacity: true)
        buffer.lines = 0
        enqueue(bytes, lines: lines)
    }

    private func enqueue(_ bytes: [UInt8], lines: Int) {
        let wakeWriter = pending.withLock { pending -> Bool in
            if pending.bytes.count + bytes.count > Self.waitingLimit {
                pending.droppedLines += lines
                return true
            }
            pending.bytes.append(contentsOf: bytes)
            pending.lines += lines
            return pending.bytes.count >= Self.wakeWriterAt
        }
        if wakeWriter { wake.signal() }
    }

    /// Starts the writer thread (`scryptex-log`); lines are buffered from now on.
    public func startBuffering() {
        let started = pending.withLock { pending -> Bool in
            guard pending.writer == nil else { return false }
            let writer = Thread { [self] in runWriter() }
            writer.name = "scryptex-log"
            pending.writer = writer
            pending.stopping = false
            return true
        }
        guard started else { return }
        pending.withLock { $0.writer }?.start()
        isBuffering.store(true, ordering: .relaxed)
    }

    /// Writes what is waiting and goes back to one write per line.
    public func stopBuffering() {
        guard isBuffering.exchange(false, ordering: .relaxed) else { return }
        flushCurrentThread()
        pending.withLock { $0.stopping = true }
        wake.signal()
        finished.wait()
        pending.withLock { $0.writer = nil }
    }

    private func runWriter() {
        scryptex_name_thread("scryptex-log")
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(100))
            let (bytes, dropped, stopping) = pending.withLock { pending in
                defer {
                    pending.bytes.removeAll(keepingCapacity: true)
                    pending.lines = 0
                    pending.droppedLines = 0
                }
                return (pending.bytes, pending.droppedLines, pending.stopping)
            }
            if !bytes.isEmpty { writeFully(bytes) }
            if dropped > 0 {
                let notice = Logger.encode(
                    level: .warning, message: "log lines dropped", label: "scryptex.log", metadata: [:],
                    fields: ["count": String(dropped), "reason": "standard error did not keep up"])
                writeFully(Array((notice + "\n").utf8))
            }
            if stopping {
                finished.signal()
                return
            }
        }
    }

    /// `write(2)` until everything is out or the descriptor fails.
    private func writeFully(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// A thread's own log buffer, reached through a thread-specific key. Only its thread touches it.
private final class ThreadLogBuffer {
    var bytes: [UInt8] = []
    var lines = 0

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ThreadLogBuffer>.fromOpaque(pointer).release()
        }
        return key
    }()

    static var current: ThreadLogBuffer? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<ThreadLogBuffer>.fromOpaque(raw).takeUnretainedValue()
    }

    static func adopt() {
        guard current == nil else { return }
        let buffer = ThreadLogBuffer()
        buffer.bytes.reserveCapacity(64 << 10)
        pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
    }
}
