import ScryptexCore

/// Time-ordered parts of a dataset: the first rows train, the next validate, the last test.
/// Nothing is shuffled.
public struct SplitSpecification: Sendable, Equatable, Codable {
    public var train: Double
    public var validation: Double?
    public var test: Double
    /// Walk-forward: `folds` expanding windows over the rows before the test part, each trained
    /// on everything before its window and scored on it.
    public var walkForwardFolds: Int?

    public init(train: Double = 0.8, validation: Double? = nil, test: Double = 0.2, walkForwardFolds: Int? = nil) {
        self.train = train
        self.validation = validation
        self.test = test
        self.walkForwardFolds = walkForwardFolds
    }

    public func validated(field: String = "dataset.split") throws -> SplitSpecification {
        for (name, value) in [("train", train), ("validation", validation ?? 0), ("test", test)]
        where !(value >= 0 && value < 1) {
            throw ServiceError(.invalidInput, "field '\(field).\(name)': a fraction from 0 up to (not including) 1")
        }
        guard train > 0, test > 0 else {
            throw ServiceError(.invalidInput, "field '\(field)': train and test both need a share above 0")
        }
        let total = train + (validation ?? 0) + test
        guard abs(total - 1) < 1e-9 else {
            throw ServiceError(.invalidInput, "field '\(field)': train, validation and test add up to \(total), not 1")
        }
        if let folds = walkForwardFolds, !(2...20).contains(folds) {
            throw ServiceError(.invalidInput, "field '\(field).walkForwardFolds': 2 to 20")
        }
        return self
    }

    /// Row ranges: train is the first ⌊n · train⌋ rows, validation the next ⌊n · validation⌋,
    /// test the rest.
    public func ranges(count n: Int) -> (train: Range<Int>, validation: Range<Int>, test: Range<Int>) {
        let trainEnd = Int((Double(n) * train).rounded(.down))
        let validationEnd = trainEnd + Int((Double(n) * (validation ?? 0)).rounded(.down))
        return (0..<trainEnd, trainEnd..<validationEnd, validationEnd..<n)
    }

    /// Walk-forward windows over `0..<end`: fold f of k tests rows [end·(f+1)/(k+1), end·(f+2)/(k+1))
    /// after training on every row before.
    public static func walkForward(end: Int, folds: Int) -> [(train: Range<Int>, test: Range<Int>)] {
        (0..<folds).map { fold in
            let start = end * (fold + 1) / (folds + 1)
            let stop = end * (fold + 2) / (folds + 1)
            return (0..<start, start..<stop)
        }
    }
}
