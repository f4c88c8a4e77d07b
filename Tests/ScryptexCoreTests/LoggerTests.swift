import ScryptexCore
import Testing

@Suite("Logger")
struct LoggerTests {
    @Test func writesOneJSONObjectPerLine() throws {
        let sink = MemoryLogSink()
        var logger = Logger(label: "test", minimumLevel: .info, sink: sink)
        logger[metadataKey: "tenant"] = "acme"
        logger.info("hello \"world\"\nsecond line", ["request_id": "r-1"])
        #expect(sink.lines.count == 1)
        let line = sink.lines[0]
        #expect(!line.contains("\n"))
        let object = try JSONEncoderFacade.object(line)
        #expect(object["level"] as? String == "info")
        #expect(object["message"] as? String == "hello \"world\"\nsecond line")
        #expect(object["tenant"] as? String == "acme")
        #expect(object["request_id"] as? String == "r-1")
        #expect(object["label"] as? String == "test")
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z"))
        #expect(line.hasPrefix("{\"time\":"))
    }

    @Test func dropsEventsBelowTheMinimumLevel() {
        let sink = MemoryLogSink()
        let logger = Logger(label: "test", minimumLevel: .warning, sink: sink)
        logger.debug("no")
        logger.info("no")
        logger.warning("yes")
        logger.error("yes")
        #expect(sink.lines.count == 2)
    }

    @Test func escapesControlCharacters() throws {
        let sink = MemoryLogSink()
        Logger(label: "t", sink: sink).error("bell\u{07} tab\t nul\u{00}")
        let object = try JSONEncoderFacade.object(sink.lines[0])
        #expect(object["message"] as? String == "bell\u{07} tab\t nul\u{00}")
    }

    @Test func reservedKeysCannotBeOverwrittenByFields() throws {
        let sink = MemoryLogSink()
        Logger(label: "t", sink: sink).info("real", ["message": "fake", "level": "critical"])
        let object = try JSONEncoderFacade.object(sink.lines[0])
        #expect(object["message"] as? String == "real")
        #expect(object["level"] as? String == "info")
    }

    @Test(arguments: LogLevel.allCases)
    func levelNamesRoundTrip(level: LogLevel) {
        #expect(LogLevel(name: level.description.uppercased()) == level)
    }
}
