/// What kind of failure a service reports, independent of the service: the one classification
/// the HTTP layer maps to a status (400, 401, 403, 404, 409, 500).
public enum ServiceFailure: Sendable, Equatable {
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
}

/// An error a business service throws: its kind and a message that names the problem.
public protocol ServiceError: Error, CustomStringConvertible {
    var failure: ServiceFailure { get }
    var message: String { get }
}
