import ScryptexCore

/// Where and how to connect to PostgreSQL.
///
/// Made from a URL as in `DATABASE_URL`:
/// - `postgres://user:password@db.example.com:5432/scryptex?sslmode=require`
/// - `postgres:///scryptex?host=/var/run/postgresql` (unix socket folder as a query parameter)
/// - `postgresql://user@%2Fvar%2Frun%2Fpostgresql/scryptex` (unix socket folder, percent-encoded)
public struct PostgresConfiguration: Sendable, Equatable {
    /// A host name, an IP address, or (starting with `/`) the folder holding the server's unix socket.
    public var host: String?
    public var port: Int?
    public var user: String?
    public var password: String?
    public var database: String?
    public var sslMode: String?
    public var applicationName: String
    /// How long one connection attempt may take.
    public var connectTimeoutSeconds: Int
    /// The server-side `statement_timeout` for every statement on the connection (nil: the server's).
    public var statementTimeout: Duration?

    /// The longest the client waits for the server's answer to a statement given no timeout of
    /// its own: the server's `statement_timeout` and 2 s more (the server cancels the statement
    /// itself at its timeout), or a minute. A server that has not answered by then is stalled
    /// (stopped, partitioned away): the connection is closed and the caller gets
    /// `.statementTimeout`, instead of waiting forever. Statements that may run longer pass a
    /// `timeout` of their own, or run in a transaction with a `statementTimeout` of its own.
    public var answerDeadline: Duration { statementTimeout.map { $0 + .seconds(2) } ?? .seconds(60) }

    public init(
        host: String? = nil,
        port: Int? = nil,
        user: String? = nil,
        password: String? = nil,
        database: String? = nil,
        sslMode: String? = nil,
        applicationName: String = "scryptex",
        connectTimeoutSeconds: Int = 10,
        statementTimeout: Duration? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeout = statementTimeout
    }

    /// The query parameters a URL may carry.
    static let acceptedParameters = [
        "host", "port", "sslmode", "application_name", "connect_timeout", "statement_timeout",
    ]

