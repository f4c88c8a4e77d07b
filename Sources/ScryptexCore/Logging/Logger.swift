import Glibc

/// A structured logger that writes one JSON object per line: `time`, `level`, `message`,
/// `label`, then the metadata fields (such as `request_id` and `tenant`) in key order.
///
/// A `Logger` is a value: adding metadata makes a new logger for a narrower scope.
///
/// ```swift
/// var logger = Logger(label: "scryptex.tenancy", minimumLevel: .info)
/// logger[metadataKey: "tenant"] = "acme"
/// logger.info("tenant provisioned", ["elapsed_ms": "42"])
/// ```
public struct Logger: Sendable {
    public var label: String
    public var minimumLevel: LogLevel
    public var metadata: [String: String]
    private let sink: any LogSink

    public init(
        label: String,
        minimumLevel: LogLevel = .info,
        metadata: [String: String] = [:],
        sink: any LogSink = StandardErrorLogSink()
    ) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.metadata = metadata
        self.sink = sink
    }

    /// Metadata attached to every event this logger writes.
    public subscript(metadataKey key: String) -> String? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A logger for a sub-component, sharing level, metadata and sink.
    public func child(label: String) -> Logger {
        var copy = self
        copy.label = label
        return copy
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= minimumLevel }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        guard isEnabled(level) else { return }
        sink.write(
            line: Self.encode(level: level, message: message(), label: label, metadata: metadata, fields: fields))
    }

    /// Logs fields given in key order, without building a dictionary (the access log's line per
    /// request). The output is the same as `log(_:_:_:)` with these fields.
    public func log(_ level: LogLevel, _ message: String, orderedFields fields: KeyValuePairs<String, String>) {
        guard isEnabled(level) else { return }
        guard metadata.isEmpty, fields.allSatisfy({ !Self.isReserved($0.key) }),
            zip(fields, fields.dropFirst()).allSatisfy({ $0.0.key < $0.1.key })
        else {
            log(level, message, Dictionary(fields.map { ($0.key, $0.value) }) { _, last in last })
            return
        }
        // Built as bytes: no string growth and no UTF-8 re-validation on the way out.
        var line: [UInt8] = []
        line.reserveCapacity(320)
        Self.append(#"{"time":""#, to: &line)
        Self.appendTimestamp(to: &line)
        Self.append(#"","level":""#, to: &line)
        JSONString.appendUnquoted(level.description, toUTF8: &line)
        Self.append(#"","message":"#, to: &line)
        JSONString.append(message, toUTF8: &line)
        Self.append(#","label":"#, to: &line)
        JSONString.append(label, toUTF8: &line)
        for (key, value) in fields {
            line.append(UInt8(ascii: ","))
            JSONString.append(key, toUTF8: &line)
            line.append(UInt8(ascii: ":"))
            JSONString.append(value, toUTF8: &line)
        }
        line.append(UInt8(ascii: "}"))
        sink.write(utf8: line)
    }

    public func trace(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.trace, message(), fields)
    }
    public func debug(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.debug, message(), fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.info, message(), fields)
    }
    public func notice(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.notice, message(), fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.warning, message(), fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.error, message(), fields)
    }
    public func critical(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.critical, message(), fields)
    }

    static func encode(
        level: LogLevel,
        message: String,
        label: String,
        metadata: [String: String],
        fields: [String: String]
    ) -> String {
        var line = head(level: level, message: message, label: label)
        // The access log's lines have fields and no metadata: no merged copy for them.
        let merged = metadata.isEmpty ? fields : fields.isEmpty ? metadata : metadata.merging(fields) { _, new in new }
        for key in merged.keys.sorted() where !Self.isReserved(key) {
            line += ","
            JSONString.append(key, to: &line)
            line += ":"
            JSONString.append(merged[key]!, to: &line)
        }
        line += "}"
        return line
    }

    /// The keys every line starts with; a field by one of these names is left out.
    /// (Compared one by one: cheaper than hashing the key into a set, on every access-log line.)
    private static func isReserved(_ key: String) -> Bool {
        key == "time" || key == "level" || key == "message" || key == "label"
    }

    /// `{"time":…,"level":…,"message":…,"label":…` — a line without its fields and closing brace.
    private static func head(level: LogLevel, message: String, label: String) -> String {
        var line = "{\"time\":\""
        line.reserveCapacity(320)
        line += Self.timestamp()
        line += "\",\"level\":\""
        line += level.description
        line += "\",\"message\":"
        JSONString.append(message, to: &line)
        line += ",\"label\":"
        JSONString.append(label, to: &line)
        return line
    }

    /// The current UTC time as ISO 8601 with milliseconds, e.g. `2026-11-25T16:34:38.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let milliseconds = Int(now.tv_nsec) / 1_000_000
        // The part up to the second is formatted once per second per thread.
        let cache = SecondStamp.current
        if cache.second != now.tv_sec {
            cache.second = now.tv_sec
            cache.text = secondText(now.tv_sec)
        }
        return cache.text + Self.pad(milliseconds, 3) + "Z"
    }

    /// The same as `timestamp()`, appended as bytes.
    static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let milliseconds = Int(now.tv_nsec) / 1_000_000
        let cache = SecondStamp.current
        if cache.second != now.tv_sec {
            cache.second = now.tv_sec
            cache.text = secondText(now.tv_sec)
        }
        JSONString.appendUnquoted(cache.text, toUTF8: &line)
        line.append(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        line.append(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        line.append(UInt8(ascii: "Z"))
    }

    /// A literal's bytes, copied whole.
    private static func append(_ literal: StaticString, to line: inout [UInt8]) {
        literal.withUTF8Buffer { line.append(contentsOf: $0) }
    }

    /// `2026-11-25T16:34:38.` for a count of seconds since the epoch.
    private static func secondText(_ epochSeconds: Int) -> String {
        var seconds = epochSeconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return Self.pad(Int(parts.tm_year) + 1900, 4) + "-" + Self.pad(Int(parts.tm_mon) + 1, 2) + "-"
            + Self.pad(Int(parts.tm_mday), 2) + "T" + Self.pad(Int(parts.tm_hour), 2) + ":"
            + Self.pad(Int(parts.tm_min), 2) + ":" + Self.pad(Int(parts.tm_sec), 2) + "."
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

/// The formatted second of the last log line on this thread (thread-specific: no lock).
private final class SecondStamp {
    var second = -1
    var text = ""

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<SecondStamp>.fromOpaque(pointer).release()
        }
        return key
    }()

    static var current: SecondStamp {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<SecondStamp>.fromOpaque(raw).takeUnretainedValue()
        }
        let stamp = SecondStamp()
        pthread_setspecific(key, Unmanaged.passRetained(stamp).toOpaque())
        return stamp
    }
}
