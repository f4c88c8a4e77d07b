/// How much a market was quoted, measured at the strategy's ticks: the quote computed at a tick
/// stands until the next one. Gives the live fill rate (fills per order posted) and time in
/// market (the share of time quoted on both sides), the same figures a simulation reports.
public struct QuotingActivity: Sendable, Equatable, Codable {
    /// The first and the latest tick time (seconds since 1970).
    public var since: Double?
    public var last: Double?
    /// Whether the quote standing since `last` has both a bid and an ask.
    public var bothSides = false
    /// Seconds quoted on both sides between the first and the latest tick.
    public var secondsQuoted = 0.0
    /// Order levels posted: every quote update posts its levels afresh.
    public var ordersPosted = 0

    public init() {}

    /// A market that was never ticked stores `{}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        since = try container.decodeIfPresent(Double.self, forKey: .since)
        last = try container.decodeIfPresent(Double.self, forKey: .last)
        bothSides = try container.decodeIfPresent(Bool.self, forKey: .bothSides) ?? false
        secondsQuoted = try container.decodeIfPresent(Double.self, forKey: .secondsQuoted) ?? 0
        ordersPosted = try container.decodeIfPresent(Int.self, forKey: .ordersPosted) ?? 0
    }

    /// A quote with `bids` and `asks` levels stands from `time`. A tick older than the latest
    /// (out of order) counts its orders but moves no clock.
    public mutating func record(at time: Double, bids: Int, asks: Int) {
        ordersPosted += bids + asks
        guard let previous = last else {
            since = time
            last = time
            bothSides = bids > 0 && asks > 0
            return
        }
        guard time >= previous else { return }
        if bothSides { secondsQuoted += time - previous }
        last = time
        bothSides = bids > 0 && asks > 0
    }

    /// Fills booked per order posted; nil before any order was posted.
    public func fillRate(fills: Int) -> Double? {
        ordersPosted > 0 ? Double(fills) / Double(ordersPosted) : nil
    }

    /// The share of the time since the first tick quoted on both sides; nil until two ticks
    /// apart in time.
    public var timeInMarket: Double? {
        guard let since, let last, last > since else { return nil }
        return secondsQuoted / (last - since)
    }
}
