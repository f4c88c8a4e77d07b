import Foundation
import ScryptexApp
import ScryptexCompliance
import ScryptexCore
import ScryptexPostgres

struct SanctionsLoadCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "load",
        summary:
            "Load a list: ofac_sdn or ofac_consolidated (primary CSV, then alt, add and comments CSVs), or un_consolidated (XML).",
        arguments: [
            .required("source", "ofac_sdn, ofac_consolidated or un_consolidated."),
            .required("file", "The primary file (sdn.csv, cons_prim.csv or the UN XML)."),
            .optional("aliases", "OFAC only: alt.csv (or cons_alt.csv)."),
            .optional("addresses", "OFAC only: add.csv (or cons_add.csv)."),
            .optional(
                "comments",
                "OFAC only: sdn_comments.csv (or cons_comments.csv), the rest of remarks the primary file cuts off (wallet addresses among them)."
            ),
        ],
        discussion: "A file in the wrong format fails the whole load, naming the line; the active list stays."
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let arguments = invocation.arguments
        guard let source = SanctionsSource(rawValue: arguments[0]) else {
            context.errorOutput(
                "scryptex: unknown source '\(arguments[0])'; use \(SanctionsSource.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return ScryptexProgram.ExitCode.usage
        }
        var files: [Data] = []
        func read(_ path: String) throws -> Data {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                files.append(data)
                return data
            } catch {
                throw SanctionsFormatError(
                    file: path, line: nil, problem: "cannot be read (\(error.localizedDescription))")
            }
        }
        // The whole list is read and checked before anything is stored.
        let entries: [SanctionsEntry]
        do {
            switch source {
            case .unConsolidated:
                guard arguments.count == 2 else {
                    context.errorOutput("scryptex: un_consolidated takes exactly one XML file")
                    return ScryptexProgram.ExitCode.usage
                }
                entries = try UNListParser.parse(try read(arguments[1]), file: arguments[1])
            case .ofacSDN, .ofacConsolidated:
                func text(_ index: Int) throws -> String? {
                    guard index < arguments.count else { return nil }
                    return String(decoding: try read(arguments[index]), as: UTF8.self)
                }
                entries = try OFACListParser.parse(
                    primary: try text(1) ?? "", aliases: try text(2), addresses: try text(3), comments: try text(4),
                    names: (
                        arguments[1], arguments.count > 2 ? arguments[2] : "aliases",
                        arguments.count > 3 ? arguments[3] : "addresses"
                    ), commentsName: arguments.count > 4 ? arguments[4] : "comments")
            }
        } catch let error as SanctionsFormatError {
            context.errorOutput("scryptex: \(error); nothing was loaded, the active list is unchanged")
            return ScryptexProgram.ExitCode.failure
        }
        return try await DatabaseSetup.withPool(context.configuration, logger: context.logger) { [files] pool in
            let version = try await SanctionsStore().load(
                entries, source: source, files: files, loadedBy: "operator", on: pool)
            context.output(
                "loaded \(source.rawValue) version \(version.id.uuidString.lowercased()): \(version.entryCount) entries, now active"
            )
            return ScryptexProgram.ExitCode.success
        }
    }
}

struct SanctionsStatusCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "status", summary: "List the loaded versions; the active ones are marked.")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let versions = try await SanctionsStore().versions(on: pool)
        if versions.isEmpty { context.output("no sanctions lists loaded") }
        for version in versions {
            context.output(
                "\(version.active ? "*" : " ") \(version.source.rawValue)  \(version.id.uuidString.lowercased())  "
                    + "\(version.entryCount) entries  loaded \(ISO8601DateFormatter().string(from: version.loadedAt))  "
                    + "sha256 \(version.checksum.prefix(16))")
        }
        return ScryptexProgram.ExitCode.success
    }
}
