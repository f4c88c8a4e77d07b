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
        var weights: [Double] = []
        var tokenIDs: [Int32] = []
    }

    private let entries: [Entry]
    private let names: [Name]
    /// Every distinct name word, its weight, the names that contain it, and the words by their
    /// first two characters (a query word is compared with those only).
    private let vocabulary: [[UInt8]]
    /// The same words in one buffer (word `i` is `vocabularyBytes[starts[i]..<starts[i + 1]]`),
    /// so comparisons borrow bytes instead of retaining an array per word.
    private let vocabularyBytes: [UInt8]
    private let vocabularyStarts: [Int32]
    private let vocabularyWeights: [Double]
    private let postings: [[Int32]]
    private let vocabularyByPrefix: [UInt16: [Int32]]
    private let byAddress: [String: [Int]]
    private let tokenIDs: [[UInt8]: Int32]
    public let versions: [SanctionsSource: UUID]

    public init(lists: [LoadedList]) {
        var entries: [Entry] = []
        var names: [Name] = []
        var byAddress: [String: [Int]] = [:]
        var versions: [SanctionsSource: UUID] = [:]
        var tokenIDs: [[UInt8]: Int32] = [:]
        var vocabulary: [[UInt8]] = []
        var postings: [[Int32]] = []
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
                    for token in Set(tokens) {
                        let id: Int32
                        if let known = tokenIDs[token] {
                            id = known
                        } else {
                            id = Int32(vocabulary.count)
                            tokenIDs[token] = id
                            vocabulary.append(token)
                            postings.append([])
                        }
                        postings[Int(id)].append(nameIndex)
                    }
                }
                for address in entry.digitalCurrencyAddresses {
                    byAddress[Self.addressKey(address.address), default: []].append(position)
                }
            }
        }
        // A word's weight falls with the number of names it appears in.
        let vocabularyWeights = postings.map { Self.weight($0.count) }
        var vocabularyByPrefix: [UInt16: [Int32]] = [:]
        for (id, token) in vocabulary.enumerated() {
            if let key = Self.prefixKey(token) { vocabularyByPrefix[key, default: []].append(Int32(id)) }
        }
        for index in names.indices {
            names[index].tokenIDs = names[index].tokens.map { tokenIDs[$0]! }
            names[index].weights = names[index].tokenIDs.map { vocabularyWeights[Int($0)] }
        }
        var bytes: [UInt8] = []
        var starts: [Int32] = []
        for token in vocabulary {
            starts.append(Int32(bytes.count))
            bytes += token
        }
        starts.append(Int32(bytes.count))
        self.vocabularyBytes = bytes
        self.vocabularyStarts = starts
        self.entries = entries
        self.names = names
        self.vocabulary = vocabulary
        self.vocabularyWeights = vocabularyWeights
        self.postings = postings
        self.vocabularyByPrefix = vocabularyByPrefix
        self.byAddress = byAddress
        self.tokenIDs = tokenIDs
        self.versions = versions
    }

    public var entryCount: Int { entries.count }
    public var nameCount: Int { names.count }

    /// Candidates whose name or an alias scores at least `threshold`, best first, one per entry.
    ///
    /// Each query word is compared with the list's words that share its first two characters;
    /// the names containing a similar word are bounded from above by what the query side can
    /// score, and only those that can still reach the threshold are scored in full.
    public func screen(name: String, threshold: Double = 0.88, limit: Int = 10) -> [ScreeningCandidate] {
        let query = NameMatching.tokens(of: name).map { Array($0.utf8) }
        guard !query.isEmpty else { return [] }
        let weights = query.map { token in tokenIDs[token].map { vocabularyWeights[Int($0)] } ?? 1 }
        let queryWeights = zip(query, weights).map { Double($0.count) * $1 }
        let totalWeight = queryWeights.reduce(0, +)
        // The query side's best similarity per name and query word, in one flat buffer; every
        // word similarity is computed once per query and reused by every name with the word.
        let width = query.count
        var rowOf = [Int32](repeating: -1, count: names.count)
        var touched: [Int32] = []
        var similarities: [Double] = []
        var similarityOf = [Float](repeating: -1, count: vocabulary.count * width)
        func similarity(_ position: Int, _ id: Int32) -> Double {
            let slot = Int(id) * width + position
            let known = similarityOf[slot]
            if known >= 0 { return Double(known) }
            let start = Int(vocabularyStarts[Int(id)])
            let end = Int(vocabularyStarts[Int(id) + 1])
            let value = query[position].withUnsafeBufferPointer { a in
                vocabularyBytes.withUnsafeBufferPointer { all in
                    NameMatching.jaroWinkler(a, UnsafeBufferPointer(rebasing: all[start..<end]))
                }
            }
            similarityOf[slot] = Float(value)
            return value
        }
        for (position, token) in query.enumerated() {
            guard let key = Self.prefixKey(token) else { continue }
            for id in vocabularyByPrefix[key] ?? [] {
                let similarity = similarity(position, id)
                guard similarity >= Self.wordCutOff else { continue }
                for nameIndex in postings[Int(id)] {
                    var row = Int(rowOf[Int(nameIndex)])
                    if row < 0 {
                        row = similarities.count
                        rowOf[Int(nameIndex)] = Int32(row)
                        touched.append(nameIndex)
                        similarities.append(contentsOf: repeatElement(0, count: width))
                    }
                    similarities[row + position] = max(similarities[row + position], similarity)
                }
            }
        }
        var best: [Int: (score: Double, name: Int)] = [:]
        for nameIndex in touched {
            let row = Int(rowOf[Int(nameIndex)])
            // An upper bound of the query side, counting a word without a similar word (one that
            // shares its first two characters) as `unmatchedWordBound`; the candidate side is at
            // most 1. A name that cannot reach the threshold is not scored.
            var querySide = 0.0
            for position in 0..<width {
                querySide += max(similarities[row + position], Self.unmatchedWordBound) * queryWeights[position]
            }
            querySide /= totalWeight
            guard (querySide + 1) / 2 >= threshold else { continue }
            let candidate = names[Int(nameIndex)]
            // The same measure as `NameMatching.score`, from the cached word similarities.
            var forward = 0.0
            for position in 0..<width {
                var best = 0.0
                for id in candidate.tokenIDs { best = max(best, similarity(position, id)) }
                forward += best * queryWeights[position]
            }
            forward /= totalWeight
            var backward = 0.0
            var backwardWeight = 0.0
            for (index, id) in candidate.tokenIDs.enumerated() {
                var best = 0.0
                for position in 0..<width { best = max(best, similarity(position, id)) }
                let weight = Double(candidate.tokens[index].count) * candidate.weights[index]
                backward += best * weight
                backwardWeight += weight
            }
            let score = (forward + (backwardWeight > 0 ? backward / backwardWeight : 0)) / 2
            if score >= threshold, score > (best[candidate.entry]?.score ?? 0) {
                best[candidate.entry] = (score, Int(nameIndex))
            }
        }
        return best.sorted { $0.value.score > $1.value.score || ($0.value.score == $1.value.score && $0.key < $1.key) }
            .prefix(limit).map { position, match in
                candidate(
                    entries[position], matched: names[match.name].text, score: (match.score * 1000).rounded() / 1000)
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
            source: entry.source, listVersion: entry.version, identifier: entry.entry.identifier,
            name: entry.entry.name,
            matched: matched, score: score, kind: entry.entry.kind, programs: entry.entry.programs)
    }

    /// Words less similar than this are not followed to the names that contain them.
    static let wordCutOff = 0.75
    /// What a query word with no similar word in a name can at most add to the bound.
    static let unmatchedWordBound = 0.5

    /// A word in 10 list names weighs about 0.6; in 300, about 0.2; a rare one, 1.
    private static func weight(_ frequency: Int) -> Double {
        1 / (1 + log(1 + Double(frequency) / 10))
    }

    private static func prefixKey(_ token: [UInt8]) -> UInt16? {
        token.count >= 2 ? UInt16(token[0]) << 8 | UInt16(token[1]) : nil
    }

    private static func addressKey(_ address: String) -> String {
        address.hasPrefix("0x") || address.hasPrefix("0X") ? address.lowercased() : address
    }
}
