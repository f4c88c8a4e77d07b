import Foundation

/// Encodes an `Encodable` value as compact JSON bytes, object keys in byte order: what
/// Foundation's `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]` and `.iso8601`
/// dates, except that a UUID — and any string that is exactly one — is written in lower case
/// (RFC 9562), so ids read the same on every route whichever way they were made.
///
/// It exists because every API response goes through it: it builds a small tree of the value
/// with no boxing of containers into existentials beyond what `Encodable` itself requires, and
/// writes the bytes straight into one array (no `Data`, no `String` in between).
///
/// ```swift
/// let body = try SortedJSONEncoder().encode(account)  // [UInt8]
/// ```
public struct SortedJSONEncoder: Sendable {
    public init() {}

    public func encode(_ value: some Encodable) throws -> [UInt8] {
        let node = try JSONTreeEncoder.node(for: value, at: nil)
        var output: [UInt8] = []
        output.reserveCapacity(512)
        node.write(to: &output)
        return output
    }
}

/// A value on its way to JSON text.
private enum JSONNode {
    case null
    case bool(Bool)
    /// A number already in its JSON form.
    case number(String)
    case string(String)
    case array(JSONArrayStorage)
    case object(JSONObjectStorage)
    /// What an encoder handed out by `superEncoder` ends up holding (read when written).
    case deferred(JSONTreeEncoder)

