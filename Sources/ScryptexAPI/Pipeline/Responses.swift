public import Foundation
public import ScryptexCore
public import ScryptexHTTP
import ScryptexPostgres

extension HTTPProblem {
    /// A service's error as the caller sees it: its message, except that a failed
    /// authentication never says which part of a credential was wrong and corrupt data is not
    /// described.
    public init(_ error: ServiceError) {
        switch error.code {
        case .invalidInput: self = .badRequest(error.message, type: .invalidField)
        case .unauthenticated:
            self.init(
                .unauthorized, type: .unauthenticated, detail: "the credentials are missing or not valid",
                headers: ["WWW-Authenticate": "Bearer"])
        case .forbidden: self.init(.forbidden, type: .forbidden, detail: error.message)
        case .notFound: self = .notFound(error.message)
        case .conflict: self.init(.conflict, type: .conflict, detail: error.message)
        case .disabled: self.init(.forbidden, type: .featureDisabled, detail: error.message)
        case .corrupt:
            self.init(.internalServerError, type: .internalError, detail: "stored data could not be read")
        case .upstreamFailed: self.init(.badGateway, type: .upstreamFailed, detail: error.message)
        }
    }

    /// What a caller can act on from a database error: an unreachable or overloaded database is
    /// 503 with `Retry-After` (the request may be repeated), a computed number beyond what a
    /// column stores is 400; nil for anything else (a 500, logged with its request id).
    init?(_ error: PostgresError) {
        switch error.code {
        case .connectionFailed, .connectionClosed, .poolTimeout, .poolClosed, .statementTimeout:
            self.init(
                .serviceUnavailable, type: .databaseUnavailable,
                detail: "the database is not answering; retry in a few seconds", headers: ["Retry-After": "5"])
        case .server
        where [
            .deadlockDetected, .serializationFailure, .lockNotAvailable, .queryCanceled, .adminShutdown,
            .readOnlySQLTransaction,
        ].contains(error.sqlState):
            // Transient: the transaction was rolled back (a deadlock with a tenant move's freeze,
            // a statement cancelled, a server shutting down, a standby still being promoted when
            // the load balancer already sends to it), and the same request may succeed.
            self.init(
                .serviceUnavailable, type: .databaseUnavailable,
                detail: "the database could not complete this request now; retry in a few seconds",
                headers: ["Retry-After": "2"])
        case .server where error.sqlState == .numericValueOutOfRange:
            self = .badRequest(
                "a figure computed from this request is beyond what an amount holds (\(DecimalLimits.stored))",
                type: .invalidField)
        default:
            return nil
        }
    }
}

extension HTTPResponse {
    /// `value` as a JSON body with the project's conventions: keys sorted, camelCase, dates in
    /// ISO 8601, identifiers in lower case.
    public static func json(encoding value: some Encodable, status: HTTPStatus = .ok) throws -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: try SortedJSONEncoder().encode(value))
    }

    /// `204 No Content`.
    public static var noContent: HTTPResponse { HTTPResponse(status: .noContent) }
}

/// Query-string parameters, percent-decoded; the first value of each name wins.
public struct QueryParameters {
    private var values: [String: String] = [:]

    public init(_ request: HTTPRequest) {
        for pair in (request.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = PercentEncoding.decode(parts[0].replacingOccurrences(of: "+", with: " ")) else { continue }
            let value =
                parts.count == 2 ? PercentEncoding.decode(parts[1].replacingOccurrences(of: "+", with: " ")) : ""
            if values[name] == nil, let value { values[name] = value }
        }
    }

    /// The value of `name`; nil when absent or empty.
    public subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// A whole number within `range`; 400 naming the parameter otherwise.
    public func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw HTTPProblem.badRequest(
                "query '\(name)': a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A UUID; 400 naming the parameter otherwise.
    public func uuid(_ name: String) throws -> UUID? {
        guard let text = self[name] else { return nil }
        guard let id = UUID(uuidString: text) else {
            throw HTTPProblem.badRequest("query '\(name)': not a UUID", type: .invalidField)
        }
        return id
    }

    /// One of a type's raw values (a status); 400 naming the parameter and listing them otherwise.
    public func value<Value: RawRepresentable & CaseIterable>(_ name: String, as type: Value.Type) throws -> Value?
    where Value.RawValue == String {
        guard let text = self[name] else { return nil }
        guard let value = Value(rawValue: text) else {
            throw HTTPProblem.badRequest(
                "query '\(name)': one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))", type: .invalidField
            )
        }
        return value
    }

    /// An ISO 8601 time such as 2026-01-31T12:00:00Z; 400 naming the parameter otherwise.
    public func date(_ name: String) throws -> Date? {
        guard let text = self[name] else { return nil }
        guard let date = ISO8601DateFormatter().date(from: text) else {
            throw HTTPProblem.badRequest(
                "query '\(name)': not an ISO 8601 time like 2026-01-31T12:00:00Z", type: .invalidField)
        }
        return date
    }
}

/// Identifiers in paths.
extension RequestContext {
    /// The path parameter `name` as a UUID; a malformed one is 404 (saying `notFound`), like an
    /// unknown one.
    public func identifier(_ name: String, notFound: String) throws -> UUID {
        guard let id = UUID(uuidString: try parameter(name)) else { throw HTTPProblem.notFound(notFound) }
        return id
    }
}
