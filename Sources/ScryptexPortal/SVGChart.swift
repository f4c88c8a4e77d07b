import Foundation

/// A line chart as inline SVG, drawn from numbers only (no text of a caller's inside, so the
/// markup needs no escaping of values): the series scaled into a fixed box with its lowest and
/// highest values and the first and last times as axis labels. No script, no style attribute
/// (the portal's security policy allows neither): presentation attributes and the page's
/// `currentColor`.
enum SVGChart {
    static let width = 720.0
    static let height = 220.0
    static let margin = (left: 72.0, right: 12.0, top: 12.0, bottom: 28.0)

    /// - Parameters:
    ///   - values: The series, in time order (NaN and infinities are left out).
    ///   - label: What the chart shows, for screen readers (escaped here).
    ///   - format: How an axis value is written.
    ///   - filledToZero: Shades the area between the line and zero (a drawdown).
    static func line(
        _ values: [Double], first: String, last: String, label: String, format: (Double) -> String,
        filledToZero: Bool = false
    ) -> String {
        let points = values.filter(\.isFinite)
        guard points.count >= 2 else { return "" }
        var low = points.min()!
        var high = points.max()!
        if filledToZero { high = max(high, 0) }
        if high == low { (low, high) = (low - 1, high + 1) }
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func x(_ index: Int) -> Double { margin.left + plotWidth * Double(index) / Double(points.count - 1) }
        func y(_ value: Double) -> Double { margin.top + plotHeight * (high - value) / (high - low) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }
        let line = points.indices.map { "\(number(x($0))),\(number(y(points[$0])))" }.joined(separator: " ")
        var svg =
            #"<svg class="chart" viewBox="0 0 \#(Int(width)) \#(Int(height))" role="img" aria-label="\#(escape(label))" "#
            + #"xmlns="http://www.w3.org/2000/svg">"#
        svg +=
            #"<line x1="\#(number(margin.left))" y1="\#(number(margin.top))" x2="\#(number(margin.left))" "#
            + #"y2="\#(number(height - margin.bottom))" stroke="currentColor" stroke-opacity="0.4"/>"#
        svg +=
            #"<line x1="\#(number(margin.left))" y1="\#(number(height - margin.bottom))" x2="\#(number(width - margin.right))" "#
            + #"y2="\#(number(height - margin.bottom))" stroke="currentColor" stroke-opacity="0.4"/>"#
        if filledToZero {
            let zero = number(y(0))
            svg +=
                #"<polygon points="\#(number(x(0))),\#(zero) \#(line) \#(number(x(points.count - 1))),\#(zero)" "#
                + #"fill="currentColor" fill-opacity="0.15" stroke="none"/>"#
        }
        svg += #"<polyline points="\#(line)" fill="none" stroke="currentColor" stroke-width="1.5"/>"#
        for (value, anchor) in [(high, margin.top + 10), (low, height - margin.bottom)] {
            svg +=
                #"<text x="\#(number(margin.left - 6))" y="\#(number(anchor))" text-anchor="end" "#
                + #"font-size="11" fill="currentColor">\#(escape(format(value)))</text>"#
        }
        svg +=
            #"<text x="\#(number(margin.left))" y="\#(number(height - 8))" font-size="11" fill="currentColor">"#
            + "\(escape(first))</text>"
        svg +=
            #"<text x="\#(number(width - margin.right))" y="\#(number(height - 8))" text-anchor="end" "#
            + #"font-size="11" fill="currentColor">\#(escape(last))</text>"#
        return svg + "</svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
