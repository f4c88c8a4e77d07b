/// Writes responses in HTTP/1.1 wire format.
enum HTTPResponseEncoder {
    /// - Parameters:
    ///   - omitBody: For `HEAD`: headers as for `GET`, no body.
    ///   - close: Announce `Connection: close`.
    ///   - date: The `Date` header value (IMF-fixdate).
    static func encode(
        _ response: HTTPResponse, omitBody: Bool, close: Bool, date: String, extraHeaders: [(String, String)]
    ) -> [UInt8] {
        var head = "HTTP/1.1 \(response.status.code) \(response.status.reason)\r\n"
        var hasLength = false
        for field in response.headers {
            // Framing is the server's job: handlers cannot set their own.
            let name = field.name.lowercasedASCII
            if name == "content-length" || name == "transfer-encoding" || name == "connection" { continue }
            if name == "date" { continue }
            head += field.name + ": " + field.value + "\r\n"
        }
        for (name, value) in extraHeaders {
            head += name + ": " + value + "\r\n"
        }
        head += "Date: " + date + "\r\n"
        let code = response.status.code
        if code >= 200 && code != 204 && code != 304 {
            head += "Content-Length: \(response.body.count)\r\n"
            hasLength = true
        }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if hasLength && !omitBody {
            bytes.append(contentsOf: response.body)
        }
        return bytes
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
        // Civil date from days (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Self.days[((days % 7) + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
