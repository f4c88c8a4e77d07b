import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@testable import ScryptexBI

@Suite("Report files")
struct ReportRenderingTests {
    static let branding = ReportBranding(
        productName: "Acme Prime", primaryHex: "#0B3D91", accentHex: "#F2A900",
        footer: "Acme Capital Management LLC is a demonstration tenant.", supportEmail: "desk@acme.example")

    /// 300 days of one instrument on two venues: enough rows for several PDF pages.
    static func result(rows count: Int = 300) -> ReportResult {
        var rows: [[String]] = []
        var series: [ReportResult.Point] = []
        let start = PostgresDate(year: 2026, month: 1, day: 1)!
        for index in 0..<count {
            let day = start.adding(days: index).description
            let pnl = Double(index % 7) * 10 - 25
            rows.append([day, index % 2 == 0 ? "XNYS" : "BINANCE, \"spot\"", String(pnl), String(1_000 + index)])
            series.append(.init(period: day, values: ["pnl": pnl, "volume": Double(1_000 + index)]))
        }
        return ReportResult(
            name: "Daily <desk> report", brand: "Acme Prime", period: .init(from: "2026-01-01", to: "2026-10-27"),
            generatedAt: Date(timeIntervalSince1970: 1_790_000_000), metrics: ["pnl", "volume"],
            dimensions: ["day", "venue"], filters: ["instrument": ["ETH/USDC"]],
            columns: [
                .init(name: "day", label: "Day", kind: "dimension", unit: nil),
                .init(name: "venue", label: "Venue", kind: "dimension", unit: nil),
                .init(name: "pnl", label: "Realised P&L", kind: "metric", unit: "USD"),
                .init(name: "volume", label: "Volume", kind: "metric", unit: "USD"),
            ],
            rows: rows, totals: ["pnl": "-125", "volume": "344850"], series: series,
            stacked: [
                "XNYS": series.map { $0.values["volume"]! / 2 }, "BINANCE": series.map { $0.values["volume"]! / 2 },
            ],
            risk: nil)
    }

    @Test func csvQuotesAsRFC4180SaysAndDisarmsFormulas() {
        let csv = CSVWriter.write(
            header: ["name", "value"],
            rows: [
                ["plain", "1"], ["a,b", "2"], ["say \"hi\"", "3"], ["line\nbreak", "4"],
                ["=HYPERLINK(1)", "-5"],
            ], textColumns: [0])
        #expect(
            String(decoding: csv, as: UTF8.self)
                == "name,value\r\nplain,1\r\n\"a,b\",2\r\n\"say \"\"hi\"\"\",3\r\n\"line\nbreak\",4\r\n'=HYPERLINK(1),-5\r\n"
        )
        let report = String(decoding: Self.result(rows: 2).csv, as: UTF8.self)
        #expect(report.hasPrefix("day,venue,pnl,volume\r\n2026-01-01,XNYS,-25.0,1000\r\n"))
        #expect(report.contains("\"BINANCE, \"\"spot\"\"\""))
    }

    @Test func htmlIsBrandedEscapedAndScriptFree() {
        let html = String(decoding: Self.result().html(branding: Self.branding), as: UTF8.self)
        #expect(html.contains("<h1>Acme Prime</h1>") && html.contains("#0B3D91"))
        #expect(html.contains("Daily &lt;desk&gt; report") && !html.contains("<desk>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 4, "line, drawdown, bars, stacked areas")
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("Acme Capital Management LLC is a demonstration tenant."))
    }

    /// The writer's PDF as poppler reads it: pages, text and a rendering.
    @Test func thePDFIsReadByPoppler() async throws {
        let pdf = Self.result().pdf(branding: Self.branding)
        let path = "/tmp/scryptex-report-\(UInt64.random(in: 0...UInt64.max)).pdf"
        try Data(pdf).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let info = try ChildProcess("/usr/bin/pdfinfo", [path])
        #expect(await info.waitForExit(timeout: .seconds(30)) == 0, "\(info.output)")
        let pages = info.output.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap {
            Int($0.split(separator: " ").last ?? "")
        }
        #expect((pages ?? 0) >= 5, "\(info.output)")
        #expect(info.output.contains("Title:") && info.output.contains("Acme Prime"))
        let text = try ChildProcess("/usr/bin/pdftotext", ["-layout", path, "-"])
        #expect(await text.waitForExit(timeout: .seconds(30)) == 0)
        let extracted = text.output
        #expect(extracted.contains("Acme Prime"))
        #expect(extracted.contains("Daily <desk> report"))
        #expect(
            extracted.contains("Page 1 of \(pages ?? 0)") && extracted.contains("Page \(pages ?? 0) of \(pages ?? 0)"))
        #expect(extracted.contains("2026-10-27") && extracted.contains("344850 USD"))
        #expect(extracted.contains("Drawdown of cumulative P&L"))
        let image = "/tmp/scryptex-page-\(UInt64.random(in: 0...UInt64.max))"
        let render = try ChildProcess("/usr/bin/pdftoppm", ["-png", "-r", "50", "-f", "1", "-l", "1", path, image])
        #expect(await render.waitForExit(timeout: .seconds(30)) == 0, "\(render.output)")
        let rendered =
            (try? FileManager.default.contentsOfDirectory(atPath: "/tmp"))?.filter {
                $0.hasPrefix(String(image.dropFirst(5))) && $0.hasSuffix(".png")
            } ?? []
        #expect(rendered.count == 1)
        for file in rendered {
            let size = (try? FileManager.default.attributesOfItem(atPath: "/tmp/" + file)[.size] as? Int) ?? 0
            #expect(size > 1_000)
            try? FileManager.default.removeItem(atPath: "/tmp/" + file)
        }
    }

    @Test func pdfTextIsEscapedAndWinAnsiEncoded() {
        #expect(PDFWriter.literal("a (b) \\ c") == "a \\(b\\) \\\\ c")
        #expect(PDFWriter.literal("€ – é ✓") == "\\200 \\226 \\351 ?")
        #expect(PDFWriter.width(of: "Hello", font: .regular, size: 10) == Double(722 + 556 + 222 + 222 + 556) / 100)
        #expect(PDFWriter.fitted("A long label indeed", font: .regular, size: 10, width: 40).hasSuffix("…"))
    }

    /// A line chart's points: zero at the bottom of a positive range, the largest at the top.
    @Test func chartShapesFollowTheValues() {
        let chart = Chart(
            kind: .line, title: "P&L", labels: ["a", "b", "c"], series: [("pnl", [0, 5, 10])], unit: nil)
        let shapes = chart.shapes(width: 200, height: 100, primary: .black, accent: .grey)
        let line = shapes.compactMap { shape -> [(Double, Double)]? in
            if case .polyline(let points, _, _) = shape { return points }
            return nil
        }.first
        let points = try! #require(line)
        // Plot: x from 70 to 185, y from 28 (10) to 64 (0).
        #expect(points.map(\.0) == [70, 127.5, 185])
        #expect(points.map(\.1) == [64, 46, 28])
        let empty = Chart(kind: .bar, title: "none", labels: [], series: [("x", [])], unit: nil)
        #expect(empty.shapes(width: 200, height: 100, primary: .black, accent: .grey).count == 2)
    }
}
