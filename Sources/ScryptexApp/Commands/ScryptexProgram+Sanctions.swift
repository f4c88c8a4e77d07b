import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexPostgres

/// `scryptex sanctions load|status`.
extension ScryptexProgram {
    func sanctions(
        _ invocation: CommandLineParser.Invocation, _ configuration: Configuration, logger: Logger
    )
        async throws -> Int32
    {
        if invocation.path == ["sanctions", "status"] {
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                let versions = try await SanctionsStore().versions(on: pool)
                if versions.isEmpty { output("no sanctions lists loaded") }
                for version in versions {
                    output(
                        "\(version.active ? "*" : " ") \(version.source.rawValue)  \(version.id.uuidString.lowercased())  "
                            + "\(version.entryCount) entries  loaded \(ISO8601DateFormatter().string(from: version.loadedAt))  "
                            + "sha256 \(version.checksum.prefix(16))")
                }
                return ExitCode.success
            }
        }
        let arguments = invocation.arguments
        guard let source = SanctionsSource(rawValue: arguments[0]) else {
            errorOutput(
                "scryptex: unknown source '\(arguments[0])'; use \(SanctionsSource.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return ExitCode.usage
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
                    errorOutput("scryptex: un_consolidated takes exactly one XML file")
                    return ExitCode.usage
                }
                entries = try UNListParser.parse(try read(arguments[1]), file: arguments[1])
            case .ofacSDN, .ofacConsolidated:
                func text(_ index: Int) throws -> String? {
                    guard index < arguments.count else { return nil }
                    return String(decoding: try read(arguments[index]), as: UTF8.self)
                }
                entries = try OFACListParser.parse(
                    primary: try text(1) ?? "", aliases: try text(2), addresses: try text(3),
                    names: (
                        arguments[1], arguments.count > 2 ? arguments[2] : "aliases",
                        arguments.count > 3 ? arguments[3] : "addresses"
                    ))
            }
        } catch let error as SanctionsFormatError {
            errorOutput("scryptex: \(error); nothing was loaded, the active list is unchanged")
            return ExitCode.failure
        }
        return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
            let version = try await SanctionsStore().load(
                entries, source: source, files: files, loadedBy: "operator", on: pool)
            output(
                "loaded \(source.rawValue) version \(version.id.uuidString.lowercased()): \(version.entryCount) entries, now active"
            )
            return ExitCode.success
        }
    }
}
