import Foundation
import ScryptexCore

/// Reads OFAC's legacy CSV files: the primary file (`sdn.csv` / `cons_prim.csv`), aliases
/// (`alt.csv`), addresses (`add.csv`) and remarks overflow (`sdn_comments.csv` /
/// `cons_comments.csv`). No header row; `-0-` means empty; several programs are packed as
/// `PROG1] [PROG2`; digital-currency addresses are in the remarks as
/// `Digital Currency Address - XBT 1Abc…`. The primary file cuts long remarks off (mid-word,
/// even mid-address); the comments file carries the rest, so addresses are read from the
/// remarks joined back together.
public enum OFACListParser {
    public static func parse(
        primary: String, aliases: String?, addresses: String?, comments: String? = nil,
        names: (String, String, String), commentsName: String = "comments"
    )
        throws -> [SanctionsEntry]
    {
        var entries: [SanctionsEntry] = []
        var index: [String: Int] = [:]
        for (number, fields) in try CSVRecords.parse(primary, file: names.0).enumerated() {
            let line = number + 1
            guard fields.count == 12 else {
                throw SanctionsFormatError(
                    file: names.0, line: line,
                    problem: "expected 12 columns of the OFAC SDN format, found \(fields.count)")
            }
            let identifier = fields[0].trimmingSpaces
            guard !identifier.isEmpty, identifier.allSatisfy(\.isNumber) else {
                throw SanctionsFormatError(
                    file: names.0, line: line, problem: "ent_num '\(identifier)' is not a number")
            }
            guard let name = value(fields[1]) else {
                throw SanctionsFormatError(file: names.0, line: line, problem: "the name is empty")
            }
            let kind: SanctionsEntry.Kind =
                switch value(fields[2])?.lowercased() {
                case "individual": .individual
                case "vessel": .vessel
                case "aircraft": .aircraft
                default: .entity
                }
            let programs = (value(fields[3]) ?? "").split(separator: "]").map {
                $0.replacingOccurrences(of: "[", with: "").trimmingSpaces
            }.filter { !$0.isEmpty }
            let remarks = value(fields[11])
            index[identifier] = entries.count
            entries.append(
                SanctionsEntry(
                    identifier: identifier, name: name, kind: kind, programs: programs,
                    digitalCurrencyAddresses: remarks.map(digitalCurrencyAddresses(in:)) ?? [], remarks: remarks))
        }
        if let aliases {
            for (number, fields) in try CSVRecords.parse(aliases, file: names.1).enumerated() {
                guard fields.count >= 4 else {
                    throw SanctionsFormatError(
                        file: names.1, line: number + 1, problem: "expected 5 columns of the OFAC alt format")
                }
                guard let position = index[fields[0].trimmingSpaces] else {
                    throw SanctionsFormatError(
                        file: names.1, line: number + 1,
                        problem: "alias for unknown ent_num \(fields[0].trimmingSpaces)")
                }
                if let alias = value(fields[3]) { entries[position].aliases.append(alias) }
            }
        }
        if let addresses {
            for (number, fields) in try CSVRecords.parse(addresses, file: names.2).enumerated() {
                guard fields.count >= 5 else {
                    throw SanctionsFormatError(
                        file: names.2, line: number + 1, problem: "expected 6 columns of the OFAC add format")
                }
                guard let position = index[fields[0].trimmingSpaces] else {
                    throw SanctionsFormatError(
                        file: names.2, line: number + 1,
                        problem: "address for unknown ent_num \(fields[0].trimmingSpaces)")
                }
                let parts = fields[2...4].compactMap(value)
                if !parts.isEmpty { entries[position].addresses.append(parts.joined(separator: ", ")) }
            }
        }
        if let comments {
            for (number, fields) in try CSVRecords.parse(comments, file: commentsName).enumerated() {
                guard fields.count >= 2 else {
                    throw SanctionsFormatError(
                        file: commentsName, line: number + 1,
                        problem: "expected 2 columns of the OFAC comments format (ent_num, remarks)")
                }
                guard let position = index[fields[0].trimmingSpaces] else {
                    throw SanctionsFormatError(
                        file: commentsName, line: number + 1,
                        problem: "remarks for unknown ent_num \(fields[0].trimmingSpaces)")
                }
                // The continuation follows the cut exactly (no separator).
                let continuation = fields[1...].joined(separator: ",")
                let remarks = (entries[position].remarks ?? "") + continuation
                entries[position].remarks = remarks
                entries[position].digitalCurrencyAddresses = digitalCurrencyAddresses(in: remarks)
            }
        }
        return entries
    }

    static func value(_ field: String) -> String? {
        let trimmed = field.trimmingSpaces
        return trimmed.isEmpty || trimmed == "-0-" ? nil : trimmed
    }

    /// `Digital Currency Address - XBT 1Abc…` (and `alt. Digital Currency Address - ETH 0x…`).
    static func digitalCurrencyAddresses(in remarks: String) -> [DigitalCurrencyAddress] {
        var found: [DigitalCurrencyAddress] = []
        for part in remarks.split(separator: ";") {
            guard let range = part.range(of: "Digital Currency Address - ") else { continue }
            let words = part[range.upperBound...].split(separator: " ")
            guard words.count >= 2 else { continue }
            let address = words[1].trimmingCharacters(in: CharacterSet(charactersIn: ".,;"))
            found.append(DigitalCurrencyAddress(currency: String(words[0]), address: address))
        }
        return found
    }
}

/// The OFAC files' records (`ScryptexCore.CSVRecords`), a format error naming the file.
enum CSVRecords {
    static func parse(_ text: String, file: String) throws -> [[String]] {
        do {
            return try ScryptexCore.CSVRecords.parse(text)
        } catch {
            throw SanctionsFormatError(file: file, line: error.line, problem: error.problem)
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String { trimmingCharacters(in: .whitespaces) }
}
