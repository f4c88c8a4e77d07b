import ScryptexCore

/// How a training run reports progress and learns it was cancelled. Both closures may be called
/// from any thread.
public struct TrainingControl: Sendable {
    public struct Progress: Sendable, Equatable {
        /// 0–1.
        public var fraction: Double
        /// What was just done: "tree 12 of 200", "epoch 5: validation loss 0.6931", …
        public var stage: String
        public var loss: Double?

        public init(fraction: Double, stage: String, loss: Double? = nil) {
            self.fraction = fraction
            self.stage = stage
            self.loss = loss
        }
    }

    public var report: @Sendable (Progress) -> Void
    public var isCancelled: @Sendable () -> Bool

    public init(
        report: @escaping @Sendable (Progress) -> Void = { _ in },
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) {
        self.report = report
        self.isCancelled = isCancelled
    }

    public static let none = TrainingControl()

    /// Throws when the run was cancelled.
    public func checkCancellation() throws {
        if isCancelled() { throw ServiceError(.conflict, "the training was cancelled") }
    }
}

/// The learning task.
public enum LearningTask: String, Sendable, Codable, CaseIterable {
    /// Two classes, 0 and 1; models give the probability of 1.
    case classification
    case regression
}
