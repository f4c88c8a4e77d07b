import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small XML element tree for reading a message: local names (prefixes dropped), attributes,
/// text and children. External entities are never resolved; a document type declaration is
/// refused.
struct XMLTreeElement: Sendable {
    var name: String
    var namespace: String?
    var attributes: [String: String]
    var text: String
    var children: [XMLTreeElement]

    /// The first child named `name`.
    func child(_ name: String) -> XMLTreeElement? { children.first { $0.name == name } }

    func children(_ name: String) -> [XMLTreeElement] { children.filter { $0.name == name } }

    /// The element at a path of child names.
    func at(_ path: String...) -> XMLTreeElement? {
        var element: XMLTreeElement? = self
        for name in path { element = element?.child(name) }
        return element
    }

    /// The trimmed text at a path of child names.
    func value(_ path: String...) -> String? {
        var element: XMLTreeElement? = self
        for name in path { element = element?.child(name) }
        return element.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `data`; the largest document accepted is `maximumBytes`.
    static func parse(_ data: Data, maximumBytes: Int = 10_000_000) throws -> XMLTreeElement {
        guard data.count <= maximumBytes else { throw ParseError(description: "the document is over 10 MB") }
        if let text = String(data: data.prefix(4096), encoding: .utf8), text.contains("<!DOCTYPE") {
            throw ParseError(description: "a document type declaration is not accepted")
        }
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            let line = parser.lineNumber
            throw ParseError(
                description: "not well-formed XML (line \(line)): \(parser.parserError?.localizedDescription ?? "")")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLTreeElement] = []
        var root: XMLTreeElement?

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            let local = name.split(separator: ":").last.map(String.init) ?? name
            stack.append(
                XMLTreeElement(name: local, namespace: namespaceURI, attributes: attributes, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }
}
