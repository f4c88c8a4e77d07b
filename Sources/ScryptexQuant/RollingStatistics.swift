/// Indicators over a window of the last n values ending at each index; NaN until n values exist.
public enum RollingStatistics {
    /// The simple moving average.
    public static func mean(_ values: [Double], window n: Int) -> [Double] {
        var result = [Double](repeating: .nan, count: values.count)
        guard n >= 1, values.count >= n else { return result }
        var sum = 0.0
        var compensation = 0.0
        func add(_ value: Double) {
            // Kahan–Babuška summation: the running sum does not drift over millions of bars.
            let total = sum + value
            compensation += abs(sum) >= abs(value) ? (sum - total) + value : (value - total) + sum
            sum = total
        }
        for index in values.indices {
            add(values[index])
            if index >= n { add(-values[index - n]) }
            if index >= n - 1 { result[index] = (sum + compensation) / Double(n) }
        }
        return result
    }

    /// The z-score (x_t − mean) / s with the sample standard deviation (n − 1) of the n values
    /// ending at t. Welford's updates add and remove one value per step; the window is summed
    /// afresh every 1,024 steps so rounding cannot accumulate.
    public static func zScore(_ values: [Double], window n: Int) -> [Double] {
        var result = [Double](repeating: .nan, count: values.count)
        guard n >= 2, values.count >= n else { return result }
        var mean = 0.0
        var squares = 0.0
        func recompute(endingAt end: Int) {
            mean = 0
            squares = 0
            for (offset, value) in values[(end - n + 1)...end].enumerated() {
                let delta = value - mean
                mean += delta / Double(offset + 1)
                squares += delta * (value - mean)
            }
        }
        recompute(endingAt: n - 1)
        for index in (n - 1)..<values.count {
            if index >= n {
                if index % 1_024 == 0 {
                    recompute(endingAt: index)
                } else {
                    let leaving = values[index - n]
                    let entering = values[index]
                    let oldMean = mean
                    mean += (entering - leaving) / Double(n)
                    squares += (entering - leaving) * (entering - mean + leaving - oldMean)
                }
            }
            let deviation = (max(squares, 0) / Double(n - 1)).squareRoot()
            result[index] = deviation > 0 ? (values[index] - mean) / deviation : .nan
        }
        return result
    }

    /// The highest value of the n values before each index (not including it): a Donchian
    /// channel's upper band, by a monotonic queue in O(count).
    public static func priorMaximum(_ values: [Double], window n: Int) -> [Double] {
        extreme(values, window: n, keepsLarger: true)
    }

    public static func priorMinimum(_ values: [Double], window n: Int) -> [Double] {
        extreme(values, window: n, keepsLarger: false)
    }

    static func extreme(_ values: [Double], window n: Int, keepsLarger: Bool) -> [Double] {
        var result = [Double](repeating: .nan, count: values.count)
        guard n >= 1 else { return result }
        var queue: [Int] = []
        queue.reserveCapacity(n + 1)
        var head = 0
        for index in values.indices {
            // Before adding index: the queue covers index − n ..< index.
            while head < queue.count && queue[head] < index - n { head += 1 }
            if index >= n && head < queue.count { result[index] = values[queue[head]] }
            while queue.count > head
                && (keepsLarger
                    ? values[queue[queue.count - 1]] <= values[index] : values[queue[queue.count - 1]] >= values[index])
            {
                queue.removeLast()
            }
            queue.append(index)
            if head > 4_096 {
                queue.removeFirst(head)
                head = 0
            }
        }
        return result
    }

    /// The simple return over the last n bars: x_t / x_{t−n} − 1.
    public static func change(_ values: [Double], over n: Int) -> [Double] {
        var result = [Double](repeating: .nan, count: values.count)
        guard n >= 1 else { return result }
        for index in values.indices where index >= n { result[index] = values[index] / values[index - n] - 1 }
        return result
    }
}
