import Foundation

/// How well a binary classifier did on held-out rows, with class 1 as the positive class.
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    public var rows: Int
    public var accuracy: Double
    /// TP / (TP + FP); 0 when nothing was predicted positive (as scikit-learn reports it).
    public var precision: Double
    /// TP / (TP + FN); 0 when there is no positive row.
    public var recall: Double
    public var f1: Double
    /// The probability that a random positive row scores above a random negative one (ties count
    /// half); nil when one class is absent.
    public var rocAUC: Double?
    /// [[TN, FP], [FN, TP]]: rows are the true class, columns the predicted one.
    public var confusionMatrix: [[Int]]
    /// Log loss of the probabilities (clipped to [10⁻¹⁵, 1 − 10⁻¹⁵]).
    public var logLoss: Double
    /// Predicting the training set's majority class for every row.
    public var baseline: Baseline

    public struct Baseline: Sendable, Equatable, Codable {
        public var rule: String
        public var predictedClass: Int
        public var accuracy: Double
    }

    /// - Parameters:
    ///   - truth: 0 or 1 per row.
    ///   - scores: The probability of class 1 per row.
    ///   - predicted: The class predicted per row (default: 1 where the score is 0.5 or above;
    ///     an SVM predicts by the sign of its decision value).
    ///   - majorityClass: The training set's most frequent class.
    public init(truth: [Double], scores: [Double], predicted: [Double]? = nil, majorityClass: Int) {
        precondition(truth.count == scores.count)
        let predicted = predicted ?? scores.map { $0 >= 0.5 ? 1 : 0 }
        var matrix = [[0, 0], [0, 0]]
        var logLoss = 0.0
        for (index, (label, score)) in zip(truth, scores).enumerated() {
            matrix[label > 0.5 ? 1 : 0][predicted[index] > 0.5 ? 1 : 0] += 1
            let p = min(max(score, 1e-15), 1 - 1e-15)
            logLoss -= label > 0.5 ? log(p) : log(1 - p)
        }
        let n = truth.count
        let truePositive = Double(matrix[1][1])
        let falsePositive = Double(matrix[0][1])
        let falseNegative = Double(matrix[1][0])
        rows = n
        accuracy = n > 0 ? Double(matrix[0][0] + matrix[1][1]) / Double(n) : 0
        precision = truePositive + falsePositive > 0 ? truePositive / (truePositive + falsePositive) : 0
        recall = truePositive + falseNegative > 0 ? truePositive / (truePositive + falseNegative) : 0
        f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        rocAUC = Self.areaUnderROC(truth: truth, scores: scores)
        confusionMatrix = matrix
        self.logLoss = n > 0 ? logLoss / Double(n) : 0
        let baselineHits = truth.filter { Int($0.rounded()) == majorityClass }.count
        baseline = Baseline(
            rule: "the training set's majority class", predictedClass: majorityClass,
            accuracy: n > 0 ? Double(baselineHits) / Double(n) : 0)
    }

    /// The Mann–Whitney statistic over average ranks (ties share their rank).
    static func areaUnderROC(truth: [Double], scores: [Double]) -> Double? {
        let positives = truth.filter { $0 > 0.5 }.count
        let negatives = truth.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for position in start...end where truth[order[position]] > 0.5 { rankSum += averageRank }
            start = end + 1
        }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }
}

/// How well a regression did on held-out rows.
public struct RegressionMetrics: Sendable, Equatable, Codable {
    public var rows: Int
    public var meanSquaredError: Double
    public var meanAbsoluteError: Double
    /// 1 − SS_res / SS_tot around the held-out rows' own mean (scikit-learn's r2_score).
    public var rSquared: Double
    public var baselines: [Baseline]

    public struct Baseline: Sendable, Equatable, Codable {
        public var rule: String
        public var meanSquaredError: Double
        public var meanAbsoluteError: Double
        public var rSquared: Double
    }

    /// - Parameter baselines: Named predictions to compare with (the training mean, the last
    ///   value).
    public init(truth: [Double], predictions: [Double], baselines: [(String, [Double])]) {
        precondition(truth.count == predictions.count)
        rows = truth.count
        (meanSquaredError, meanAbsoluteError, rSquared) = Self.errors(truth, predictions)
        self.baselines = baselines.map { rule, values in
            let (mse, mae, r2) = Self.errors(truth, values)
            return Baseline(rule: rule, meanSquaredError: mse, meanAbsoluteError: mae, rSquared: r2)
        }
    }

    static func errors(_ truth: [Double], _ predictions: [Double]) -> (Double, Double, Double) {
        let n = Double(max(1, truth.count))
        let mean = truth.reduce(0, +) / n
        var squared = 0.0
        var absolute = 0.0
        var total = 0.0
        for (y, f) in zip(truth, predictions) {
            squared += (y - f) * (y - f)
            absolute += abs(y - f)
            total += (y - mean) * (y - mean)
        }
        return (squared / n, absolute / n, total > 0 ? 1 - squared / total : 0)
    }
}
