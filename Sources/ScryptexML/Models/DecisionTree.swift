import Foundation
import ScryptexCore

/// How a tree measures a node's impurity.
public enum SplitCriterion: String, Sendable, Codable, CaseIterable {
    /// 1 − Σ p_k².
    case gini
    /// −Σ p_k ln p_k.
    case entropy
    /// The variance of the targets (regression).
    case squaredError = "squared_error"
}

/// A fitted CART tree, stored flat: node i splits on `feature[i]` at `threshold[i]` (rows with
/// a value ≤ threshold go left) or, with feature −1, is a leaf whose outputs are
/// `value[i·outputs ..< (i+1)·outputs]` (class probabilities, or the mean target).
public struct DecisionTree: Sendable, Codable, Equatable {
    public var feature: [Int32] = []
    public var threshold: [Double] = []
    public var left: [Int32] = []
    public var right: [Int32] = []
    public var value: [Double] = []
    public var outputs: Int

    public var nodeCount: Int { feature.count }

    init(outputs: Int) {
        self.outputs = outputs
    }

    // A forest has millions of nodes: each array is kept as the Base64 of its values'
    // little-endian bytes (exact, and a third of the size of decimal text).
    enum CodingKeys: String, CodingKey { case feature, threshold, left, right, value, outputs }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outputs = try container.decode(Int.self, forKey: .outputs)
        feature = try PackedArray.integers(container.decode(String.self, forKey: .feature), key: "feature")
        left = try PackedArray.integers(container.decode(String.self, forKey: .left), key: "left")
        right = try PackedArray.integers(container.decode(String.self, forKey: .right), key: "right")
        threshold = try PackedArray.doubles(container.decode(String.self, forKey: .threshold), key: "threshold")
        value = try PackedArray.doubles(container.decode(String.self, forKey: .value), key: "value")
        let count = feature.count
        var consistent = outputs >= 1 && count >= 1 && left.count == count && right.count == count
        consistent = consistent && threshold.count == count && value.count == count * outputs
        if consistent {
            for node in 0..<count {
                let isLeaf = left[node] == -1 && right[node] == -1
                let inRange =
                    Int(left[node]) > node && Int(left[node]) < count && Int(right[node]) > node
                    && Int(right[node]) < count
                if !(isLeaf || inRange) { consistent = false }
            }
        }
        guard consistent else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "an inconsistent tree"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outputs, forKey: .outputs)
        try container.encode(PackedArray.encode(feature), forKey: .feature)
        try container.encode(PackedArray.encode(left), forKey: .left)
        try container.encode(PackedArray.encode(right), forKey: .right)
        try container.encode(PackedArray.encode(threshold), forKey: .threshold)
        try container.encode(PackedArray.encode(value), forKey: .value)
    }

    /// The leaf a row lands in.
    public func leaf(for row: ArraySlice<Double>) -> Int {
        var node = 0
        let base = row.startIndex
        while feature[node] >= 0 {
            node = Int(row[base + Int(feature[node])] <= threshold[node] ? left[node] : right[node])
        }
        return node
    }

    /// The leaf's outputs for a row.
    public func outputs(for row: ArraySlice<Double>) -> ArraySlice<Double> {
        let node = leaf(for: row)
        return value[(node * outputs)..<((node + 1) * outputs)]
    }

    public var depth: Int {
        var deepest = 0
        var stack = [(0, 0)]
        while let (node, level) = stack.popLast() {
            deepest = max(deepest, level)
            if feature[node] >= 0 {
                stack.append((Int(left[node]), level + 1))
                stack.append((Int(right[node]), level + 1))
            }
        }
        return deepest
    }
}

