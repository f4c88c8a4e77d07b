/// Parses command-line words against a tree of `CommandDefinition`s and writes help text.
///
/// ```swift
/// let parser = CommandLineParser(root: definition)
/// switch try parser.parse(["db", "start"]) {
/// case .help(let path): print(parser.help(for: path))
/// case .run(let invocation): ...
/// }
/// ```
public struct CommandLineParser: Sendable {
    public let root: CommandDefinition

    public init(root: CommandDefinition) {
        self.root = root
    }

    /// What the words ask for.
    public enum Outcome: Sendable, Equatable {
        /// Help for the command at this path (empty for the program itself).
        case help(path: [String])
        case run(Invocation)
    }

    /// A parsed command: which command, with which options and arguments.
    public struct Invocation: Sendable, Equatable {
        /// Subcommand names from the root, e.g. `["db", "start"]`.
        public var path: [String]
        public var flags: Set<String>
        public var values: [String: [String]]
        public var arguments: [String]

        public init(path: [String], flags: Set<String> = [], values: [String: [String]] = [:], arguments: [String] = [])
        {
            self.path = path
            self.flags = flags
            self.values = values
            self.arguments = arguments
        }

        public func hasFlag(_ name: String) -> Bool { flags.contains(name) }

        /// The last value given for an option, if any.
        public func value(_ name: String) -> String? { values[name]?.last }

        /// Every value given for a repeatable option, in order.
        public func allValues(_ name: String) -> [String] { values[name] ?? [] }
    }

    /// Parses the words after the program name.
    /// - Throws: `CommandLineError` naming the unknown command or option, or the missing value.
    public func parse(_ words: [String]) throws(CommandLineError) -> Outcome {
        var command = root
        var path: [String] = []
        var index = 0

        // Walk down subcommands while the next word names one.
        while index < words.count, !command.subcommands.isEmpty {
            let word = words[index]
            if word == "--help" || word == "-h" || word == "help" {
                if word == "help", index + 1 < words.count {
                    return .help(path: path + words[(index + 1)...].filter { !$0.hasPrefix("-") })
                }
                return .help(path: path)
            }
            guard let next = command.subcommands.first(where: { $0.name == word }) else {
                if word.hasPrefix("-") {
                    throw CommandLineError(path: path, message: "unknown option '\(word)'")
                }
                throw CommandLineError(path: path, message: "unknown command '\(word)'")
            }
            command = next
            path.append(word)
            index += 1
        }
        if !command.subcommands.isEmpty {
            throw CommandLineError(path: path, message: "missing command")
        }

        var invocation = Invocation(path: path)
        var onlyArguments = false
        while index < words.count {
            let word = words[index]
            index += 1
            if onlyArguments || !word.hasPrefix("-") || word == "-" {
                invocation.arguments.append(word)
                continue
            }
            if word == "--" {
                onlyArguments = true
                continue
            }
            if word == "--help" || word == "-h" {
                return .help(path: path)
            }
            guard word.hasPrefix("--") else {
                throw CommandLineError(path: path, message: "unknown option '\(word)'")
            }
            var name = String(word.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = command.options.first(where: { $0.name == name }) else {
                throw CommandLineError(path: path, message: "unknown option '--\(name)'")
            }
            if option.takesValue {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if index < words.count {
                    value = words[index]
                    index += 1
                } else {
                    throw CommandLineError(
                        path: path, message: "option '--\(name)' needs a value <\(option.valueName!)>")
                }
                if !option.isRepeatable, invocation.values[name] != nil {
                    throw CommandLineError(path: path, message: "option '--\(name)' is given more than once")
                }
                invocation.values[name, default: []].append(value)
            } else {
                if inlineValue != nil {
                    throw CommandLineError(path: path, message: "option '--\(name)' takes no value")
                }
                invocation.flags.insert(name)
            }
        }

        for option in command.options where option.isRequired && invocation.values[option.name] == nil {
            throw CommandLineError(path: path, message: "option '--\(option.name)' is required")
        }
        let required = command.arguments.filter { !$0.isOptional }.count
        if invocation.arguments.count < required {
            let missing = command.arguments[invocation.arguments.count]
            throw CommandLineError(path: path, message: "missing argument <\(missing.name)>")
        }
        if invocation.arguments.count > command.arguments.count {
            let extra = invocation.arguments[command.arguments.count]
            throw CommandLineError(path: path, message: "unexpected argument '\(extra)'")
        }
        return .run(invocation)
    }

    /// The definition at a path of subcommand names, or nil if there is none.
    public func definition(at path: [String]) -> CommandDefinition? {
        var command = root
        for name in path {
            guard let next = command.subcommands.first(where: { $0.name == name }) else { return nil }
            command = next
        }
        return command
    }

    /// Help text for the command at `path`: usage line, summary, subcommands, arguments and options.
    public func help(for path: [String]) -> String {
        let command = definition(at: path) ?? root
        let fullName = ([root.name] + path).joined(separator: " ")
        var text = "\(command.summary)\n\nUSAGE: \(fullName)"
        if !command.subcommands.isEmpty {
            text += " <command>"
        }
        if !command.options.isEmpty {
            text += " [options]"
        }
        for argument in command.arguments {
            text += argument.isOptional ? " [<\(argument.name)>]" : " <\(argument.name)>"
        }
        text += "\n"
        if !command.subcommands.isEmpty {
            text += "\nCOMMANDS:\n"
            text += Self.table(command.subcommands.map { ($0.name, $0.summary) })
        }
        if !command.arguments.isEmpty {
            text += "\nARGUMENTS:\n"
            text += Self.table(command.arguments.map { ("<\($0.name)>", $0.summary) })
        }
        var optionRows = command.options.map { option in
            let name = "--\(option.name)" + (option.valueName.map { " <\($0)>" } ?? "")
            return (
                name,
                option.summary + (option.isRepeatable ? " (repeatable)" : "") + (option.isRequired ? " (required)" : "")
            )
        }
        optionRows.append(("-h, --help", "Show this help."))
        text += "\nOPTIONS:\n"
        text += Self.table(optionRows)
        if let discussion = command.discussion {
            text += "\n" + discussion + "\n"
        }
        if !command.subcommands.isEmpty {
            text += "\nSee '\(fullName) <command> --help' for a command's options.\n"
        }
        return text
    }

    private static func table(_ rows: [(String, String)]) -> String {
        let width = min((rows.map(\.0.count).max() ?? 0) + 2, 28)
        return rows.map { name, summary in
            let padding = name.count < width ? String(repeating: " ", count: width - name.count) : "  "
            return "  " + name + padding + summary
        }.joined(separator: "\n") + "\n"
    }
}

/// A command line that does not fit the program's commands; the message names the problem.
public struct CommandLineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The subcommand path reached before the problem, for printing that command's usage.
    public var path: [String]
    public var message: String

    public init(path: [String], message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { message }
}
