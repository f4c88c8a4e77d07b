import Foundation

/// Name normalisation and similarity for screening.
public enum NameMatching {
    /// Legal-form words that say nothing about who a company is.
    static let companySuffixes: Set<String> = [
        "ltd", "limited", "llc", "inc", "incorporated", "co", "corp", "corporation", "company", "sa", "s", "a", "ag",
        "gmbh", "plc", "bv", "nv", "srl", "spa", "llp", "lp", "oy", "ab", "as", "jsc", "ojsc", "cjsc", "pjsc", "ooo",
        "zao", "oao", "the", "de", "cv", "sarl", "sas", "kg", "pte", "pty", "fze", "fzco", "est", "of", "and", "for",
    ]

    /// Lowercase, accents removed, punctuation as spaces, `LAST, First` turned to `first last`,
    /// company suffixes dropped; the tokens that remain.
    public static func tokens(of name: String) -> [String] {
        // Plain ASCII names (most counterparties) skip Foundation's Unicode folding.
        var text =
            name.utf8.allSatisfy({ $0 < 0x80 })
            ? String(decoding: name.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
            : name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
        // "LAST, First" (OFAC's individuals): the part after the first comma goes first.
        if let comma = text.firstIndex(of: ","), text.filter({ $0 == "," }).count == 1 {
            let last = text[..<comma]
            let first = text[text.index(after: comma)...]
            if !first.trimmingCharacters(in: .whitespaces).isEmpty { text = first + " " + last }
        }
        let cleaned = String(
            text.unicodeScalars.map { scalar in
                if scalar.isASCII {
                    let value = scalar.value
                    let alphanumeric =
                        (0x30...0x39).contains(value) || (0x61...0x7A).contains(value)
                        || (0x41...0x5A).contains(value)
                    return alphanumeric ? Character(scalar) : " "
                }
                return CharacterSet.alphanumerics.contains(scalar) ? Character(scalar) : " "
            })
        // Initials written with dots ("A.T.E.") become one word ("ate").
        var words: [String] = []
        var initials = ""
        for word in cleaned.split(separator: " ") {
            if word.count == 1 {
                initials += word
            } else {
                if !initials.isEmpty { words.append(initials) }
                initials = ""
                words.append(String(word))
            }
        }
        if !initials.isEmpty { words.append(initials) }
        let kept = words.filter { !companySuffixes.contains($0) }
        return kept.isEmpty ? words : kept
    }

    /// Jaro-Winkler similarity (0…1) with the usual prefix scale 0.1 over at most 4 characters.
    /// Words of up to 64 bytes keep their matched positions in two bit masks (no allocation).
    public static func jaroWinkler(_ left: [UInt8], _ right: [UInt8]) -> Double {
        left.withUnsafeBufferPointer { a in right.withUnsafeBufferPointer { b in jaroWinkler(a, b) } }
    }

    /// The same over borrowed bytes (the screener keeps its words in one flat buffer).
    static func jaroWinkler(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Double {
        if a.isEmpty || b.isEmpty { return a.isEmpty && b.isEmpty ? 1 : 0 }
        if a.count == b.count && a.elementsEqual(b) { return 1 }
        guard a.count <= 64, b.count <= 64 else { return jaroWinklerLong(Array(a), Array(b)) }
        let window = max(0, max(a.count, b.count) / 2 - 1)
        var leftMatched: UInt64 = 0
        var rightMatched: UInt64 = 0
        var matches = 0
        for i in 0..<a.count {
            let start = max(0, i - window)
            let end = min(b.count - 1, i + window)
            if start > end { continue }
            for j in start...end where rightMatched & (1 << UInt64(j)) == 0 && a[i] == b[j] {
                leftMatched |= 1 << UInt64(i)
                rightMatched |= 1 << UInt64(j)
                matches += 1
                break
            }
        }
        if matches == 0 { return 0 }
        var transpositions = 0
        var k = 0
        for i in 0..<a.count where leftMatched & (1 << UInt64(i)) != 0 {
            while rightMatched & (1 << UInt64(k)) == 0 { k += 1 }
            if a[i] != b[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(a.count) + m / Double(b.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, a.count, b.count) && a[prefix] == b[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    private static func jaroWinklerLong(_ left: [UInt8], _ right: [UInt8]) -> Double {
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
        return finish(matches: matches, transpositions: transpositions, left, right)
    }

    private static func finish(matches: Int, transpositions: Int, _ left: [UInt8], _ right: [UInt8]) -> Double {
        let m = Double(matches)
        let jaro = (m / Double(left.count) + m / Double(right.count) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, left.count, right.count) && left[prefix] == right[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    public static func jaroWinkler(_ left: String, _ right: String) -> Double {
        jaroWinkler(Array(left.utf8), Array(right.utf8))
    }

    /// How well two names match, whatever their word order: the mean of matching the query's
    /// words to the candidate's and the candidate's to the query's. In each direction a word is
    /// paired with its most similar word on the other side (Jaro-Winkler), weighted by its
    /// length and its weight (the screener gives common words such as "international" or
    /// "bank" less weight, so they cannot carry a match on their own). Matching both ways means
    /// a long listed name is not a match for a query that shares only one of its words.
    public static func score(
        query: [[UInt8]], candidate: [[UInt8]], queryWeights: [Double]? = nil, candidateWeights: [Double]? = nil
    ) -> Double {
        guard !query.isEmpty, !candidate.isEmpty else { return 0 }
        return
            (directed(query, to: candidate, weights: queryWeights)
            + directed(candidate, to: query, weights: candidateWeights)) / 2
    }

    static func directed(_ from: [[UInt8]], to: [[UInt8]], weights: [Double]?) -> Double {
        var total = 0.0
        var weight = 0.0
        for (position, token) in from.enumerated() {
            let tokenWeight = Double(token.count) * (weights?[position] ?? 1)
            var best = 0.0
            for other in to {
                best = max(best, jaroWinkler(token, other))
                if best == 1 { break }
            }
            total += best * tokenWeight
            weight += tokenWeight
        }
        return weight > 0 ? total / weight : 0
    }
}
