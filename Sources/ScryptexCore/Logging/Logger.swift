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
        var line = "{\"time\":\""
        line += Self.timestamp()
        line += "\",\"level\":\""
        line += level.description
        line += "\",\"message\":"
        JSONString.append(message, to: &line)
        line += ",\"label\":"
        JSONString.append(label, to: &line)
        // The access log's lines have fields and no metadata: no merged copy for them.
        let merged = metadata.isEmpty ? fields : fields.isEmpty ? metadata : metadata.merging(fields) { _, new in new }
        for key in merged.keys.sorted() where !Self.reservedKeys.contains(key) {
            line += ","
            JSONString.append(key, to: &line)
            line += ":"
            JSONString.append(merged[key]!, to: &line)
        }
        line += "}"
        return line
    }

    private static let reservedKeys: Set<String> = ["time", "level", "message", "label"]

    /// The current UTC time as ISO 8601 with milliseconds, e.g. `2026-11-25T16:34:38.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let milliseconds = Int(now.tv_nsec) / 1_000_000
        return Self.pad(Int(parts.tm_year) + 1900, 4) + "-" + Self.pad(Int(parts.tm_mon) + 1, 2) + "-"
            + Self.pad(Int(parts.tm_mday), 2) + "T" + Self.pad(Int(parts.tm_hour), 2) + ":"
            + Self.pad(Int(parts.tm_min), 2) + ":" + Self.pad(Int(parts.tm_sec), 2) + "."
            + Self.pad(milliseconds, 3) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
