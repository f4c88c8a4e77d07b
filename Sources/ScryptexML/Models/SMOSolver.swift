import Foundation

/// A kernel over the rows of a data matrix.
public enum Kernel: Sendable, Equatable, Codable {
    /// xᵀz.
    case linear
    /// exp(−γ‖x − z‖²).
    case radialBasis(gamma: Double)

    func value(_ data: [Double], _ i: Int, _ row: ArraySlice<Double>, columns: Int) -> Double {
        var total = 0.0
        let base = i * columns
        var position = row.startIndex
        switch self {
        case .linear:
            for k in 0..<columns {
                total += data[base + k] * row[position]
                position += 1
            }
            return total
        case .radialBasis(let gamma):
            for k in 0..<columns {
                let d = data[base + k] - row[position]
                total += d * d
                position += 1
            }
            return exp(-gamma * total)
        }
    }
}

/// Kernel rows K(x_i, ·) over all data rows, computed on demand and kept in a least-recently-used
/// cache of bounded size (single precision, as LIBSVM keeps them).
struct KernelCache {
    let data: [Double]
    let rows: Int
    let columns: Int
    let kernel: Kernel
    let capacity: Int
    var cached: [[Float]?]
    /// A doubly linked list of cached rows, most recently used at the head.
    var previous: [Int]
    var next: [Int]
    var head = -1
    var tail = -1
    var count = 0
    var diagonal: [Double]

    init(data: [Double], rows: Int, columns: Int, kernel: Kernel, megabytes: Int) {
        self.data = data
        self.rows = rows
        self.columns = columns
        self.kernel = kernel
        capacity = max(2, megabytes * 1_048_576 / max(1, rows * MemoryLayout<Float>.size))
        cached = Array(repeating: nil, count: rows)
        previous = Array(repeating: -1, count: rows)
        next = Array(repeating: -1, count: rows)
        diagonal = (0..<rows).map { i in
            kernel.value(data, i, data[(i * columns)..<((i + 1) * columns)], columns: columns)
        }
    }

    mutating func row(_ i: Int) -> [Float] {
        if let row = cached[i] {
            unlink(i)
            pushFront(i)
            return row
        }
        if count >= capacity, tail >= 0 {
            let evicted = tail
            unlink(evicted)
            cached[evicted] = nil
            count -= 1
        }
        var row = [Float](repeating: 0, count: rows)
        let x = Array(data[(i * columns)..<((i + 1) * columns)])
        switch kernel {
        case .linear:
            for j in 0..<rows {
                var total = 0.0
                let base = j * columns
                for k in 0..<columns { total += data[base + k] * x[k] }
                row[j] = Float(total)
            }
        case .radialBasis(let gamma):
            for j in 0..<rows {
                var total = 0.0
                let base = j * columns
                for k in 0..<columns {
                    let difference = data[base + k] - x[k]
                    total += difference * difference
                }
                // In single precision, the precision the row is kept in.
                row[j] = expf(Float(-gamma * total))
            }
        }
        cached[i] = row
        pushFront(i)
        count += 1
        return row
    }

    private mutating func unlink(_ i: Int) {
        if previous[i] >= 0 { next[previous[i]] = next[i] } else if head == i { head = next[i] }
        if next[i] >= 0 { previous[next[i]] = previous[i] } else if tail == i { tail = previous[i] }
        previous[i] = -1
        next[i] = -1
    }

    private mutating func pushFront(_ i: Int) {
        next[i] = head
        previous[i] = -1
        if head >= 0 { previous[head] = i }
        head = i
        if tail < 0 { tail = i }
    }
}

/// Sequential minimal optimisation as LIBSVM does it (Fan, Chen and Lin 2005): minimise
/// ½αᵀQα + pᵀα subject to yᵀα = constant and 0 ≤ α_t ≤ C_t, where Q_ts = y_t y_s K(x_{d(t)},
/// x_{d(s)}) and variable t refers to data row d(t). The working pair is chosen with
/// second-order information; variables at a bound that will stay there are shrunk out of the
/// active set and the gradient rebuilt before the end.
struct SMOSolver {
    static let tau = 1e-12

    struct Solution {
        var alpha: [Double]
        var rho: Double
        var iterations: Int
    }

