import Foundation
import ScryptexCore

/// Writes chart shapes as an inline SVG element (no script, no external reference).
public enum SVGWriter {
    public static func svg(_ chart: Chart, width: Double, height: Double, branding: ReportBranding) -> String {
        var text =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(number(width))\" height=\"\(number(height))\" viewBox=\"0 0 \(number(width)) \(number(height))\">"
        text += "<title>\(escape(chart.title))</title>"
        for shape in chart.shapes(width: width, height: height, primary: branding.primary, accent: branding.accent) {
            switch shape {
            case .line(let from, let to, let colour, let lineWidth):
                text +=
                    "<line x1=\"\(number(from.0))\" y1=\"\(number(from.1))\" x2=\"\(number(to.0))\" y2=\"\(number(to.1))\" stroke=\"\(colour.hex)\" stroke-width=\"\(number(lineWidth))\"/>"
            case .polyline(let points, let colour, let lineWidth):
                text +=
                    "<polyline fill=\"none\" stroke=\"\(colour.hex)\" stroke-width=\"\(number(lineWidth))\" points=\"\(pointList(points))\"/>"
            case .polygon(let points, let fill):
                text += "<polygon fill=\"\(fill.hex)\" points=\"\(pointList(points))\"/>"
            case .rectangle(let x, let y, let rectangleWidth, let rectangleHeight, let fill):
                text +=
                    "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(rectangleWidth))\" height=\"\(number(rectangleHeight))\" fill=\"\(fill.hex)\"/>"
            case .text(let string, let x, let y, let size, let anchor, let colour):
                let anchorName =
                    switch anchor {
                    case .start: "start"
                    case .middle: "middle"
                    case .end: "end"
                    }
                text +=
                    "<text x=\"\(number(x))\" y=\"\(number(y))\" font-size=\"\(number(size))\" text-anchor=\"\(anchorName)\" fill=\"\(colour.hex)\" font-family=\"Helvetica, Arial, sans-serif\">\(escape(string))</text>"
            }
        }
        return text + "</svg>"
    }

    static func pointList(_ points: [(Double, Double)]) -> String {
        points.map { number($0.0) + "," + number($0.1) }.joined(separator: " ")
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// Text for HTML and SVG content and attributes.
    public static func escape(_ text: String) -> String { Markup.escape(text) }
}
