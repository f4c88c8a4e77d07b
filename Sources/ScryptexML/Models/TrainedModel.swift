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
        predictions(for: features, rows: 0..<features.rowCount)
    }

    /// The same for `rows` only (an LSTM still reads the rows before them).
    public func predictions(for features: FeatureMatrix, rows: Range<Int>) -> [Double] {
        switch self {
        case .randomForest(let forest): rows.map { forest.predict(features.row($0)) }
        case .svm(let svm): rows.map { svm.predict(features.row($0)) }
        case .lstm(let network): network.predictions(for: features, rows: rows)
        case .ensemble(let ensemble): ensemble.predictions(for: features, rows: rows)
        }
    }

    /// The class each of `rows` is predicted to be: 1 when the probability is 0.5 or more (an
    /// SVM: when its decision value is positive, as LIBSVM predicts).
    public func classes(for features: FeatureMatrix, rows: Range<Int>) -> [Double] {
        if case .svm(let svm) = self {
            return rows.map { svm.decision(features.row($0)) > 0 ? 1 : 0 }
        }
        return predictions(for: features, rows: rows).map { $0 >= 0.5 ? 1 : 0 }
    }
}