    /// - Parameters:
    ///   - signs: y_t, +1 or −1, per variable.
    ///   - dataRows: d(t), per variable.
    ///   - linear: p_t, per variable.
    ///   - bounds: C_t, per variable.
    static func solve(
        cache: inout KernelCache, signs: [Double], dataRows: [Int], linear: [Double], bounds: [Double],
        tolerance: Double, shrinking: Bool, isCancelled: () -> Bool = { false }
    ) throws -> Solution {
        let l = signs.count
        var y = signs
        var d = dataRows
        var p = linear
        var c = bounds
        var original = Array(0..<l)
        var alpha = [Double](repeating: 0, count: l)
        var gradient = p
        var gradientBar = [Double](repeating: 0, count: l)
        // 0 lower bound, 1 upper bound, 2 free
        var status = [UInt8](repeating: 0, count: l)
        var qd = d.map { cache.diagonal[$0] }
        var activeSize = l
        var unshrink = false

        func updateStatus(_ t: Int) {
            status[t] = alpha[t] >= c[t] ? 1 : alpha[t] <= 0 ? 0 : 2
        }
        func swap(_ a: Int, _ b: Int) {
            y.swapAt(a, b)
            d.swapAt(a, b)
            p.swapAt(a, b)
            c.swapAt(a, b)
            original.swapAt(a, b)
            alpha.swapAt(a, b)
            gradient.swapAt(a, b)
            gradientBar.swapAt(a, b)
            status.swapAt(a, b)
            qd.swapAt(a, b)
        }
        func reconstructGradient() {
            guard activeSize < l else { return }
            for t in activeSize..<l { gradient[t] = gradientBar[t] + p[t] }
            for i in 0..<activeSize where status[i] == 2 {
                let row = cache.row(d[i])
                let scaled = alpha[i] * y[i]
                for t in activeSize..<l { gradient[t] += scaled * y[t] * Double(row[d[t]]) }
            }
        }
        func selectWorkingSet() -> (Int, Int)? {
            var gMax = -Double.infinity
            var gMax2 = -Double.infinity
            var iMax = -1
            for t in 0..<activeSize {
                if y[t] > 0 {
                    if status[t] != 1, -gradient[t] >= gMax {
                        gMax = -gradient[t]
                        iMax = t
                    }
                } else if status[t] != 0, gradient[t] >= gMax {
                    gMax = gradient[t]
                    iMax = t
                }
            }
            let i = iMax
            var jMin = -1
            var objectiveMin = Double.infinity
            let rowI: [Float] = i >= 0 ? cache.row(d[i]) : []
            for j in 0..<activeSize {
                if y[j] > 0 {
                    guard status[j] != 0 else { continue }
                    let gradientDifference = gMax + gradient[j]
                    if gradient[j] >= gMax2 { gMax2 = gradient[j] }
                    if gradientDifference > 0, i >= 0 {
                        let qij = y[i] * y[j] * Double(rowI[d[j]])
                        let quadratic = qd[i] + qd[j] - 2 * y[i] * qij
                        let objective =
                            -(gradientDifference * gradientDifference) / (quadratic > 0 ? quadratic : tau)
                        if objective <= objectiveMin {
                            jMin = j
                            objectiveMin = objective
                        }
                    }
                } else {
                    guard status[j] != 1 else { continue }
                    let gradientDifference = gMax - gradient[j]
                    if -gradient[j] >= gMax2 { gMax2 = -gradient[j] }
                    if gradientDifference > 0, i >= 0 {
                        let qij = y[i] * y[j] * Double(rowI[d[j]])
                        let quadratic = qd[i] + qd[j] + 2 * y[i] * qij
                        let objective =
                            -(gradientDifference * gradientDifference) / (quadratic > 0 ? quadratic : tau)
                        if objective <= objectiveMin {
                            jMin = j
                            objectiveMin = objective
                        }
                    }
                }
            }
            if gMax + gMax2 < tolerance || jMin == -1 { return nil }
            return (i, jMin)
        }
        func shouldShrink(_ t: Int, _ gMax1: Double, _ gMax2: Double) -> Bool {
            if status[t] == 1 {
                return y[t] > 0 ? -gradient[t] > gMax1 : -gradient[t] > gMax2
            } else if status[t] == 0 {
                return y[t] > 0 ? gradient[t] > gMax2 : gradient[t] > gMax1
            }
            return false
        }
        func shrink() {
            var gMax1 = -Double.infinity
            var gMax2 = -Double.infinity
            for t in 0..<activeSize {
                if y[t] > 0 {
                    if status[t] != 1, -gradient[t] >= gMax1 { gMax1 = -gradient[t] }
                    if status[t] != 0, gradient[t] >= gMax2 { gMax2 = gradient[t] }
                } else {
                    if status[t] != 1, -gradient[t] >= gMax2 { gMax2 = -gradient[t] }
                    if status[t] != 0, gradient[t] >= gMax1 { gMax1 = gradient[t] }
                }
            }
            if !unshrink && gMax1 + gMax2 <= tolerance * 10 {
                unshrink = true
                reconstructGradient()
                activeSize = l
            }
            var t = 0
            while t < activeSize {
                if shouldShrink(t, gMax1, gMax2) {
                    activeSize -= 1
                    while activeSize > t {
                        if !shouldShrink(activeSize, gMax1, gMax2) {
                            swap(t, activeSize)
                            break
                        }
                        activeSize -= 1
                    }
                }
                t += 1
            }
        }

        for t in 0..<l { updateStatus(t) }
        let maximumIterations = max(10_000_000, l > Int(Int32.max) / 100 ? Int(Int32.max) : 100 * l)
        var counter = min(l, 1_000) + 1
        var iterations = 0
        while iterations < maximumIterations {
            counter -= 1
            if counter == 0 {
                counter = min(l, 1_000)
                if shrinking { shrink() }
                if isCancelled() { throw CancellationError() }
            }
            var pair = selectWorkingSet()
            if pair == nil {
                reconstructGradient()
                activeSize = l
                pair = selectWorkingSet()
                if pair == nil { break }
                counter = 1
            }
            guard let (i, j) = pair else { break }
            iterations += 1
            let rowI = cache.row(d[i])
            let rowJ = cache.row(d[j])
            let qij = y[i] * y[j] * Double(rowI[d[j]])
            let ci = c[i]
            let cj = c[j]
            let oldI = alpha[i]
            let oldJ = alpha[j]
            if y[i] != y[j] {
                var quadratic = qd[i] + qd[j] + 2 * qij
                if quadratic <= 0 { quadratic = tau }
                let delta = (-gradient[i] - gradient[j]) / quadratic
                let difference = alpha[i] - alpha[j]
                alpha[i] += delta
                alpha[j] += delta
                if difference > 0 {
                    if alpha[j] < 0 {
                        alpha[j] = 0
                        alpha[i] = difference
                    }
                } else if alpha[i] < 0 {
                    alpha[i] = 0
                    alpha[j] = -difference
                }
                if difference > ci - cj {
                    if alpha[i] > ci {
                        alpha[i] = ci
                        alpha[j] = ci - difference
                    }
                } else if alpha[j] > cj {
                    alpha[j] = cj
                    alpha[i] = cj + difference
                }
            } else {
                var quadratic = qd[i] + qd[j] - 2 * qij
                if quadratic <= 0 { quadratic = tau }
                let delta = (gradient[i] - gradient[j]) / quadratic
                let sum = alpha[i] + alpha[j]
                alpha[i] -= delta
                alpha[j] += delta
                if sum > ci {
                    if alpha[i] > ci {
                        alpha[i] = ci
                        alpha[j] = sum - ci
                    }
                } else if alpha[j] < 0 {
                    alpha[j] = 0
                    alpha[i] = sum
                }
                if sum > cj {
                    if alpha[j] > cj {
                        alpha[j] = cj
                        alpha[i] = sum - cj
                    }
                } else if alpha[i] < 0 {
                    alpha[i] = 0
                    alpha[j] = sum
                }
            }
            let changeI = (alpha[i] - oldI) * y[i]
            let changeJ = (alpha[j] - oldJ) * y[j]
            for t in 0..<activeSize {
                let dt = d[t]
                gradient[t] += y[t] * (changeI * Double(rowI[dt]) + changeJ * Double(rowJ[dt]))
            }
            let wasUpperI = status[i] == 1
            let wasUpperJ = status[j] == 1
            updateStatus(i)
            updateStatus(j)
            if wasUpperI != (status[i] == 1) {
                let sign = wasUpperI ? -ci * y[i] : ci * y[i]
                for t in 0..<l { gradientBar[t] += sign * y[t] * Double(rowI[d[t]]) }
            }
            if wasUpperJ != (status[j] == 1) {
                let sign = wasUpperJ ? -cj * y[j] : cj * y[j]
                for t in 0..<l { gradientBar[t] += sign * y[t] * Double(rowJ[d[t]]) }
            }
        }
        if activeSize < l {
            reconstructGradient()
            activeSize = l
        }
        // ρ: the mean of y_t ∇_t over free variables, or the middle of the bounds' range.
        var upperBound = Double.infinity
        var lowerBound = -Double.infinity
        var freeCount = 0
        var freeSum = 0.0
        for t in 0..<l {
            let yg = y[t] * gradient[t]
            if status[t] == 1 {
                if y[t] < 0 { upperBound = min(upperBound, yg) } else { lowerBound = max(lowerBound, yg) }
            } else if status[t] == 0 {
                if y[t] > 0 { upperBound = min(upperBound, yg) } else { lowerBound = max(lowerBound, yg) }
            } else {
                freeCount += 1
                freeSum += yg
            }
        }
        let rho = freeCount > 0 ? freeSum / Double(freeCount) : (upperBound + lowerBound) / 2
        var result = [Double](repeating: 0, count: l)
        for t in 0..<l { result[original[t]] = alpha[t] }
        return Solution(alpha: result, rho: rho, iterations: iterations)
    }
}
