public import Foundation
import ScryptexCore
import ScryptexMarketData
public import ScryptexQuant

/// What a model is trained on: market data (a symbol's bars turned into features, the target
/// about the next bar) or an uploaded numeric CSV (a named target column).
public struct DatasetSpecification: Sendable, Codable, Equatable {
    public var symbol: String?
    public var timeframe: String?
    /// A tenant dataset's name (default: the platform's series).
    public var source: String?
    public var start: String?
    public var end: String?
    public var features: MarketFeatures?
    /// `nextDirection` or `nextReturn` for market data; the target column for an upload.
    public var target: String
    /// An uploaded CSV's id (`POST /api/enterprise/ml-datasets`).
    public var upload: UUID?
    public var split: SplitSpecification?

    static let fields: Set<String> = [
        "symbol", "timeframe", "source", "start", "end", "features", "target", "upload", "split",
    ]

    public var marketTarget: MarketFeatures.Target? { MarketFeatures.Target(rawValue: target) }
    public var resolvedSplit: SplitSpecification { split ?? SplitSpecification() }

    func validated(task: LearningTask) throws -> DatasetSpecification {
        var checked = self
        checked.split = try resolvedSplit.validated()
        switch (symbol, upload) {
        case (nil, nil), (.some, .some):
            throw ServiceError(
                .invalidInput, "field 'dataset': either 'symbol' (market data) or 'upload' (a CSV), one of them")
        case (.some(let symbol), nil):
            guard (1...40).contains(symbol.count) else {
                throw ServiceError(.invalidInput, "field 'dataset.symbol': 1 to 40 characters")
            }
            _ = try Timeframe.parse(timeframe ?? "1d")
            if let start { _ = try MarketTime.start(start, field: "dataset.start") }
            if let end { _ = try MarketTime.end(end, field: "dataset.end") }
            guard let target = marketTarget else {
                throw ServiceError(.invalidInput, "field 'dataset.target': nextDirection or nextReturn for market data")
            }
            guard (target == .nextDirection) == (task == .classification) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'dataset.target': \(target.rawValue) is a \(target == .nextDirection ? "classification" : "regression") target; the task is \(task.rawValue)"
                )
            }
            checked.features = try (features ?? MarketFeatures(laggedReturns: 10)).validated()
        case (nil, .some):
            guard features == nil, timeframe == nil, source == nil, start == nil, end == nil else {
                throw ServiceError(
                    .invalidInput, "field 'dataset': an upload takes 'upload', 'target' and 'split', no market fields")
            }
            guard (1...200).contains(target.count) else {
                throw ServiceError(.invalidInput, "field 'dataset.target': the target column's name")
            }
        }
        return checked
    }
}

/// A request to train a model: `POST /api/enterprise/accounts/:id/ml-models`.
public struct ModelRequest: Sendable, Codable, Equatable {
    public var name: String
    public var modelType: ModelType
    public var task: LearningTask
    public var hyperparameters: [String: ParameterValue]
    /// An ensemble's members' own hyperparameters, by member type.
    public var memberHyperparameters: [String: [String: ParameterValue]]
    public var dataset: DatasetSpecification
    public var seed: UInt64

    static let fields: Set<String> = ["name", "modelType", "task", "hyperparameters", "dataset", "seed"]

    /// A hyperparameter's value, or (in an ensemble) a member's hyperparameters.
    enum Entry: Decodable {
        case value(ParameterValue)
        case nested([String: ParameterValue])

        init(from decoder: any Decoder) throws {
            if let nested = try? [String: ParameterValue](from: decoder) {
                self = .nested(nested)
            } else {
                self = .value(try ParameterValue(from: decoder))
            }
        }
    }

    struct Body: Decodable {
        var name: String
        var modelType: String
        var task: String?
        var hyperparameters: [String: Entry]?
        var dataset: DatasetSpecification
        var seed: Double?
    }

    struct Ignored: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// Decodes and validates a request body, naming the first problem.
    public static func decode(_ bytes: [UInt8]) throws -> ModelRequest {
        let data = Data(bytes)
        struct Keys: Decodable {
            var outer: [String: Ignored]
            var dataset: [String: Ignored]?
            enum CodingKeys: CodingKey { case dataset }
            init(from decoder: any Decoder) throws {
                outer = try [String: Ignored](from: decoder)
                dataset = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(
                    [String: Ignored].self, forKey: .dataset)
            }
        }
        let keys: Keys
        do {
            keys = try JSONDecoder().decode(Keys.self, from: data)
        } catch {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        if let unknown = keys.outer.keys.sorted().first(where: { !fields.contains($0) }) {
            throw ServiceError(.invalidInput, "field '\(unknown.prefix(40))': not a field of a model request")
        }
        if let unknown = keys.dataset?.keys.sorted().first(where: { !DatasetSpecification.fields.contains($0) }) {
            throw ServiceError(.invalidInput, "field 'dataset.\(unknown.prefix(40))': not a dataset field")
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch let error as DecodingError {
            throw ServiceError(.invalidInput, DecodingErrorDescription.describe(error))
        } catch {
            throw ServiceError(.invalidInput, "the body is not a model request")
        }
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count), !name.contains(where: \.isNewline) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 200 characters on one line")
        }
        guard let type = ModelType(rawValue: body.modelType) else {
            throw ServiceError(
                .invalidInput,
                "field 'modelType': '\(body.modelType.prefix(40))' is not one of \(ModelType.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let taskName = body.task ?? "classification"
        guard let task = LearningTask(rawValue: taskName) else {
            throw ServiceError(.invalidInput, "field 'task': classification or regression")
        }
        var values: [String: ParameterValue] = [:]
        var nested: [String: [String: ParameterValue]] = [:]
        for (key, entry) in body.hyperparameters ?? [:] {
            switch entry {
            case .value(let value): values[key] = value
            case .nested(let members):
                guard type == .ensemble else {
                    throw ServiceError(
                        .invalidInput,
                        "field 'hyperparameters.\(key.prefix(40))': not a hyperparameter of \(type.rawValue)")
                }
                nested[key] = members
            }
        }
        let seed = body.seed ?? 42
        guard seed >= 0, seed <= 9_007_199_254_740_991, seed == seed.rounded() else {
            throw ServiceError(.invalidInput, "field 'seed': a whole number from 0 to 2^53 − 1")
        }
        let request = ModelRequest(
            name: name, modelType: type, task: task, hyperparameters: values, memberHyperparameters: nested,
            dataset: try body.dataset.validated(task: task), seed: UInt64(seed))
        _ = try request.trainingParameters()
        return request
    }

    /// The hyperparameters read for the model type (every bad one named).
    func trainingParameters() throws -> Any {
        switch modelType {
        case .randomForest: return try RandomForest.Parameters(hyperparameters, task: task)
        case .svm: return try SupportVectorMachine.Parameters(hyperparameters, task: task)
        case .lstm: return try LongShortTermMemory.Parameters(hyperparameters)
        case .ensemble: return try Ensemble.Parameters(hyperparameters, nested: memberHyperparameters, task: task)
        }
    }
}
