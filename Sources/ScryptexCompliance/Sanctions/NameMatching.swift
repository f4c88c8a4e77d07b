import Foundation

/// Name normalisation and similarity for screening.
public enum NameMatching {
    /// Legal-form words that say nothing about who a company is.
    static let companySuffixes: Set<String> = [
        "ltd", "limited", "llc", "inc", "incorporated", "co", "corp", "corporation", "company", "sa", "s", "a", "ag",
        "gmbh", "plc", "bv", "nv", "srl", "spa", "llp", "lp", "oy", "ab", "as", "jsc", "ojsc", "cjsc", "pjsc", "ooo",
        "zao", "oao", "the", "de", "cv", "sarl", "sas", "kg", "pte", "pty", "fze", "fzco", "est",
    ]

    /// Lowercase, accents removed, punctuation as spaces, `LAST, First` turned to `first last`,
    /// company suffixes dropped; the tokens that remain.
    public static func tokens(of name: String) -> [String] {
        var text = name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
        // "LAST, First" (OFAC's individuals): the part after the first comma goes first.
        if let comma = text.firstIndex(of: ","), text.filter({ $0 == "," }).count == 1 {
            let last = text[..<comma]
            let first = text[text.index(after: comma)...]
            if !first.trimmingCharacters(in: .whitespaces).isEmpty { text = first + " " + last }
        }
        let cleaned = String(
            text.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : " " })
        let words = cleaned.split(separator: " ").map(String.init)
        let kept = words.filter { !companySuffixes.contains($0) }
        return kept.isEmpty ? words : kept
    }

    /// Jaro-Winkler similarity (0…1) with the usual prefix scale 0.1 over at most 4 characters.
    public static func jaroWinkler(_ left: [UInt8], _ right: [UInt8]) -> Double {
        if left.isEmpty || right.isEmpty { return left.isEmpty && right.isEmpty ? 1 : 0 }
        if left == right { return 1 }
        let window = max(0, max(left.count, right.count) / 2 - 1)
        var leftMatched = [Bool](repeating: false, count: left.count)
        var rightMatched = [Bool](repeating: false, count: right.count)
        var matches = 0
        for i in 0..<left.count {
            let start = max(0, i - window)
            let end = min(right.count - 1, i + window)
            if start > end { continue }
            for j in start...end where !rightMatched[j] && left[i] == right[j] {
                leftMatched[i] = true
                rightMatched[j] = true
                matches += 1
                break
            }
        }
        if matches == 0 { return 0 }
        var transpositions = 0
        var k = 0
        for i in 0..<left.count where leftMatched[i] {
            while !rightMatched[k] { k += 1 }
            if left[i] != right[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(left.count) + m / Double(right.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, left.count, right.count) && left[prefix] == right[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    public static func jaroWinkler(_ left: String, _ right: String) -> Double {
        jaroWinkler(Array(left.utf8), Array(right.utf8))
    }

    /// How well a query's tokens match a candidate's, whatever their order: each query token is
    /// paired with its best candidate token, weighted by length; a candidate token left without
    /// a partner lowers the score a little (so "John Smith" is not a perfect match for
    /// "John Smith Jones").
    public static func score(query: [[UInt8]], candidate: [[UInt8]]) -> Double {
        guard !query.isEmpty, !candidate.isEmpty else { return 0 }
        var total = 0.0
        var weight = 0.0
        var used = Set<Int>()
        for token in query {
            var best = 0.0
            var bestIndex = -1
            for (index, other) in candidate.enumerated() where !used.contains(index) {
                let similarity = jaroWinkler(token, other)
                if similarity > best {
                    best = similarity
                    bestIndex = index
                }
            }
            if bestIndex >= 0 { used.insert(bestIndex) }
            total += best * Double(token.count)
            weight += Double(token.count)
        }
        let unmatched = candidate.count - used.count
        let coverage = Double(used.count) / Double(used.count + unmatched)
        return (total / weight) * (0.9 + 0.1 * coverage)
    }
}
