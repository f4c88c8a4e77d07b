import ScryptexCore

/// Rows of numeric features, stored row after row.
public struct FeatureMatrix: Sendable, Equatable, Codable {
    public private(set) var names: [String]
    public private(set) var values: [Double]
    public private(set) var rowCount: Int
    public var columnCount: Int { names.count }

    /// - Parameter values: `rowCount · names.count` values, row after row.
    public init(names: [String], values: [Double]) {
        precondition(!names.isEmpty && values.count % names.count == 0, "values do not fill whole rows")
        self.names = names
        self.values = values
        rowCount = values.count / names.count
    }

    public init(names: [String], rows: [[Double]]) {
        self.init(names: names, values: rows.flatMap { $0 })
    }

    public subscript(row: Int, column: Int) -> Double { values[row * names.count + column] }

    public func row(_ index: Int) -> ArraySlice<Double> {
        values[(index * names.count)..<((index + 1) * names.count)]
    }

    public func column(_ index: Int) -> [Double] {
        (0..<rowCount).map { values[$0 * names.count + index] }
    }

    public func selecting(rows indices: some Sequence<Int>) -> FeatureMatrix {
        var selected: [Double] = []
        for index in indices { selected.append(contentsOf: row(index)) }
        return FeatureMatrix(names: names, values: selected)
    }

    /// The first value that is NaN or infinite, as (row, column).
    public func firstNonFinite() -> (row: Int, column: Int)? {
        guard let index = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        return (index / names.count, index % names.count)
    }
}

/// Features with a target for each row, in time order.
public struct LabelledData: Sendable, Equatable {
    public var features: FeatureMatrix
    public var targets: [Double]
    /// Each row's time (seconds since 1970) for market data; the row number for uploaded data.
    public var times: [Int64]
    /// The column holding the latest value of what the target predicts (the last return for a
    /// next-return target): the "last value" baseline.
    public var persistenceColumn: Int?

    public init(features: FeatureMatrix, targets: [Double], times: [Int64], persistenceColumn: Int? = nil) {
        precondition(features.rowCount == targets.count && targets.count == times.count)
        self.features = features
        self.targets = targets
        self.times = times
        self.persistenceColumn = persistenceColumn
    }

    public var count: Int { targets.count }

    public func rows(_ range: Range<Int>) -> LabelledData {
        LabelledData(
            features: features.selecting(rows: range), targets: Array(targets[range]), times: Array(times[range]),
            persistenceColumn: persistenceColumn)
    }
}

/// Each feature moved to mean 0 and (population) standard deviation 1 on the training rows; a
/// constant feature is only centred.
public struct Standardizer: Sendable, Equatable, Codable {
    public var means: [Double]
    public var deviations: [Double]

    public init(fitting matrix: FeatureMatrix) {
        let columns = matrix.columnCount
        var means = [Double](repeating: 0, count: columns)
        var deviations = [Double](repeating: 0, count: columns)
        let n = Double(max(1, matrix.rowCount))
        for row in 0..<matrix.rowCount {
            for column in 0..<columns { means[column] += matrix[row, column] }
        }
        for column in 0..<columns { means[column] /= n }
        for row in 0..<matrix.rowCount {
            for column in 0..<columns {
                let d = matrix[row, column] - means[column]
                deviations[column] += d * d
            }
        }
        self.means = means
        self.deviations = deviations.map {
            let s = ($0 / n).squareRoot(); return s > 0 ? s : 1
        }
    }

    public func apply(_ matrix: FeatureMatrix) -> FeatureMatrix {
        let columns = matrix.columnCount
        var values = matrix.values
        for index in values.indices {
            let column = index % columns
            values[index] = (values[index] - means[column]) / deviations[column]
        }
        return FeatureMatrix(names: matrix.names, values: values)
    }

    public func apply(_ row: ArraySlice<Double>) -> [Double] {
        row.enumerated().map { ($0.element - means[$0.offset]) / deviations[$0.offset] }
    }
}
