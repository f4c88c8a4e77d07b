import Foundation
import ScryptexCore
import ScryptexQuant

extension ReportResult {
    /// A branded HTML page: the tenant's name and colours, the summary, every chart as inline
    /// SVG, the sections (risk, attribution), the table and the footer. No script; styles inline.
    public func html(branding: ReportBranding) -> [UInt8] {
        let escape = SVGWriter.escape
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(name)) — \(escape(branding.productName))</title>
            <style>
            body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#1a1a1a}
            header{background:\(branding.primary.hex);color:#fff;padding:16px 24px}
            header h1{margin:0;font-size:22px} header p{margin:4px 0 0}
            main{padding:16px 24px} table{border-collapse:collapse;font-size:13px}
            th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left} td.number,th.number{text-align:right}
            th{background:\(branding.primary.lightened(by: 0.85).hex)} tfoot td{font-weight:bold}
            .accent{border-top:4px solid \(branding.accent.hex)} figure{margin:16px 0}
            footer{padding:12px 24px;color:#555;font-size:12px;border-top:1px solid #ddd}
            </style></head><body>
            <header><h1>\(escape(branding.productName))</h1><p>\(escape(name)) · \(escape(period.from)) to \(escape(period.to))</p></header>
            <main class="accent">
            <p>Generated \(escape(Timestamp.format(generatedAt))) · metrics: \(escape(metrics.joined(separator: ", ")))\(dimensions.isEmpty ? "" : " · by " + escape(dimensions.joined(separator: ", ")))</p>

            """
        if let filters, !filters.isEmpty {
            page +=
                "<p>Filters: "
                + escape(
                    filters.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value.joined(separator: ", "))" }.joined(
                        separator: "; "))
                + "</p>\n"
        }
        page += "<h2>Totals</h2><table><tbody>"
        for column in columns where column.kind == "metric" {
            page +=
                "<tr><th scope=\"row\">\(escape(column.label))</th><td class=\"number\">\(escape(totals[column.name] ?? ""))\(column.unit.map { " " + escape($0) } ?? "")</td></tr>"
        }
        page += "</tbody></table>\n"
        for chart in charts {
            page += "<figure>" + SVGWriter.svg(chart, width: 720, height: 260, branding: branding) + "</figure>\n"
        }
        for section in sections {
            page += "<h2>\(escape(section.title))</h2>"
            if !section.rows.isEmpty {
                page += "<table>"
                if !section.columns.isEmpty {
                    page +=
                        "<thead><tr><th scope=\"col\"></th>"
                        + section.columns.map { "<th scope=\"col\" class=\"number\">\(escape($0))</th>" }.joined()
                        + "</tr></thead>"
                }
                page += "<tbody>"
                for row in section.rows {
                    page +=
                        "<tr><th scope=\"row\">\(escape(row[0]))</th>"
                        + row.dropFirst().map { "<td class=\"number\">\(escape($0))</td>" }.joined() + "</tr>"
                }
                page += "</tbody></table>"
            }
            if let note = section.note { page += "<p>\(escape(note))</p>" }
            page += "\n"
        }
        page += "<h2>Table</h2><table><thead><tr>"
        for column in columns {
            page +=
                "<th scope=\"col\"\(column.kind == "metric" ? " class=\"number\"" : "")>\(escape(column.label))\(column.unit.map { " (" + escape($0) + ")" } ?? "")</th>"
        }
        page += "</tr></thead><tbody>\n"
        for row in rows {
            page += "<tr>"
            for (index, cell) in row.enumerated() {
                page +=
                    columns[index].kind == "metric"
                    ? "<td class=\"number\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
            }
            page += "</tr>\n"
        }
        page += "</tbody>"
        if rows.isEmpty {
            page += "<tfoot><tr><td colspan=\"\(columns.count)\">No trades in the period.</td></tr></tfoot>"
        }
        page += "</table></main>\n<footer>"
        if let footer = branding.footer { page += "<p>\(escape(footer))</p>" }
        if let email = branding.supportEmail { page += "<p>Support: \(escape(email))</p>" }
        page += "</footer></body></html>\n"
        return Array(page.utf8)
    }

}