/// Grows one CART tree on weighted rows (a bootstrap sample's counts as weights), the way
/// scikit-learn's best splitter does: at each node, features in random order until
/// `featuresPerSplit` non-constant ones were tried, each node's rows sorted by the feature and
/// every boundary between two distinct values scored; the threshold is the midpoint.
struct TreeGrower {
    let data: [Double]
    let columns: Int
    /// Class index (classification) or target (regression), per row.
    let targets: [Double]
    let classCount: Int
    let criterion: SplitCriterion
    let maximumDepth: Int
    let minimumSamplesSplit: Int
    let minimumSamplesLeaf: Int
    let featuresPerSplit: Int

    var isClassification: Bool { criterion != .squaredError }

    /// - Parameters:
    ///   - rows: The distinct rows in the sample.
    ///   - weights: How often each row was drawn (indexed by row).
    ///   - importances: Adds each split feature's weighted impurity decrease.
    func grow(
        rows initial: [Int32], weights: [Double], random: inout SeededRandom, importances: inout [Double]
    ) -> DecisionTree {
        var tree = DecisionTree(outputs: isClassification ? classCount : 1)
        var rows = initial
        var keys = [Double](repeating: 0, count: rows.count)
        var order = [Int32](repeating: 0, count: rows.count)
        var pairs = [(Double, Int32)](repeating: (0, 0), count: rows.count)
        var features = Array(0..<columns)
        let outputs = tree.outputs
        var leftCounts = [Double](repeating: 0, count: outputs)
        var totals = [Double](repeating: 0, count: outputs)
        // (start, end, depth, parent, isLeft)
        var stack: [(Int, Int, Int, Int, Bool)] = [(0, rows.count, 0, -1, false)]
        while let (start, end, depth, parent, isLeft) = stack.popLast() {
            let node = tree.feature.count
            if parent >= 0 {
                if isLeft { tree.left[parent] = Int32(node) } else { tree.right[parent] = Int32(node) }
            }
            // The node's statistics.
            for k in 0..<outputs { totals[k] = 0 }
            var weight = 0.0
            var sum = 0.0
            var sumOfSquares = 0.0
            for position in start..<end {
                let row = Int(rows[position])
                let w = weights[row]
                weight += w
                if isClassification {
                    totals[Int(targets[row])] += w
                } else {
                    sum += w * targets[row]
                    sumOfSquares += w * targets[row] * targets[row]
                }
            }
            let impurity =
                isClassification
                ? Self.impurity(totals, weight: weight, criterion: criterion)
                : max(0, sumOfSquares / weight - (sum / weight) * (sum / weight))
            tree.feature.append(-1)
            tree.threshold.append(0)
            tree.left.append(-1)
            tree.right.append(-1)
            if isClassification {
                tree.value.append(contentsOf: totals.map { $0 / weight })
            } else {
                tree.value.append(sum / weight)
            }
            let count = end - start
            guard depth < maximumDepth, count >= minimumSamplesSplit, count >= 2 * minimumSamplesLeaf,
                impurity > 1e-12
            else { continue }

            // The best split over features drawn without replacement.
            var bestProxy = -Double.infinity
            var bestFeature = -1
            var bestThreshold = 0.0
            var bestLeftImpurity = 0.0
            var bestRightImpurity = 0.0
            var bestLeftWeight = 0.0
            var tried = 0
            var remaining = columns
            while remaining > 0 && tried < featuresPerSplit {
                let pick = Int(random.next() % UInt64(remaining))
                features.swapAt(pick, remaining - 1)
                let f = features[remaining - 1]
                remaining -= 1
                for position in start..<end {
                    let row = rows[position]
                    pairs[position - start] = (data[Int(row) * columns + f], row)
                }
                pairs[0..<count].sort { $0.0 < $1.0 }
                for position in 0..<count {
                    keys[position] = pairs[position].0
                    order[position] = pairs[position].1
                }
                if keys[count - 1] <= keys[0] { continue }  // constant here: not counted as tried
                tried += 1
                // Scan the boundaries.
                for k in 0..<outputs { leftCounts[k] = 0 }
                var leftWeight = 0.0
                var leftSum = 0.0
                var leftSquares = 0.0
                for position in 0..<(count - 1) {
                    let row = Int(order[position])
                    let w = weights[row]
                    leftWeight += w
                    if isClassification {
                        leftCounts[Int(targets[row])] += w
                    } else {
                        leftSum += w * targets[row]
                        leftSquares += w * targets[row] * targets[row]
                    }
                    let leftSize = position + 1
                    guard keys[position + 1] > keys[position], leftSize >= minimumSamplesLeaf,
                        count - leftSize >= minimumSamplesLeaf
                    else { continue }
                    let rightWeight = weight - leftWeight
                    let proxy: Double
                    switch criterion {
                    case .gini:
                        var l = 0.0
                        var r = 0.0
                        for k in 0..<outputs {
                            l += leftCounts[k] * leftCounts[k]
                            let right = totals[k] - leftCounts[k]
                            r += right * right
                        }
                        proxy = l / leftWeight + r / rightWeight
                    case .entropy:
                        var l = 0.0
                        var r = 0.0
                        for k in 0..<outputs {
                            let a = leftCounts[k]
                            let b = totals[k] - leftCounts[k]
                            if a > 0 { l += a * log(a / leftWeight) }
                            if b > 0 { r += b * log(b / rightWeight) }
                        }
                        proxy = l + r
                    case .squaredError:
                        let rightSum = sum - leftSum
                        proxy = leftSum * leftSum / leftWeight + rightSum * rightSum / rightWeight
                    }
                    if proxy > bestProxy {
                        bestProxy = proxy
                        bestFeature = f
                        var middle = keys[position] / 2 + keys[position + 1] / 2
                        if middle >= keys[position + 1] || !middle.isFinite { middle = keys[position] }
                        bestThreshold = middle
                        bestLeftWeight = leftWeight
                        if isClassification {
                            var rightCounts = totals
                            for k in 0..<outputs { rightCounts[k] -= leftCounts[k] }
                            bestLeftImpurity = Self.impurity(leftCounts, weight: leftWeight, criterion: criterion)
                            bestRightImpurity = Self.impurity(rightCounts, weight: rightWeight, criterion: criterion)
                        } else {
                            let rightSum = sum - leftSum
                            let rightSquares = sumOfSquares - leftSquares
                            bestLeftImpurity = max(
                                0, leftSquares / leftWeight - (leftSum / leftWeight) * (leftSum / leftWeight))
                            bestRightImpurity = max(
                                0, rightSquares / rightWeight - (rightSum / rightWeight) * (rightSum / rightWeight))
                        }
                    }
                }
            }
            guard bestFeature >= 0 else { continue }
            // Partition the node's rows.
            var boundary = start
            for position in start..<end
            where data[Int(rows[position]) * columns + bestFeature] <= bestThreshold {
                rows.swapAt(position, boundary)
                boundary += 1
            }
            guard boundary > start, boundary < end else { continue }
            tree.feature[node] = Int32(bestFeature)
            tree.threshold[node] = bestThreshold
            importances[bestFeature] +=
                weight * impurity - bestLeftWeight * bestLeftImpurity - (weight - bestLeftWeight)
                * bestRightImpurity
            // Right pushed first so the left subtree is numbered first.
            stack.append((boundary, end, depth + 1, node, false))
            stack.append((start, boundary, depth + 1, node, true))
        }
        return tree
    }

    static func impurity(_ counts: [Double], weight: Double, criterion: SplitCriterion) -> Double {
        guard weight > 0 else { return 0 }
        switch criterion {
        case .gini:
            return 1 - counts.reduce(0) { $0 + ($1 / weight) * ($1 / weight) }
        case .entropy:
            return -counts.reduce(0) { $1 > 0 ? $0 + ($1 / weight) * log($1 / weight) : $0 }
        case .squaredError:
            return 0
        }
    }
}
