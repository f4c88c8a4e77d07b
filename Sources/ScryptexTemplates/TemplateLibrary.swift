import Foundation

/// The templates of a folder (`<name>.mustache`), all parsed when loaded so a broken template
/// stops start-up instead of a page, and never parsed again. Every template can be used as a
/// partial or a parent of the others.
public struct TemplateLibrary: Sendable {
    public let sources: [String: String]
    private let templates: [String: Template]

    public init(sources: [String: String]) throws(TemplateError) {
        var templates: [String: Template] = [:]
        for (name, source) in sources { templates[name] = try Template(source, name: name + ".mustache") }
        self.sources = sources
        self.templates = templates
    }

    /// Loads every `*.mustache` file of `directory`.
    /// - Throws: `TemplateError` when the folder cannot be read, holds no templates, or one does
    ///   not parse (naming the file and line).
    public init(directory: String) throws(TemplateError) {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mustache") }
        } catch {
            throw TemplateError("the templates folder '\(directory)' cannot be read")
        }
        guard !files.isEmpty else { throw TemplateError("the templates folder '\(directory)' has no .mustache files") }
        var sources: [String: String] = [:]
        for file in files {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                throw TemplateError("the template '\(directory)/\(file)' cannot be read")
            }
            sources[String(file.dropLast(".mustache".count))] = String(decoding: data, as: UTF8.self)
        }
        try self.init(sources: sources)
    }

    public var names: [String] { templates.keys.sorted() }

    /// Renders the template `name` with `value`.
    public func render(_ name: String, _ value: TemplateValue) throws(TemplateError) -> String {
        guard let template = templates[name] else { throw TemplateError("there is no template '\(name)'") }
        return try template.render(value, partials: sources, parsed: templates)
    }
}
