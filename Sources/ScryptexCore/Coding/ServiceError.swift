/// The one error every business service throws: what kind of failure it is, and a message that
/// names the problem (the field and the rule, the thing not found, the clash).
///
/// The kind is the only classification the HTTP layer needs (it maps each to a status: 400,
/// 401, 403, 404, 409, 500) and the command line needs (a usage error or a failure); which
/// service threw is known from where it was called. One type means a handler that calls three
/// services catches one thing, typed throws (`throws(ServiceError)`) compose without
/// conversions, and no module re-declares the same struct under its own name.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Bad input; the message names the field and the rule.
        case invalidInput
        /// The caller is not who it claims, or claims nothing.
        case unauthenticated
        /// The caller may not do this.
        case forbidden
        case notFound
        /// The request clashes with what is stored (a taken name, a closed period, a replay that differs).
        case conflict
        /// The feature is turned off on this platform.
        case disabled
        /// Stored data could not be read back (a bug or tampering); the message is not for callers.
        case corrupt
        /// A service across the network that this one relies on (a KYC provider) failed or
        /// refused; the message names it and what it answered.
        case upstreamFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The same failure with `prefix` put in front of every field its message names
    /// (`field 'percent'` becomes `field 'revenueShare.percent'`), for input nested in a larger body.
    public func nested(under prefix: String) -> ServiceError {
        let marker = "field '"
        let parts = message.split(separator: marker, omittingEmptySubsequences: false)
        return ServiceError(code, parts.joined(separator: marker + prefix + "."))
    }
}
