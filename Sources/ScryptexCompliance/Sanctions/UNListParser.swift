public import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the UN Security Council Consolidated List (XML): `INDIVIDUAL` and `ENTITY` records
/// with their names (`FIRST_NAME` … `FOURTH_NAME`), aliases and addresses.
public enum UNListParser {
    public static func parse(_ data: Data, file: String) throws -> [SanctionsEntry] {
        let delegate = Delegate()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse(), delegate.sawRoot else {
            let line = parser.lineNumber
            let problem =
                delegate.sawRoot
                ? (parser.parserError.map { "not well-formed XML: \($0.localizedDescription)" } ?? "not well-formed XML")
                : "not a UN consolidated list (no CONSOLIDATED_LIST element)"
            throw SanctionsFormatError(file: file, line: line > 0 ? line : nil, problem: problem)
        }
        if let open = delegate.openElement {
            throw SanctionsFormatError(
                file: file, line: parser.lineNumber, problem: "the file ends inside <\(open)>: it is cut short")
        }
        if let problem = delegate.problem {
            throw SanctionsFormatError(file: file, line: delegate.problemLine, problem: problem)
        }
        return delegate.entries
    }

    private final class Delegate: NSObject, XMLParserDelegate {
        var entries: [SanctionsEntry] = []
        var sawRoot = false
        var problem: String?
        var problemLine: Int?
        private var current: [String: [String]]?
        private var kind: SanctionsEntry.Kind = .individual
        private var text = ""
        private var addressParts: [String] = []
        private var path: [String] = []

        var openElement: String? { path.last }

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            path.append(name)
            text = ""
            switch name {
            case "CONSOLIDATED_LIST": sawRoot = true
            case "INDIVIDUAL", "ENTITY":
                current = [:]
                kind = name == "INDIVIDUAL" ? .individual : .entity
            case "INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS": addressParts = []
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            defer { path.removeLast() }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            text = ""
            guard current != nil else { return }
            switch name {
            case "DATAID", "FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME", "UN_LIST_TYPE", "COMMENTS1":
                if path.count >= 2, ["INDIVIDUAL", "ENTITY"].contains(path[path.count - 2]), !value.isEmpty {
                    current?[name, default: []].append(value)
                }
            case "ALIAS_NAME":
                if !value.isEmpty { current?["ALIAS", default: []].append(value) }
            case "STREET", "CITY", "STATE_PROVINCE", "COUNTRY":
                if path.contains("INDIVIDUAL_ADDRESS") || path.contains("ENTITY_ADDRESS"), !value.isEmpty {
                    addressParts.append(value)
                }
            case "INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS":
                if !addressParts.isEmpty {
                    current?["ADDRESS", default: []].append(addressParts.joined(separator: ", "))
                }
            case "INDIVIDUAL", "ENTITY":
                finish(parser)
            default: break
            }
        }

        private func finish(_ parser: XMLParser) {
            guard let fields = current else { return }
            current = nil
            let name = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"].compactMap { fields[$0]?.first }
                .joined(separator: " ")
            guard let identifier = fields["DATAID"]?.first, !name.isEmpty else {
                if problem == nil {
                    problem = "a \(kind == .individual ? "INDIVIDUAL" : "ENTITY") record has no DATAID or no name"
                    problemLine = parser.lineNumber
                }
                return
            }
            entries.append(
                SanctionsEntry(
                    identifier: identifier, name: name, kind: kind, programs: fields["UN_LIST_TYPE"] ?? [],
                    aliases: fields["ALIAS"] ?? [], addresses: fields["ADDRESS"] ?? [],
                    remarks: fields["COMMENTS1"]?.first))
        }
    }
}
