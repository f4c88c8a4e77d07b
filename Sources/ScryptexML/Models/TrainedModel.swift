import Foundation
import ScryptexCore

/// The kinds of model the service trains.
public enum ModelType: String, Sendable, Codable, CaseIterable {
    case randomForest = "random_forest"
    case svm
    case lstm
    case ensemble
}

/// A fitted model of any kind.
public indirect enum TrainedModel: Sendable, Codable, Equatable {
    case randomForest(RandomForest)
    case svm(SupportVectorMachine)
    case lstm(LongShortTermMemory)
    case ensemble(Ensemble)

    public var type: ModelType {
        switch self {
        case .randomForest: .randomForest
        case .svm: .svm
        case .lstm: .lstm
        case .ensemble: .ensemble
        }
    }

    /// The probability of class 1 (classification) or the predicted value for every row of
    /// `features`, in time order (an LSTM reads each row with the rows before it).
    public func predictions(for features: FeatureMatrix) -> [Double] {
        switch self {
        case .randomForest(let forest): (0..<features.rowCount).map { forest.predict(features.row($0)) }
        case .svm(let svm): (0..<features.rowCount).map { svm.predict(features.row($0)) }
        case .lstm(let network): network.predictions(for: features)
        case .ensemble(let ensemble): ensemble.predictions(for: features)
        }
    }

    /// The class each row is predicted to be: 1 when the probability is 0.5 or more (an SVM
    /// without Platt scaling: when its decision value is positive).
    public func classes(for features: FeatureMatrix) -> [Double] {
        if case .svm(let svm) = self {
            return (0..<features.rowCount).map { svm.decision(features.row($0)) > 0 ? 1 : 0 }
        }
        return predictions(for: features).map { $0 >= 0.5 ? 1 : 0 }
    }
}
