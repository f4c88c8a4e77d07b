public import Foundation
import ScryptexCore

/// A small PDF 1.4 writer of our own: pages of text in the standard Helvetica fonts (not
/// embedded — every PDF reader has the standard 14), lines, rectangles, polylines and filled
/// polygons. Coordinates have their origin at the page's top-left corner and grow downwards (as
/// the charts' shapes do); the writer turns them into PDF's bottom-left space. Text is encoded
/// as WinAnsi (Windows-1252); a character outside it is written as `?`.
public struct PDFWriter {
    public enum Font: String, Sendable {
        case regular = "F1"
        case bold = "F2"
    }

    public let pageWidth: Double
    public let pageHeight: Double
    /// Each page's content stream; drawing goes to page `target`.
    private var pages: [String] = [""]
    private var target = 0

    /// A4 portrait by default (595 × 842 points).
    public init(pageWidth: Double = 595, pageHeight: Double = 842) {
        self.pageWidth = pageWidth
        self.pageHeight = pageHeight
    }

    public var pageCount: Int { pages.count }

    /// Starts another page; drawing goes there.
    public mutating func newPage() {
        pages.append("")
        target = pages.count - 1
    }

    /// Draws on page `index` (from 0; a footer once the page count is known), then goes back.
    public mutating func draw(onPage index: Int, _ body: (inout PDFWriter) -> Void) {
        let saved = target
        target = min(max(0, index), pages.count - 1)
        body(&self)
        target = saved
    }

    // MARK: Drawing

    public mutating func text(
        _ string: String, x: Double, y: Double, size: Double, font: Font = .regular, colour: RGBColour = .black,
        anchor: ChartShape.Anchor = .start
    ) {
        let width = Self.width(of: string, font: font, size: size)
        let left =
            switch anchor {
            case .start: x
            case .middle: x - width / 2
            case .end: x - width
            }
        pages[target] +=
            "BT \(fill(colour)) /\(font.rawValue) \(Self.number(size)) Tf \(Self.number(left)) \(Self.number(pageHeight - y)) Td (\(Self.literal(string))) Tj ET\n"
    }

    public mutating func line(from: (Double, Double), to: (Double, Double), colour: RGBColour, width: Double) {
        pages[target] +=
            "\(stroke(colour)) \(Self.number(width)) w \(point(from)) m \(point(to)) l S\n"
    }

    public mutating func polyline(_ points: [(Double, Double)], colour: RGBColour, width: Double) {
        guard let first = points.first else { return }
        pages[target] += "\(stroke(colour)) \(Self.number(width)) w 1 j \(point(first)) m"
        for next in points.dropFirst() { pages[target] += " \(point(next)) l" }
        pages[target] += " S\n"
    }

    public mutating func polygon(_ points: [(Double, Double)], fill colour: RGBColour) {
        guard let first = points.first else { return }
        pages[target] += "\(fill(colour)) \(point(first)) m"
        for next in points.dropFirst() { pages[target] += " \(point(next)) l" }
        pages[target] += " h f\n"
    }

    public mutating func rectangle(x: Double, y: Double, width: Double, height: Double, fill colour: RGBColour) {
        pages[target] +=
            "\(fill(colour)) \(Self.number(x)) \(Self.number(pageHeight - y - height)) \(Self.number(width)) \(Self.number(height)) re f\n"
    }

    /// Draws chart shapes with the chart's box at (`x`, `y`).
    public mutating func draw(_ shapes: [ChartShape], atX x: Double, y: Double) {
        func moved(_ point: (Double, Double)) -> (Double, Double) { (point.0 + x, point.1 + y) }
        for shape in shapes {
            switch shape {
            case .line(let from, let to, let colour, let width):
                line(from: moved(from), to: moved(to), colour: colour, width: width)
            case .polyline(let points, let colour, let width):
                polyline(points.map(moved), colour: colour, width: width)
            case .polygon(let points, let colour):
                polygon(points.map(moved), fill: colour)
            case .rectangle(let left, let top, let width, let height, let colour):
                rectangle(x: left + x, y: top + y, width: width, height: height, fill: colour)
            case .text(let string, let left, let top, let size, let anchor, let colour):
                text(string, x: left + x, y: top + y, size: size, colour: colour, anchor: anchor)
            }
        }
    }

    private func fill(_ colour: RGBColour) -> String {
        "\(Self.number(colour.red)) \(Self.number(colour.green)) \(Self.number(colour.blue)) rg"
    }

    private func stroke(_ colour: RGBColour) -> String {
        "\(Self.number(colour.red)) \(Self.number(colour.green)) \(Self.number(colour.blue)) RG"
    }

    private func point(_ point: (Double, Double)) -> String {
        "\(Self.number(point.0)) \(Self.number(pageHeight - point.1))"
    }

    // MARK: The file

