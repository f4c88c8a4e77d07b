import Foundation

/// The mid price's volatility, estimated online from its changes, in price units per √second
/// (the unit the quoting models take): each change Δs over Δt seconds contributes Δs²/Δt.
///
/// - EWMA: v ← λ·v + (1 − λ)·Δs²/Δt, σ = √v, with λ = exp(−Δt / halfLife · ln 2) so that a change's
///   weight halves every `halfLifeSeconds` whatever the spacing of the updates.
/// - Realised: σ² = Σ Δs² / Σ Δt over the last `window` changes.
///
/// Both are O(1) per update.
public struct VolatilityEstimator: Sendable, Equatable, Codable {
    public var halfLifeSeconds: Double
    public var window: Int
    public private(set) var lastMid: Double?
    public private(set) var lastTime: Double?
    public private(set) var ewmaVariance: Double?
    /// The window's changes as (Δs², Δt), oldest first, with running sums.
    private var squares: [Double] = []
    private var intervals: [Double] = []
    private var head = 0
    private var sumOfSquares = 0.0
    private var sumOfIntervals = 0.0
    public private(set) var observations = 0

    public init(halfLifeSeconds: Double = 300, window: Int = 100) {
        self.halfLifeSeconds = halfLifeSeconds
        self.window = max(2, window)
    }

    /// Adds a mid price seen at `time` (seconds). A time not after the last one is ignored.
    public mutating func update(mid: Double, at time: Double) {
        defer {
            lastMid = mid
            lastTime = max(time, lastTime ?? time)
        }
        guard let previous = lastMid, let since = lastTime, time > since, mid.isFinite, mid > 0 else { return }
        let interval = time - since
        let change = mid - previous
        let rate = change * change / interval
        let decay = exp(-interval / halfLifeSeconds * M_LN2)
        ewmaVariance = ewmaVariance.map { decay * $0 + (1 - decay) * rate } ?? rate
        let square = change * change
        if squares.count < window {
            squares.append(square)
            intervals.append(interval)
        } else {
            sumOfSquares -= squares[head]
            sumOfIntervals -= intervals[head]
            squares[head] = square
            intervals[head] = interval
            head = (head + 1) % window
        }
        sumOfSquares += square
        sumOfIntervals += interval
        observations += 1
        // Running sums drift with rounding: recomputed once per window.
        if observations % window == 0 {
            sumOfSquares = squares.reduce(0, +)
            sumOfIntervals = intervals.reduce(0, +)
        }
    }

    /// √(EWMA variance rate), or nil before the first change.
    public var ewma: Double? { ewmaVariance.map { $0.squareRoot() } }

    /// √(Σ Δs² / Σ Δt) over the window, or nil before the first change.
    public var realised: Double? {
        guard !squares.isEmpty, sumOfIntervals > 0 else { return nil }
        return (max(0, sumOfSquares) / sumOfIntervals).squareRoot()
    }
}
