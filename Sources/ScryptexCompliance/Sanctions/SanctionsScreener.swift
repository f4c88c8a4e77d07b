public import Foundation

/// A possible match from screening.
public struct ScreeningCandidate: Sendable, Codable, Equatable {
    public var source: SanctionsSource
    /// The list version the entry came from, so the decision can be reproduced later.
    public var listVersion: UUID
    public var identifier: String
    public var name: String
    /// The name or alias that matched (or the address, for address matches).
    public var matched: String
    public var score: Double
    public var kind: SanctionsEntry.Kind
    public var programs: [String]
}

/// Screens names and digital-currency addresses against loaded lists, in memory.
///
/// Names are normalised (`NameMatching.tokens`) and compared token by token with Jaro-Winkler.
/// To stay fast with tens of thousands of names, a name is only compared with list names that
/// share a token beginning with the same two characters (a token whose first two letters are
/// misspelt therefore needs another token to be found). Addresses match exactly (case
/// sensitive for base58/bech32 forms, case-insensitive for `0x` hex).
public final class SanctionsScreener: Sendable {
    public struct LoadedList: Sendable {
        public var source: SanctionsSource
        public var version: UUID
        public var entries: [SanctionsEntry]

        public init(source: SanctionsSource, version: UUID, entries: [SanctionsEntry]) {
            self.source = source
            self.version = version
            self.entries = entries
        }
    }

    private struct Entry: Sendable {
        var source: SanctionsSource
        var version: UUID
        var entry: SanctionsEntry
    }

    private struct Name: Sendable {
        var entry: Int
        var text: String
        var tokens: [[UInt8]]
    }

    private let entries: [Entry]
    private let names: [Name]
    private let byPrefix: [UInt16: [Int32]]
    private let byAddress: [String: [Int]]
    public let versions: [SanctionsSource: UUID]

    public init(lists: [LoadedList]) {
        var entries: [Entry] = []
        var names: [Name] = []
        var byPrefix: [UInt16: [Int32]] = [:]
        var byAddress: [String: [Int]] = [:]
        var versions: [SanctionsSource: UUID] = [:]
        for list in lists {
            versions[list.source] = list.version
            for entry in list.entries {
                let position = entries.count
                entries.append(Entry(source: list.source, version: list.version, entry: entry))
                for text in [entry.name] + entry.aliases {
                    let tokens = NameMatching.tokens(of: text).map { Array($0.utf8) }
                    guard !tokens.isEmpty else { continue }
                    let nameIndex = Int32(names.count)
                    names.append(Name(entry: position, text: text, tokens: tokens))
                    for key in Set(tokens.compactMap(Self.prefixKey)) { byPrefix[key, default: []].append(nameIndex) }
                }
                for address in entry.digitalCurrencyAddresses {
                    byAddress[Self.addressKey(address.address), default: []].append(position)
                }
            }
        }
        self.entries = entries
        self.names = names
        self.byPrefix = byPrefix
        self.byAddress = byAddress
        self.versions = versions
    }

    public var entryCount: Int { entries.count }
    public var nameCount: Int { names.count }

    /// Candidates whose name or an alias scores at least `threshold`, best first, one per entry.
    public func screen(name: String, threshold: Double = 0.88, limit: Int = 10) -> [ScreeningCandidate] {
        let query = NameMatching.tokens(of: name).map { Array($0.utf8) }
        guard !query.isEmpty else { return [] }
        var seen = Set<Int32>()
        var best: [Int: (score: Double, name: Int)] = [:]
        for key in Set(query.compactMap(Self.prefixKey)) {
            for nameIndex in byPrefix[key] ?? [] where seen.insert(nameIndex).inserted {
                let candidate = names[Int(nameIndex)]
                let score = NameMatching.score(query: query, candidate: candidate.tokens)
                if score >= threshold, score > (best[candidate.entry]?.score ?? 0) {
                    best[candidate.entry] = (score, Int(nameIndex))
                }
            }
        }
        return best.sorted { $0.value.score > $1.value.score || ($0.value.score == $1.value.score && $0.key < $1.key) }
            .prefix(limit).map { position, match in
                candidate(entries[position], matched: names[match.name].text, score: (match.score * 1000).rounded() / 1000)
            }
    }

    /// Entries that list this exact digital-currency address.
    public func screen(address: String) -> [ScreeningCandidate] {
        (byAddress[Self.addressKey(address.trimmingCharacters(in: .whitespaces))] ?? []).map {
            candidate(entries[$0], matched: address, score: 1)
        }
    }

    private func candidate(_ entry: Entry, matched: String, score: Double) -> ScreeningCandidate {
        ScreeningCandidate(
            source: entry.source, listVersion: entry.version, identifier: entry.entry.identifier, name: entry.entry.name,
            matched: matched, score: score, kind: entry.entry.kind, programs: entry.entry.programs)
    }

    private static func prefixKey(_ token: [UInt8]) -> UInt16? {
        token.count >= 2 ? UInt16(token[0]) << 8 | UInt16(token[1]) : nil
    }

    private static func addressKey(_ address: String) -> String {
        address.hasPrefix("0x") || address.hasPrefix("0X") ? address.lowercased() : address
    }
}