    /// The whole document: catalog, page tree, fonts, pages and their content streams, the
    /// information dictionary, the cross-reference table and the trailer.
    public func document(title: String, creationDate: Date) -> [UInt8] {
        let allPages = pages
        var objects: [[UInt8]] = []
        // 1 catalog, 2 pages, 3 and 4 fonts, 5 info, then a page and its content per page.
        let pageObjects = (0..<allPages.count).map { 6 + 2 * $0 }
        objects.append(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        objects.append(
            Array(
                "<< /Type /Pages /Kids [\(pageObjects.map { "\($0) 0 R" }.joined(separator: " "))] /Count \(allPages.count) >>"
                    .utf8))
        objects.append(
            Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8))
        objects.append(
            Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".utf8))
        objects.append(
            Array(
                "<< /Title (\(Self.literal(title))) /Producer (Scryptex Host) /CreationDate (\(Self.date(creationDate))) >>"
                    .utf8))
        for (index, content) in allPages.enumerated() {
            objects.append(
                Array(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Self.number(pageWidth)) \(Self.number(pageHeight))] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents \(pageObjects[index] + 1) 0 R >>"
                        .utf8))
            let stream = Self.encoded(content)
            objects.append(Array("<< /Length \(stream.count) >>\nstream\n".utf8) + stream + Array("\nendstream".utf8))
        }
        var output = Array("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(output.count)
            output += Array("\(index + 1) 0 obj\n".utf8) + object + Array("\nendobj\n".utf8)
        }
        let xref = output.count
        output += Array("xref\n0 \(objects.count + 1)\n0000000000 65535 f \n".utf8)
        for offset in offsets {
            let digits = String(offset)
            output += Array((String(repeating: "0", count: 10 - digits.count) + digits + " 00000 n \n").utf8)
        }
        output += Array(
            "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R /Info 5 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return output
    }

    static func date(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970)
        let (year, month, day) = CivilCalendar.civil(fromDaysSinceEpoch: seconds / 86_400)
        let rest = seconds % 86_400
        let pad = CivilCalendar.pad
        return "D:" + pad(year, 4) + pad(month, 2) + pad(day, 2) + pad(rest / 3600, 2) + pad(rest / 60 % 60, 2)
            + pad(rest % 60, 2) + "Z"
    }

    // MARK: Text

    /// A content stream's text as bytes: it is ASCII but for the WinAnsi bytes `literal` wrote
    /// as escapes, so the UTF-8 of the string is the stream.
    static func encoded(_ content: String) -> [UInt8] { Array(content.utf8) }

    /// A PDF literal string of `text` in WinAnsi: `\`, `(` and `)` escaped, bytes outside
    /// printable ASCII written as octal escapes.
    static func literal(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            let byte = winAnsi(scalar)
            switch byte {
            case 0x5C: output += "\\\\"
            case 0x28: output += "\\("
            case 0x29: output += "\\)"
            case 0x20...0x7E: output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let octal = String(byte, radix: 8)
                output += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return output
    }

    /// The Windows-1252 byte of a character (`?` when it has none).
    static func winAnsi(_ scalar: Unicode.Scalar) -> UInt8 {
        let value = scalar.value
        if (0x20...0x7E).contains(value) || (0xA0...0xFF).contains(value) { return UInt8(value) }
        return windows1252Extras[value] ?? 0x3F
    }

    static let windows1252Extras: [UInt32: UInt8] = [
        0x20AC: 0x80, 0x201A: 0x82, 0x0192: 0x83, 0x201E: 0x84, 0x2026: 0x85, 0x2020: 0x86, 0x2021: 0x87,
        0x02C6: 0x88, 0x2030: 0x89, 0x0160: 0x8A, 0x2039: 0x8B, 0x0152: 0x8C, 0x017D: 0x8E, 0x2018: 0x91,
        0x2019: 0x92, 0x201C: 0x93, 0x201D: 0x94, 0x2022: 0x95, 0x2013: 0x96, 0x2014: 0x97, 0x02DC: 0x98,
        0x2122: 0x99, 0x0161: 0x9A, 0x203A: 0x9B, 0x0153: 0x9C, 0x017E: 0x9E, 0x0178: 0x9F,
    ]

    /// The width of `text` in points (the fonts' metrics; 556 per thousand for a character
    /// outside ASCII).
    public static func width(of text: String, font: Font, size: Double) -> Double {
        let table = font == .bold ? boldWidths : regularWidths
        var total = 0
        for scalar in text.unicodeScalars {
            let value = Int(scalar.value)
            total += (32...126).contains(value) ? table[value - 32] : 556
        }
        return Double(total) * size / 1000
    }

    /// Text cut (with an ellipsis) to fit `width`.
    public static func fitted(_ text: String, font: Font, size: Double, width: Double) -> String {
        guard Self.width(of: text, font: font, size: size) > width else { return text }
        var kept = text
        while !kept.isEmpty && Self.width(of: kept + "…", font: font, size: size) > width { kept.removeLast() }
        return kept + "…"
    }

    /// Text broken into lines that fit `width`, at spaces (a word longer than a line is cut).
    public static func wrapped(_ text: String, font: Font, size: Double, width: Double) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if Self.width(of: candidate, font: font, size: size) <= width || line.isEmpty {
                line = candidate
            } else {
                lines.append(fitted(line, font: font, size: size, width: width))
                line = String(word)
            }
        }
        if !line.isEmpty { lines.append(fitted(line, font: font, size: size, width: width)) }
        return lines
    }

    /// Helvetica's advance widths for ASCII 32…126 (Adobe's AFM), per thousand points.
    static let regularWidths: [Int] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    ]

    /// Helvetica-Bold's advance widths for ASCII 32…126.
    static let boldWidths: [Int] = [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
        975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
        333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
        611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    ]

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.3f", rounded)
    }
}
