import Foundation
import ScryptexCore

extension ReportResult {
    /// The report as a PDF written by the host itself: a branded header band, the summary and
    /// totals, every chart as vector drawing, the sections (risk, attribution), then the table across as many
    /// A4 pages as it needs (its header repeated on each), and on every page the tenant's footer
    /// and "Page n of N".
    public func pdf(branding: ReportBranding) -> [UInt8] {
        var writer = PDFWriter()
        let margin = 50.0
        let width = writer.pageWidth - 2 * margin
        let bottom = writer.pageHeight - 60
        var y = 0.0

        func header(first: Bool) {
            writer.rectangle(x: 0, y: 0, width: writer.pageWidth, height: first ? 70 : 36, fill: branding.primary)
            writer.rectangle(x: 0, y: first ? 70 : 36, width: writer.pageWidth, height: 3, fill: branding.accent)
            let white = RGBColour(red: 1, green: 1, blue: 1)
            if first {
                writer.text(
                    PDFWriter.fitted(branding.productName, font: .bold, size: 18, width: width), x: margin, y: 32,
                    size: 18, font: .bold, colour: white)
                writer.text(
                    PDFWriter.fitted(
                        "\(name) · \(period.from) to \(period.to)", font: .regular, size: 11, width: width),
                    x: margin, y: 54, size: 11, colour: white)
                y = 100
            } else {
                writer.text(
                    PDFWriter.fitted("\(branding.productName) · \(name)", font: .bold, size: 11, width: width),
                    x: margin,
                    y: 23, size: 11, font: .bold, colour: white)
                y = 60
            }
        }
        func room(_ needed: Double) {
            if y + needed > bottom {
                writer.newPage()
                header(first: false)
            }
        }
        func heading(_ text: String) {
            room(30)
            y += 8
            writer.text(text, x: margin, y: y + 12, size: 13, font: .bold, colour: branding.primary)
            y += 22
        }

        header(first: true)
        writer.text(
            PDFWriter.fitted(
                "Generated \(Timestamp.format(generatedAt)) · metrics: \(metrics.joined(separator: ", "))"
                    + (dimensions.isEmpty ? "" : " · by \(dimensions.joined(separator: ", "))"), font: .regular,
                size: 9, width: width), x: margin, y: y, size: 9, colour: .grey)
        y += 14
        if let filters, !filters.isEmpty {
            let text = filters.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.joined(separator: ", "))" }
                .joined(separator: "; ")
            writer.text(
                PDFWriter.fitted("Filters: " + text, font: .regular, size: 9, width: width), x: margin, y: y, size: 9,
                colour: .grey)
            y += 14
        }

        heading("Totals")
        for column in columns where column.kind == "metric" {
            room(16)
            writer.text(column.label, x: margin, y: y + 10, size: 10)
            writer.text(
                (totals[column.name] ?? "") + (column.unit.map { " " + $0 } ?? ""), x: margin + 260, y: y + 10,
                size: 10, font: .bold, anchor: .end)
            y += 16
        }

        for chart in charts {
            room(215)
            y += 10
            writer.draw(
                chart.shapes(width: width, height: 200, primary: branding.primary, accent: branding.accent),
                atX: margin, y: y)
            y += 205
        }

        for section in sections {
            heading(section.title)
            let valueWidth = section.columns.isEmpty ? 120.0 : 85.0
            func valueX(_ index: Int) -> Double { margin + 140 + valueWidth * Double(index + 1) }
            if !section.columns.isEmpty {
                room(16)
                for (index, column) in section.columns.enumerated() {
                    writer.text(column, x: valueX(index), y: y + 10, size: 9, font: .bold, anchor: .end)
                }
                y += 16
            }
            for row in section.rows {
                room(16)
                writer.text(
                    PDFWriter.fitted(row[0], font: .regular, size: 10, width: 135), x: margin, y: y + 10, size: 10)
                for (index, value) in row.dropFirst().enumerated() {
                    writer.text(value, x: valueX(index), y: y + 10, size: 10, font: .bold, anchor: .end)
                }
                y += 16
            }
            if let note = section.note {
                for line in PDFWriter.wrapped(note, font: .regular, size: 9, width: width) {
                    room(13)
                    writer.text(line, x: margin, y: y + 10, size: 9, colour: .grey)
                    y += 13
                }
                y += 5
            }
        }

        heading("Table")
        let columnWidth = width / Double(max(1, columns.count))
        func cellX(_ index: Int) -> (Double, ChartShape.Anchor) {
            columns[index].kind == "metric"
                ? (margin + columnWidth * Double(index + 1) - 4, .end)
                : (margin + columnWidth * Double(index) + 4, .start)
        }
        func tableHeader() {
            writer.rectangle(x: margin, y: y, width: width, height: 16, fill: branding.primary.lightened(by: 0.85))
            for (index, column) in columns.enumerated() {
                let (x, anchor) = cellX(index)
                let label = column.label + (column.unit.map { " (\($0))" } ?? "")
                writer.text(
                    PDFWriter.fitted(label, font: .bold, size: 9, width: columnWidth - 8), x: x, y: y + 11.5, size: 9,
                    font: .bold, anchor: anchor)
            }
            y += 18
        }
        room(40)
        tableHeader()
        if rows.isEmpty {
            writer.text("No trades in the period.", x: margin + 4, y: y + 10, size: 9, colour: .grey)
            y += 14
        }
        for row in rows {
            if y + 14 > bottom {
                writer.newPage()
                header(first: false)
                tableHeader()
            }
            for (index, cell) in row.enumerated() {
                let (x, anchor) = cellX(index)
                writer.text(
                    PDFWriter.fitted(cell, font: .regular, size: 9, width: columnWidth - 8), x: x, y: y + 10, size: 9,
                    anchor: anchor)
            }
            writer.line(
                from: (margin, y + 13.5), to: (margin + width, y + 13.5), colour: .lightGrey, width: 0.4)
            y += 14
        }

        let pages = writer.pageCount
        for index in 0..<pages {
            writer.draw(onPage: index) { page in
                let footerY = page.pageHeight - 30
                page.line(
                    from: (margin, footerY - 12), to: (page.pageWidth - margin, footerY - 12), colour: .lightGrey,
                    width: 0.5)
                if let footer = branding.footer {
                    page.text(
                        PDFWriter.fitted(footer, font: .regular, size: 7.5, width: width - 70), x: margin, y: footerY,
                        size: 7.5, colour: .grey)
                }
                page.text(
                    "Page \(index + 1) of \(pages)", x: page.pageWidth - margin, y: footerY, size: 7.5, colour: .grey,
                    anchor: .end)
            }
        }
        return writer.document(title: "\(branding.productName) — \(name)", creationDate: generatedAt)
    }

    /// The result as JSON (what `?format=json` answers).
    public var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }
}
