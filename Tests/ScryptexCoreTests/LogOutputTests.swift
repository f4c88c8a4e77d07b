import Foundation
import Glibc
import Synchronization
import Testing

@testable import ScryptexCore

@Suite("Buffered log output")
struct LogOutputTests {
    /// A pipe whose write end the output writes to; the test reads the other end.
    private static func pipeDescriptors() -> (read: Int32, write: Int32) {
        var descriptors: [Int32] = [0, 0]
        precondition(pipe(&descriptors) == 0)
        return (descriptors[0], descriptors[1])
    }

    private static func readAll(_ descriptor: Int32, until done: (String) -> Bool) -> String {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done(String(decoding: collected, as: UTF8.self)) {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            collected += buffer[0..<count]
        }
        return String(decoding: collected, as: UTF8.self)
    }

    @Test func aThreadsLinesLeaveInOrderInBatches() async throws {
        let (readEnd, writeEnd) = Self.pipeDescriptors()
        defer {
            close(readEnd)
            close(writeEnd)
        }
        let output = LogOutput(descriptor: writeEnd)
        output.startBuffering()
        let thread = Thread {
            LogOutput.adoptThreadBuffer()
            for number in 0..<1000 { output.write(line: "line \(number)") }
            output.flushCurrentThread()
        }
        thread.start()
        let text = Self.readAll(readEnd) { $0.hasSuffix("line 999\n") }
        output.stopBuffering()
        #expect(text.split(separator: "\n") == (0..<1000).map { "line \($0)"[...] })
    }

    @Test func whenTheReaderStallsLinesAreDroppedAndCountedNotWaitedFor() async throws {
        let (readEnd, writeEnd) = Self.pipeDescriptors()
        defer {
            close(readEnd)
            close(writeEnd)
        }
        let output = LogOutput(descriptor: writeEnd)
        output.startBuffering()
        // Nobody reads: the pipe (64 KiB) fills, the writer blocks, and 4 MiB wait at most.
        let line = String(repeating: "x", count: 1000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<20_000 { output.write(line: line) }
        }
        // 20 MB offered; the writer thread holds the blocked write, callers never do.
        #expect(elapsed < .seconds(10))
        // Drops are reported as they happen, possibly over several notices (the first may come
        // while the loop is still offering lines): read until the output stops, then add them up.
        var text = Self.readAll(readEnd) { $0.contains("log lines dropped") && $0.hasSuffix("\n") }
        let stopped = Thread { output.stopBuffering() }
        stopped.start()
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var quietPolls = 0
        while quietPolls < 10 {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                text += String(decoding: buffer[0..<count], as: UTF8.self)
                quietPolls = 0
            } else {
                quietPolls += 1
                usleep(50_000)
            }
        }
        let notices = text.split(separator: "\n").filter { $0.contains("log lines dropped") }
        let counts = notices.compactMap { notice in
            notice.firstRange(of: #""count":""#).map { Int(notice[$0.upperBound...].prefix { $0.isNumber }) ?? 0 }
        }
        #expect(!counts.isEmpty)
        #expect(counts.reduce(0, +) > 10_000, "\(counts)")
    }
}

@Suite("Log lines")
struct LogLineTests {
    @Test func fieldsInKeyOrderWriteTheSameLineAsADictionary() {
        let sink = MemoryLogSink()
        var logger = Logger(label: "scryptex.test", sink: sink)
        logger.log(.info, "request", orderedFields: ["a": "1", "b": "quote \" and \\ and \n", "c": "ünï"])
        logger.info("request", ["c": "ünï", "a": "1", "b": "quote \" and \\ and \n"])
        // Out of order, or with metadata: the same line still (through the dictionary path).
        logger.log(.info, "request", orderedFields: ["c": "ünï", "a": "1", "b": "quote \" and \\ and \n"])
        logger[metadataKey: "tenant"] = "acme"
        logger.log(.info, "request", orderedFields: ["a": "1"])
        let lines = sink.lines.map { String($0.drop { $0 != "," }) }  // without the time
        #expect(lines[0] == lines[1] && lines[1] == lines[2])
        #expect(
            lines[0]
                == #","level":"info","message":"request","label":"scryptex.test","a":"1","b":"quote \" and \\ and \n","c":"ünï"}"#
        )
        #expect(lines[3] == #","level":"info","message":"request","label":"scryptex.test","a":"1","tenant":"acme"}"#)
    }
}
