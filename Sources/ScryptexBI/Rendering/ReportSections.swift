import Foundation
import ScryptexQuant

/// A section of a report (risk, attribution) as the HTML and PDF writers lay it out: a table
/// whose first column labels each row, then a note.
struct ReportSection {
    var title: String
    /// The columns after the label column; empty for a two-column label/value table.
    var columns: [String]
    var rows: [[String]]
    var note: String?
}

extension ReportResult {
    var sections: [ReportSection] {
        var sections: [ReportSection] = []
        if let risk {
            sections.append(
                ReportSection(
                    title: "Risk", columns: [],
                    rows: risk.statistics.map { Self.riskRows($0).map { [$0.0, $0.1] } } ?? [],
                    note: "Capital \(risk.capitalUSD) USD over \(risk.days) days." + (risk.note.map { " " + $0 } ?? ""))
            )
        }
        if let attribution {
            var rows: [[String]] = []
            var note = "Capital \(attribution.capitalUSD) USD. Benchmark: \(attribution.benchmark)."
            if let analysis = attribution.analysis {
                let percent = { (value: Double) in String(format: "%.4f %%", value * 100) }
                for (instrument, effects) in analysis.linkedBySegment.sorted(by: { $0.key < $1.key }) {
                    rows.append(
                        [instrument]
                            + [effects.allocation, effects.selection, effects.interaction, effects.total].map(
                                percent))
                }
                let total = analysis.linkedTotal
                rows.append(
                    ["Total"] + [total.allocation, total.selection, total.interaction, total.total].map(percent))
                note +=
                    " Portfolio return \(percent(analysis.portfolioReturn)), benchmark \(percent(analysis.benchmarkReturn)), excess \(percent(analysis.excessReturn)) over \(analysis.periods.count) month(s)."
            }
            if !attribution.unpriced.isEmpty {
                note +=
                    " Without a price (held by the portfolio only): \(attribution.unpriced.joined(separator: ", "))."
            }
            if !attribution.skipped.isEmpty { note += " Left out: \(attribution.skipped.joined(separator: "; "))." }
            if let reason = attribution.note { note += " " + reason + "." }
            sections.append(
                ReportSection(
                    title: "Attribution by instrument", columns: ["Allocation", "Selection", "Interaction", "Total"],
                    rows: rows, note: note))
        }
        return sections
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
