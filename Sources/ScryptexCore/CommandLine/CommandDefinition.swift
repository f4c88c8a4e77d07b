/// Describes a command of a command-line program: its options, positional arguments and
/// subcommands. A tree of these is what `CommandLineParser` parses against and what help
/// text is generated from.
public struct CommandDefinition: Sendable {
    public var name: String
    public var summary: String
    public var options: [Option]
    public var arguments: [Argument]
    public var subcommands: [CommandDefinition]
    /// Extra text printed under the usage, such as examples.
    public var discussion: String?

    public init(
        name: String,
        summary: String,
        options: [Option] = [],
        arguments: [Argument] = [],
        subcommands: [CommandDefinition] = [],
        discussion: String? = nil
    ) {
        self.name = name
        self.summary = summary
        self.options = options
        self.arguments = arguments
        self.subcommands = subcommands
        self.discussion = discussion
    }

    /// A named option: a flag (`--force`) or an option with a value (`--tenant acme`,
    /// `--tenant=acme`).
    public struct Option: Sendable {
        public var name: String
        public var summary: String
        public var valueName: String?
        public var isRepeatable: Bool
        /// The command cannot run without this option.
        public var isRequired = false

        /// An option that takes no value.
        public static func flag(_ name: String, _ summary: String) -> Option {
            Option(name: name, summary: summary, valueName: nil, isRepeatable: false)
        }

        /// An option followed by a value; repeatable options collect every value given.
        public static func value(
            _ name: String, _ valueName: String, _ summary: String, repeatable: Bool = false, required: Bool = false
        ) -> Option {
            Option(name: name, summary: summary, valueName: valueName, isRepeatable: repeatable, isRequired: required)
        }
        public var takesValue: Bool { valueName != nil }
    }

    /// A positional argument.
    public struct Argument: Sendable {
        public var name: String
        public var summary: String
        public var isOptional: Bool

        public static func required(_ name: String, _ summary: String) -> Argument {
            Argument(name: name, summary: summary, isOptional: false)
        }

        public static func optional(_ name: String, _ summary: String) -> Argument {
            Argument(name: name, summary: summary, isOptional: true)
        }
    }
}
