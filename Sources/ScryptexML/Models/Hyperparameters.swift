import ScryptexCore
import ScryptexQuant

/// Reads a model's hyperparameters from a request, naming every bad or unknown one.
struct HyperparameterReader {
    let values: [String: ParameterValue]
    let field: String
    private(set) var read: Set<String> = []

    init(_ values: [String: ParameterValue], field: String = "hyperparameters") {
        self.values = values
        self.field = field
    }

    func problem(_ key: String, _ message: String) -> ServiceError {
        ServiceError(.invalidInput, "field '\(field).\(key)': \(message)")
    }

    mutating func number(_ key: String, default value: Double, in range: ClosedRange<Double>) throws -> Double {
        read.insert(key)
        guard let given = values[key] else { return value }
        guard case .number(let number) = given, range.contains(number) else {
            throw problem(key, "a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    mutating func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        try optionalInteger(key, in: range) ?? value
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        read.insert(key)
        guard let given = values[key] else { return nil }
        guard case .number(let number) = given, number == number.rounded(), range.contains(Int(exactly: number) ?? -1)
        else { throw problem(key, "a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return Int(number)
    }

    mutating func flag(_ key: String, default value: Bool) throws -> Bool {
        read.insert(key)
        guard let given = values[key] else { return value }
        guard case .flag(let flag) = given else { throw problem(key, "true or false") }
        return flag
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default value: Choice) throws -> Choice
    where Choice.RawValue == String {
        read.insert(key)
        guard let given = values[key] else { return value }
        guard case .text(let text) = given, let choice = Choice(rawValue: text) else {
            throw problem(key, "one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// Raw access for parameters with several shapes (a number or a word).
    mutating func raw(_ key: String) -> ParameterValue? {
        read.insert(key)
        return values[key]
    }

    /// Refuses keys that were never read.
    func finish(modelType: String) throws {
        if let unknown = values.keys.sorted().first(where: { !read.contains($0) }) {
            throw ServiceError(
                .invalidInput,
                "field '\(field).\(unknown)': not a hyperparameter of \(modelType) (it takes \(read.sorted().joined(separator: ", ")))"
            )
        }
    }
}