    private static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Parses a `postgres://` or `postgresql://` URL.
    /// - Throws: `PostgresConfigurationError` naming the part of the URL that is wrong.
    public init(url: String) throws(PostgresConfigurationError) {
        self.init()
        let text = url.trimmingWhitespace()
        let remainder: Substring
        if text.hasPrefix("postgres://") {
            remainder = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            remainder = text.dropFirst("postgresql://".count)
        } else {
            throw PostgresConfigurationError("the URL must start with postgres:// or postgresql://")
        }
        var authorityAndPath = remainder
        var queryText: Substring = ""
        if let question = remainder.firstIndex(of: "?") {
            authorityAndPath = remainder[..<question]
            queryText = remainder[remainder.index(after: question)...]
        }
        if authorityAndPath.contains("#") {
            throw PostgresConfigurationError("the URL must not contain a fragment ('#')")
        }
        var authority = authorityAndPath
        if let slash = authorityAndPath.firstIndex(of: "/") {
            authority = authorityAndPath[..<slash]
            let path = authorityAndPath[authorityAndPath.index(after: slash)...]
            if !path.isEmpty {
                guard let name = PercentEncoding.decode(path), !name.contains("/") else {
                    throw PostgresConfigurationError("the database name in the URL path is not valid")
                }
                database = name
            }
        }
        var hostPart = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
            let userText: Substring
            if let colon = userInfo.firstIndex(of: ":") {
                userText = userInfo[..<colon]
                guard let decoded = PercentEncoding.decode(userInfo[userInfo.index(after: colon)...]) else {
                    throw PostgresConfigurationError("the password in the URL has a malformed percent-escape")
                }
                password = decoded
            } else {
                userText = userInfo
            }
            guard let decodedUser = PercentEncoding.decode(userText) else {
                throw PostgresConfigurationError("the user name in the URL has a malformed percent-escape")
            }
            user = decodedUser.isEmpty ? nil : decodedUser
        }
        if !hostPart.isEmpty {
            var hostText = hostPart
            if hostPart.hasPrefix("[") {
                guard let close = hostPart.firstIndex(of: "]") else {
                    throw PostgresConfigurationError("the IPv6 address in the URL is missing its closing ']'")
                }
                hostText = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
                let after = hostPart[hostPart.index(after: close)...]
                if after.hasPrefix(":") {
                    port = try Self.parsePort(after.dropFirst())
                } else if !after.isEmpty {
                    throw PostgresConfigurationError("unexpected text after the IPv6 address in the URL")
                }
            } else if let colon = hostPart.lastIndex(of: ":") {
                hostText = hostPart[..<colon]
                port = try Self.parsePort(hostPart[hostPart.index(after: colon)...])
            }
            guard let decodedHost = PercentEncoding.decode(hostText) else {
                throw PostgresConfigurationError("the host in the URL has a malformed percent-escape")
            }
            if decodedHost.contains(" ") {
                throw PostgresConfigurationError("the host '\(decodedHost)' contains a space")
            }
            host = decodedHost.isEmpty ? nil : decodedHost
        }
        for pair in queryText.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard parts.count == 2, let value = PercentEncoding.decode(parts[1]) else {
                throw PostgresConfigurationError("the URL parameter '\(key)' needs a value")
            }
            switch key {
            case "host": host = value
            case "port": port = try Self.parsePort(Substring(value))
            case "sslmode":
                guard Self.sslModes.contains(value) else {
                    throw PostgresConfigurationError(
                        "sslmode '\(value)' is not one of \(Self.sslModes.joined(separator: ", "))"
                    )
                }
                sslMode = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw PostgresConfigurationError(
                        "connect_timeout '\(value)' must be a whole number of seconds above 0")
                }
                connectTimeoutSeconds = seconds
            case "statement_timeout":
                guard let milliseconds = Int(value), milliseconds >= 0 else {
                    throw PostgresConfigurationError(
                        "statement_timeout '\(value)' must be a whole number of milliseconds")
                }
                statementTimeout = milliseconds == 0 ? nil : .milliseconds(milliseconds)
            default:
                throw PostgresConfigurationError(
                    "unknown URL parameter '\(key)'; accepted: \(Self.acceptedParameters.joined(separator: ", "))"
                )
            }
        }
    }

    /// The URL with the password replaced by `***`, for logs and `scryptex config`.
    public var redactedDescription: String {
        url(revealingPassword: false)
    }

    /// A URL that `psql` and libpq accept for this configuration.
    public func url(revealingPassword: Bool = true) -> String {
        var text = "postgresql://"
        if let user {
            text += PercentEncoding.encode(user)
            if let password {
                text += ":" + (revealingPassword ? PercentEncoding.encode(password) : "***")
            }
            text += "@"
        }
        var parameters: [String] = []
        if let host, host.hasPrefix("/") {
            parameters.append("host=" + PercentEncoding.encode(host))
            if let port { parameters.append("port=\(port)") }
        } else if let host {
            text += host.contains(":") ? "[\(host)]" : host
            if let port { text += ":\(port)" }
        }
        text += "/" + PercentEncoding.encode(database ?? "")
        if let sslMode { parameters.append("sslmode=\(sslMode)") }
        return parameters.isEmpty ? text : text + "?" + parameters.joined(separator: "&")
    }

    /// The keyword/value pairs handed to `PQconnectdbParams`; values are never spliced into a
    /// connection string.
    var libpqParameters: [(String, String)] {
        var pairs: [(String, String)] = []
        if let host { pairs.append(("host", host)) }
        if let port { pairs.append(("port", String(port))) }
        if let user { pairs.append(("user", user)) }
        if let password { pairs.append(("password", password)) }
        if let database { pairs.append(("dbname", database)) }
        if let sslMode { pairs.append(("sslmode", sslMode)) }
        pairs.append(("application_name", applicationName))
        pairs.append(("connect_timeout", String(connectTimeoutSeconds)))
        // ISO dates and UTC make the text forms of timestamps unambiguous for decoding.
        var options = "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3"
        if let statementTimeout {
            options += " -c statement_timeout=\(statementTimeout.wholeMilliseconds)"
        }
        pairs.append(("options", options))
        pairs.append(("client_encoding", "UTF8"))
        return pairs
    }

    private static func parsePort(_ text: Substring) throws(PostgresConfigurationError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw PostgresConfigurationError("the port '\(text)' is not a number from 1 to 65535")
        }
        return port
    }
}

/// A database URL or connection setting that cannot be used; the message names the problem.
public struct PostgresConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
