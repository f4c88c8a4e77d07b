import Foundation
import ScryptexCore

@testable import ScryptexML

/// Datasets whose answers are known, for every model.
enum KnownAnswers {
    /// Two clusters on either side of x + y = 0, at least `margin` from it.
    static func separable(rows: Int, margin: Double = 0.3, seed: UInt64 = 1) -> LabelledData {
        var random = SeededRandom(seed: seed)
        var values: [Double] = []
        var targets: [Double] = []
        while targets.count < rows {
            let x = random.nextUniform() * 4 - 2
            let y = random.nextUniform() * 4 - 2
            let distance = (x + y) / 2.0.squareRoot()
            guard abs(distance) >= margin else { continue }
            values += [x, y]
            targets.append(distance > 0 ? 1 : 0)
        }
        return data(["x", "y"], values, targets)
    }

    /// XOR: class 1 where x and y have the same sign; no line separates it.
    static func xor(rows: Int, seed: UInt64 = 2) -> LabelledData {
        var random = SeededRandom(seed: seed)
        var values: [Double] = []
        var targets: [Double] = []
        while targets.count < rows {
            let x = random.nextUniform() * 2 - 1
            let y = random.nextUniform() * 2 - 1
            guard abs(x) > 0.1, abs(y) > 0.1 else { continue }
            values += [x, y]
            targets.append(x * y > 0 ? 1 : 0)
        }
        return data(["x", "y"], values, targets)
    }

    /// y = 3·x₁ − 2·x₂² + sin(3·x₃) with a little noise.
    static func regression(rows: Int, noise: Double = 0.05, seed: UInt64 = 3) -> LabelledData {
        var random = SeededRandom(seed: seed)
        var values: [Double] = []
        var targets: [Double] = []
        for _ in 0..<rows {
            let x = (0..<3).map { _ in random.nextUniform() * 2 - 1 }
            values += x
            targets.append(3 * x[0] - 2 * x[1] * x[1] + sin(3 * x[2]) + noise * random.nextNormal())
        }
        return data(["x1", "x2", "x3"], values, targets)
    }

    static func data(_ names: [String], _ values: [Double], _ targets: [Double]) -> LabelledData {
        LabelledData(
            features: FeatureMatrix(names: names, values: values), targets: targets,
            times: targets.indices.map(Int64.init))
    }

    static func accuracy(_ predict: (ArraySlice<Double>) -> Double, on data: LabelledData) -> Double {
        let hits = (0..<data.count).filter { (predict(data.features.row($0)) >= 0.5 ? 1.0 : 0.0) == data.targets[$0] }
        return Double(hits.count) / Double(data.count)
    }
}
