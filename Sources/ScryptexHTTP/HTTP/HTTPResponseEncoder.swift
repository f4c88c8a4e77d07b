import ScryptexCore

/// Writes responses in HTTP/1.1 wire format.
enum HTTPResponseEncoder {
    /// - Parameters:
    ///   - omitBody: For `HEAD`: headers as for `GET`, no body.
    ///   - close: Announce `Connection: close`.
    ///   - date: The `Date` header value (IMF-fixdate).
    ///   - requestID: Sent as `X-Request-Id` unless the response has its own.
    static func encode(
        _ response: HTTPResponse, omitBody: Bool, close: Bool, date: String, requestID: String? = nil,
        extraHeaders: [(String, String)]
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        encode(
            response, into: &bytes, omitBody: omitBody, close: close, date: date, requestID: requestID,
            extraHeaders: extraHeaders)
        return bytes
    }

    /// Appends the response to `bytes` (a connection reuses one output buffer).
    static func encode(
        _ response: HTTPResponse, into bytes: inout [UInt8], omitBody: Bool, close: Bool, date: String,
        requestID: String? = nil, extraHeaders: [(String, String)]
    ) {
        bytes.reserveCapacity(bytes.count + 256 + (omitBody ? 0 : response.body.count))
        func append(_ text: String) { bytes.append(contentsOf: text.utf8) }
        func appendField(_ name: String, _ value: String) {
            append(name)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(UInt8(ascii: " "))
            append(value)
            bytes.append(13)
            bytes.append(10)
        }
        append("HTTP/1.1 ")
        append(String(response.status.code))
        bytes.append(UInt8(ascii: " "))
        append(response.status.reason)
        bytes.append(13)
        bytes.append(10)
        for field in response.headers {
            // Framing and the date are the server's job: handlers cannot set their own.
            if field.name.equalsIgnoringASCIICase("content-length")
                || field.name.equalsIgnoringASCIICase("transfer-encoding")
                || field.name.equalsIgnoringASCIICase("connection") || field.name.equalsIgnoringASCIICase("date")
            {
                continue
            }
            appendField(field.name, field.value)
        }
        if let requestID, !response.headers.contains("X-Request-Id") { appendField("X-Request-Id", requestID) }
        for (name, value) in extraHeaders { appendField(name, value) }
        appendField("Date", date)
        let code = response.status.code
        let hasLength = code >= 200 && code != 204 && code != 304
        let streamed = response.bodyProducer != nil
        if hasLength {
            if streamed {
                appendField("Transfer-Encoding", "chunked")
            } else {
                appendField("Content-Length", String(response.body.count))
            }
        }
        if close { appendField("Connection", "close") }
        bytes.append(13)
        bytes.append(10)
        if hasLength && !omitBody && !streamed {
            bytes.append(contentsOf: response.body)
        }
    }

    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}

/// The `Date` header value for the current second (RFC 9110 §5.6.7 IMF-fixdate).
enum HTTPDate {
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(secondsSinceEpoch seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: days)
        let weekday = Self.days[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