    func write(to output: inout [UInt8]) {
        switch self {
        case .null: Self.append("null", to: &output)
        case .bool(let value): Self.append(value ? "true" : "false", to: &output)
        case .number(let text): JSONString.appendUnquoted(text, toUTF8: &output)
        case .string(let text): Self.write(text, to: &output)
        case .array(let storage):
            output.append(UInt8(ascii: "["))
            for (index, item) in storage.items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let storage):
            output.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in storage.sortedEntries() {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                JSONString.append(key, toUTF8: &output)
                output.append(UInt8(ascii: ":"))
                value.write(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .deferred(let encoder):
            (encoder.node ?? .object(JSONObjectStorage())).write(to: &output)
        }
    }

    private static func append(_ literal: StaticString, to output: inout [UInt8]) {
        literal.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// A string literal; a UUID's hexadecimal digits in lower case.
    private static func write(_ text: String, to output: inout [UInt8]) {
        let start = output.count
        JSONString.append(text, toUTF8: &output)
        // 36 characters between the quotes, none of them escaped.
        guard output.count - start == 38, isIdentifier(output[(start + 1)..<(start + 37)]) else { return }
        for position in (start + 1)..<(start + 37)
        where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(output[position]) {
            output[position] += 32
        }
    }

    /// 8-4-4-4-12 hexadecimal digits.
    private static func isIdentifier(_ text: ArraySlice<UInt8>) -> Bool {
        for (offset, byte) in zip(0..., text) {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else if Hex.value(of: byte) == nil {
                return false
            }
        }
        return true
    }
}

// The storage classes and the encoder live only while one `encode` call runs, on its thread;
// they are never shared.
private final class JSONArrayStorage {
    var items: [JSONNode] = []
}

private final class JSONObjectStorage {
    var entries: [(key: String, value: JSONNode)] = []

    /// Entries in byte order of their keys; of a key encoded twice, the last value.
    func sortedEntries() -> [(key: String, value: JSONNode)] {
        guard entries.count > 1 else { return entries }
        let order = entries.indices.sorted { left, right in
            let leftKey = entries[left].key.utf8
            let rightKey = entries[right].key.utf8
            if leftKey.elementsEqual(rightKey) { return left < right }
            return leftKey.lexicographicallyPrecedes(rightKey)
        }
        var sorted: [(key: String, value: JSONNode)] = []
        sorted.reserveCapacity(entries.count)
        for index in order {
            if let last = sorted.last, last.key == entries[index].key {
                sorted[sorted.count - 1] = entries[index]
            } else {
                sorted.append(entries[index])
            }
        }
        return sorted
    }
}

/// The `Encoder` that builds a `JSONNode`. Its coding path is kept as a link to its parent and
/// built only when an error needs it.
private final class JSONTreeEncoder: Encoder {
    let parent: JSONTreeEncoder?
    let key: (any CodingKey)?
    var node: JSONNode?

    init(parent: JSONTreeEncoder?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var encoder: JSONTreeEncoder? = self
        while let current = encoder {
            if let key = current.key { path.append(key) }
            encoder = current.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let storage) = node {
            return KeyedEncodingContainer(JSONKeyedContainer(encoder: self, storage: storage))
        }
        let storage = JSONObjectStorage()
        node = .object(storage)
        return KeyedEncodingContainer(JSONKeyedContainer(encoder: self, storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let storage) = node { return JSONUnkeyedContainer(encoder: self, storage: storage) }
        let storage = JSONArrayStorage()
        node = .array(storage)
        return JSONUnkeyedContainer(encoder: self, storage: storage)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { JSONSingleValueContainer(encoder: self) }

    /// The node for a nested value: Foundation's types as `JSONEncoder` writes them, the rest
    /// through their own `encode(to:)`. (Metatypes compared first: no dynamic cast per value.)
    static func node<Value: Encodable>(
        for value: Value, at key: (any CodingKey)?, in parent: JSONTreeEncoder? = nil
    )
        throws -> JSONNode
    {
        if Value.self == Date.self { return .string(Timestamp.format(value as! Date)) }
        if Value.self == UUID.self { return .string((value as! UUID).uuidString) }
        if Value.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if Value.self == URL.self { return .string((value as! URL).absoluteString) }
        if Value.self == Decimal.self { return .number((value as! Decimal).description) }
        let encoder = JSONTreeEncoder(parent: parent, key: key)
        try value.encode(to: encoder)
        return encoder.node ?? .object(JSONObjectStorage())
    }

    static func number(_ value: Double, at path: @autoclosure () -> [any CodingKey]) throws -> JSONNode {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: path(), debugDescription: "\(value) is not a JSON number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }
}

private struct JSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONTreeEncoder
    let storage: JSONObjectStorage

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ node: JSONNode, for key: Key) {
        storage.entries.append((key.stringValue, node))
    }

    mutating func encodeNil(forKey key: Key) throws { set(.null, for: key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), for: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), for: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try JSONTreeEncoder.number(value, at: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try JSONTreeEncoder.number(Double(value), at: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.number(String(value)), for: key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try JSONTreeEncoder.node(for: value, at: key, in: encoder), for: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = JSONTreeEncoder(parent: encoder, key: key)
        set(.deferred(nested), for: key)
        return nested.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONTreeEncoder(parent: encoder, key: key)
        set(.deferred(nested), for: key)
        return nested.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let nested = JSONTreeEncoder(parent: encoder, key: JSONIndexKey(stringValue: "super"))
        storage.entries.append(("super", .deferred(nested)))
        return nested
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let nested = JSONTreeEncoder(parent: encoder, key: key)
        set(.deferred(nested), for: key)
        return nested
    }
}

private struct JSONUnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: JSONTreeEncoder
    let storage: JSONArrayStorage

    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { storage.items.count }
    private var nextKey: JSONIndexKey { JSONIndexKey(intValue: storage.items.count) }

    mutating func encodeNil() throws { storage.items.append(.null) }
    mutating func encode(_ value: Bool) throws { storage.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { storage.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws {
        storage.items.append(try JSONTreeEncoder.number(value, at: codingPath + [nextKey]))
    }
    mutating func encode(_ value: Float) throws {
        storage.items.append(try JSONTreeEncoder.number(Double(value), at: codingPath + [nextKey]))
    }
    mutating func encode(_ value: Int) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: Int8) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: Int16) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: Int32) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: Int64) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: UInt) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: UInt8) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: UInt16) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: UInt32) throws { storage.items.append(.number(String(value))) }
    mutating func encode(_ value: UInt64) throws { storage.items.append(.number(String(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        storage.items.append(try JSONTreeEncoder.node(for: value, at: nextKey, in: encoder))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = JSONTreeEncoder(parent: encoder, key: nextKey)
        storage.items.append(.deferred(nested))
        return nested.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONTreeEncoder(parent: encoder, key: nextKey)
        storage.items.append(.deferred(nested))
        return nested.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let nested = JSONTreeEncoder(parent: encoder, key: nextKey)
        storage.items.append(.deferred(nested))
        return nested
    }
}

private struct JSONSingleValueContainer: SingleValueEncodingContainer {
    let encoder: JSONTreeEncoder

    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.node = .null }
    mutating func encode(_ value: Bool) throws { encoder.node = .bool(value) }
    mutating func encode(_ value: String) throws { encoder.node = .string(value) }
    mutating func encode(_ value: Double) throws { encoder.node = try JSONTreeEncoder.number(value, at: codingPath) }
    mutating func encode(_ value: Float) throws {
        encoder.node = try JSONTreeEncoder.number(Double(value), at: codingPath)
    }
    mutating func encode(_ value: Int) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: Int8) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: Int16) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: Int32) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: Int64) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: UInt) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.node = .number(String(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.node = .number(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        // The same encoder: a value's single-value container holds what the nested value writes.
        encoder.node = try JSONTreeEncoder.node(for: value, at: nil, in: encoder)
    }
}

/// A key for an array position or a `super` entry.
private struct JSONIndexKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
