import Foundation

/// A colour as red, green and blue in 0…1.
public struct RGBColour: Sendable, Equatable {
    public var red: Double
    public var green: Double
    public var blue: Double

    public init(red: Double, green: Double, blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// `#RRGGBB`; nil for anything else.
    public init?(hex: String) {
        guard hex.count == 7, hex.first == "#", let value = UInt32(hex.dropFirst(), radix: 16) else { return nil }
        red = Double((value >> 16) & 0xFF) / 255
        green = Double((value >> 8) & 0xFF) / 255
        blue = Double(value & 0xFF) / 255
    }

    public var hex: String {
        func part(_ value: Double) -> String {
            let byte = Int((min(1, max(0, value)) * 255).rounded())
            return (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
        return "#" + part(red) + part(green) + part(blue)
    }

    /// Mixed with white by `amount` (0: this colour, 1: white).
    public func lightened(by amount: Double) -> RGBColour {
        RGBColour(red: red + (1 - red) * amount, green: green + (1 - green) * amount, blue: blue + (1 - blue) * amount)
    }

    public static let black = RGBColour(red: 0, green: 0, blue: 0)
    public static let grey = RGBColour(red: 0.45, green: 0.45, blue: 0.45)
    public static let lightGrey = RGBColour(red: 0.85, green: 0.85, blue: 0.85)
    public static let loss = RGBColour(red: 0.75, green: 0.15, blue: 0.15)
}

/// What a chart is drawn with, in a box whose origin is its top-left corner (y grows downwards):
/// both the SVG and the PDF writers draw these, so a chart looks the same in both.
public enum ChartShape: Sendable, Equatable {
    public enum Anchor: Sendable, Equatable {
        case start, middle, end
    }

    case line(from: (Double, Double), to: (Double, Double), colour: RGBColour, width: Double)
    case polyline([(Double, Double)], colour: RGBColour, width: Double)
    case polygon([(Double, Double)], fill: RGBColour)
    case rectangle(x: Double, y: Double, width: Double, height: Double, fill: RGBColour)
    case text(String, x: Double, y: Double, size: Double, anchor: Anchor, colour: RGBColour)

    public static func == (lhs: ChartShape, rhs: ChartShape) -> Bool {
        String(describing: lhs) == String(describing: rhs)
    }
}

/// A chart of a report: a line over time, bars by category, areas stacked over time, or the
/// drawdown of cumulative P&L; laid out as shapes in a `width` × `height` box.
public struct Chart: Sendable {
    public enum Kind: String, Sendable {
        case line, bar, stackedArea = "stacked_area", drawdown
    }

    public var kind: Kind
    public var title: String
    /// The x labels (periods or categories).
    public var labels: [String]
    /// One or more series (several only when stacked), by name.
    public var series: [(name: String, values: [Double])]
    public var unit: String?

    public init(kind: Kind, title: String, labels: [String], series: [(name: String, values: [Double])], unit: String?)
    {
        self.kind = kind
        self.title = title
        self.labels = labels
        self.series = series
        self.unit = unit
    }

    static let left = 70.0
    static let right = 15.0
    static let top = 28.0
    static let bottom = 36.0

    /// The shapes of the chart in a `width` × `height` box, in the brand's colours.
    public func shapes(width: Double, height: Double, primary: RGBColour, accent: RGBColour) -> [ChartShape] {
        var shapes: [ChartShape] = [
            .text(title, x: 0, y: 16, size: 11, anchor: .start, colour: .black)
        ]
        let plotWidth = width - Self.left - Self.right
        let plotHeight = height - Self.top - Self.bottom
        let count = labels.count
        guard count > 0, plotWidth > 0, plotHeight > 0 else {
            shapes.append(
                .text("no data in the period", x: width / 2, y: height / 2, size: 10, anchor: .middle, colour: .grey))
            return shapes
        }
        // The value range: stacked sums for a stacked chart, zero always inside.
        var low = 0.0
        var high = 0.0
        if kind == .stackedArea {
            for index in 0..<count {
                high = max(high, series.reduce(0) { $0 + max(0, $1.values[index]) })
            }
        } else {
            for (_, values) in series {
                for value in values where value.isFinite {
                    low = min(low, value)
                    high = max(high, value)
                }
            }
        }
        if high == low { high = low + 1 }
        func y(_ value: Double) -> Double { Self.top + plotHeight * (high - value) / (high - low) }
        func x(_ index: Int) -> Double {
            kind == .bar
                ? Self.left + plotWidth * (Double(index) + 0.5) / Double(count)
                : Self.left + (count == 1 ? plotWidth / 2 : plotWidth * Double(index) / Double(count - 1))
        }
        // Axes and the zero line, with the range's ends labelled.
        shapes.append(
            .line(from: (Self.left, Self.top), to: (Self.left, Self.top + plotHeight), colour: .grey, width: 0.5))
        shapes.append(.line(from: (Self.left, y(0)), to: (Self.left + plotWidth, y(0)), colour: .grey, width: 0.5))
        for value in [high, low] where value != 0 || low == 0 {
            shapes.append(
                .line(
                    from: (Self.left, y(value)), to: (Self.left + plotWidth, y(value)), colour: .lightGrey, width: 0.5))
            shapes.append(
                .text(Self.format(value), x: Self.left - 4, y: y(value) + 3, size: 8, anchor: .end, colour: .grey))
        }
        if low != 0 {
            shapes.append(.text("0", x: Self.left - 4, y: y(0) + 3, size: 8, anchor: .end, colour: .grey))
        }
        // At most 6 x labels, evenly spread.
        let step = max(1, Int((Double(count) / 6).rounded(.up)))
        for index in stride(from: 0, to: count, by: step) {
            shapes.append(
                .text(
                    Self.shortened(labels[index]), x: x(index), y: Self.top + plotHeight + 14, size: 8, anchor: .middle,
                    colour: .grey))
        }
        switch kind {
        case .line:
            if let values = series.first?.values {
                shapes.append(.polyline((0..<count).map { (x($0), y(values[$0])) }, colour: primary, width: 1.5))
            }
        case .drawdown:
            if let values = series.first?.values {
                shapes.append(
                    .polygon(
                        [(x(0), y(0))] + (0..<count).map { (x($0), y(values[$0])) } + [(x(count - 1), y(0))],
                        fill: RGBColour.loss.lightened(by: 0.6)))
                shapes.append(.polyline((0..<count).map { (x($0), y(values[$0])) }, colour: .loss, width: 1))
            }
        case .bar:
            if let values = series.first?.values {
                let barWidth = plotWidth / Double(count) * 0.7
                for index in 0..<count {
                    let top = y(max(0, values[index]))
                    let bottom = y(min(0, values[index]))
                    shapes.append(
                        .rectangle(
                            x: x(index) - barWidth / 2, y: top, width: barWidth, height: max(0.5, bottom - top),
                            fill: values[index] < 0 ? .loss : primary))
                }
            }
        case .stackedArea:
            var base = [Double](repeating: 0, count: count)
            let palette = Self.palette(primary: primary, accent: accent, count: series.count)
            for (index, (name, values)) in series.enumerated() {
                let top = (0..<count).map { base[$0] + max(0, values[$0]) }
                let upper = (0..<count).map { (x($0), y(top[$0])) }
                let lower = (0..<count).reversed().map { (x($0), y(base[$0])) }
                shapes.append(.polygon(upper + lower, fill: palette[index]))
                base = top
                // The legend, along the top.
                let legendX = Self.left + Double(index % 4) * plotWidth / 4
                shapes.append(.rectangle(x: legendX, y: height - 12, width: 8, height: 8, fill: palette[index]))
                shapes.append(
                    .text(Self.shortened(name), x: legendX + 11, y: height - 5, size: 7, anchor: .start, colour: .black)
                )
            }
        }
        return shapes
    }

    static func palette(primary: RGBColour, accent: RGBColour, count: Int) -> [RGBColour] {
        (0..<count).map { index in
            let base = index % 2 == 0 ? primary : accent
            return base.lightened(by: min(0.8, Double(index / 2) * 0.25))
        }
    }

    static func shortened(_ text: String) -> String {
        text.count > 18 ? String(text.prefix(17)) + "…" : text
    }

    /// A compact number for axis labels: 1.2M, 35k, 0.25.
    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        func trimmed(_ number: Double, _ suffix: String) -> String {
            var text = String(format: "%.2f", number)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text + suffix
        }
        if magnitude >= 1e9 { return trimmed(value / 1e9, "B") }
        if magnitude >= 1e6 { return trimmed(value / 1e6, "M") }
        if magnitude >= 1e3 { return trimmed(value / 1e3, "k") }
        return trimmed(value, "")
    }
}

extension ReportResult {
    /// The charts the report shows: the first metric over time (line), its drawdown when it is
    /// P&L (cumulative), the first metric by the first other dimension (bars, the 20 largest), and
    /// that split over time (stacked areas) when no value is negative.
    public var charts: [Chart] {
        var charts: [Chart] = []
        guard let first = metrics.first else { return charts }
        let label = columns.first { $0.name == first }?.label ?? first
        let unit = columns.first { $0.name == first }?.unit
        let periods = series.map(\.period)
        if series.count >= 2 {
            charts.append(
                Chart(
                    kind: .line, title: "\(label) over time", labels: periods,
                    series: [(first, series.map { $0.values[first] ?? 0 })], unit: unit))
        }
        if series.count >= 2, let pnl = metrics.first(where: { $0 == "pnl" }) {
            var cumulative = 0.0
            var peak = 0.0
            let drawdown = series.map { point -> Double in
                cumulative += point.values[pnl] ?? 0
                peak = max(peak, cumulative)
                return cumulative - peak
            }
            charts.append(
                Chart(
                    kind: .drawdown, title: "Drawdown of cumulative P&L", labels: periods,
                    series: [("drawdown", drawdown)], unit: "USD"))
        }
        if let dimension = dimensions.first(where: { !ReportCatalogue.timeDimensions.contains($0) }),
            let dimensionIndex = columns.firstIndex(where: { $0.name == dimension }),
            let metricIndex = columns.firstIndex(where: { $0.name == first })
        {
            var totals: [String: Double] = [:]
            for row in rows { totals[row[dimensionIndex], default: 0] += Double(row[metricIndex]) ?? 0 }
            let largest = totals.sorted {
                abs($0.value) > abs($1.value) || (abs($0.value) == abs($1.value) && $0.key < $1.key)
            }
            .prefix(20)
            let dimensionLabel = columns[dimensionIndex].label.lowercased()
            charts.append(
                Chart(
                    kind: .bar, title: "\(label) by \(dimensionLabel)", labels: largest.map(\.key),
                    series: [(first, largest.map(\.value))], unit: unit))
            if let stacked, series.count >= 2, stacked.values.allSatisfy({ $0.allSatisfy { $0 >= 0 } }) {
                charts.append(
                    Chart(
                        kind: .stackedArea, title: "\(label) by \(dimensionLabel) over time", labels: periods,
                        series: stacked.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, unit: unit))
            }
        }
        return charts
    }
}
