import Foundation
import ScryptexCore
import ScryptexQuant

extension ReportResult {
    /// A branded HTML page: the tenant's name and colours, the summary, every chart as inline
    /// SVG, the risk section, the table and the footer. No script; styles inline.
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
        if let risk {
            page += "<h2>Risk</h2>"
            if let statistics = risk.statistics {
                page += "<table><tbody>"
                for (label, value) in Self.riskRows(statistics) {
                    page += "<tr><th scope=\"row\">\(escape(label))</th><td class=\"number\">\(escape(value))</td></tr>"
                }
                page += "</tbody></table>"
            }
            page +=
                "<p>Capital \(escape(risk.capitalUSD)) USD over \(risk.days) days.\(risk.note.map { " " + escape($0) } ?? "")</p>\n"
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

    static func riskRows(_ statistics: ScryptexQuant.ReturnStatistics) -> [(String, String)] {
        func ratio(_ value: Double?) -> String { value.map { String(format: "%.6f", $0) } ?? "undefined" }
        return [
            ("Historical VaR (95 %)", ratio(statistics.historicalVaR)),
            ("Historical expected shortfall", ratio(statistics.historicalExpectedShortfall)),
            ("Parametric VaR (95 %)", ratio(statistics.parametricVaR)),
            ("Parametric expected shortfall", ratio(statistics.parametricExpectedShortfall)),
            ("Sharpe ratio", ratio(statistics.sharpeRatio)),
            ("Annual volatility", ratio(statistics.annualVolatility)),
            ("Maximum drawdown", ratio(statistics.maxDrawdown)),
        ]
    }
}
