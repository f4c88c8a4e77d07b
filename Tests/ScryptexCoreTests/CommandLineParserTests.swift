import ScryptexCore
import Testing

@Suite("Command-line parser")
struct CommandLineParserTests {
    let parser = CommandLineParser(
        root: CommandDefinition(
            name: "tool",
            summary: "A tool.",
            subcommands: [
                CommandDefinition(
                    name: "tenant",
                    summary: "Tenants.",
                    subcommands: [
                        CommandDefinition(
                            name: "create",
                            summary: "Create a tenant.",
                            options: [
                                .value("name", "NAME", "Display name."),
                                .value("domain", "HOST", "A domain.", repeatable: true),
                                .flag("dry-run", "Change nothing."),
                                .value("owner", "EMAIL", "The first owner.", required: true),
                            ],
                            arguments: [.required("slug", "The slug."), .optional("note", "A note.")]
                        )
                    ]
                ),
                CommandDefinition(name: "version", summary: "Version."),
            ]
        )
    )

    @Test func parsesSubcommandsOptionsAndArguments() throws {
        let outcome = try parser.parse([
            "tenant", "create", "acme", "--name", "Acme Fund", "--domain=a.example", "--domain", "b.example",
            "--dry-run", "--owner", "o@acme.example",
        ])
        guard case .run(let invocation) = outcome else {
            Issue.record("expected a command, got \(outcome)")
            return
        }
        #expect(invocation.path == ["tenant", "create"])
        #expect(invocation.arguments == ["acme"])
        #expect(invocation.value("name") == "Acme Fund")
        #expect(invocation.allValues("domain") == ["a.example", "b.example"])
        #expect(invocation.hasFlag("dry-run"))
        #expect(invocation.value("owner") == "o@acme.example")
    }

    @Test func doubleDashEndsOptions() throws {
        guard case .run(let invocation) = try parser.parse(["tenant", "create", "--owner", "o", "--", "--odd"]) else {
            Issue.record("expected a command")
            return
        }
        #expect(invocation.arguments == ["--odd"])
    }

    @Test(arguments: [
        (["--help"], [String]()), (["-h"], []), (["tenant", "--help"], ["tenant"]),
        (["tenant", "create", "--help"], ["tenant", "create"]), (["help", "tenant", "create"], ["tenant", "create"]),
    ])
    func help(words: [String], path: [String]) throws {
        #expect(try parser.parse(words) == .help(path: path))
    }

    @Test(arguments: [
        (["bogus"], "unknown command 'bogus'"),
        (["tenant"], "missing command"),
        (["tenant", "create", "--owner", "o"], "missing argument <slug>"),
        (["tenant", "create", "acme"], "option '--owner' is required"),
        (["tenant", "create", "a", "b", "c", "--owner", "o"], "unexpected argument 'c'"),
        (["tenant", "create", "a", "--colour", "red"], "unknown option '--colour'"),
        (["tenant", "create", "a", "--name"], "option '--name' needs a value <NAME>"),
        (
            ["tenant", "create", "a", "--owner", "o", "--name", "x", "--name", "y"],
            "option '--name' is given more than once"
        ),
        (["tenant", "create", "a", "--dry-run=yes"], "option '--dry-run' takes no value"),
        (["tenant", "create", "a", "-x"], "unknown option '-x'"),
        (["--verbose"], "unknown option '--verbose'"),
    ])
    func errorsNameTheProblem(words: [String], message: String) {
        #expect(throws: CommandLineError.self) { try parser.parse(words) }
        do {
            _ = try parser.parse(words)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func helpListsCommandsOptionsAndArguments() {
        let text = parser.help(for: ["tenant", "create"])
        #expect(text.contains("USAGE: tool tenant create [options] <slug> [<note>]"))
        #expect(text.contains("--domain <HOST>"))
        #expect(text.contains("(repeatable)"))
        #expect(text.contains("The first owner. (required)"))
        #expect(text.contains("-h, --help"))
        let root = parser.help(for: [])
        #expect(root.contains("tenant"))
        #expect(root.contains("version"))
    }
}
