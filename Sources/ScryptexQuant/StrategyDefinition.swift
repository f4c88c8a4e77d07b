public import Foundation
import ScryptexCore
public import ScryptexMarketData

/// A value in a strategy's `config` or `riskParameters`: a number, a string, a list of strings
/// or a flag.
public enum ParameterValue: Sendable, Equatable, Codable {
    case number(Double)
    case text(String)
    case list([String])
    case numbers([Double])
    case flag(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let list = try? container.decode([String].self) {
            self = .list(list)
        } else if let numbers = try? container.decode([Double].self) {
            self = .numbers(numbers)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a number, a string, a list of strings or of numbers, or true/false")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        case .numbers(let value): try container.encode(value)
        case .flag(let value): try container.encode(value)
        }
    }
}

/// The kinds of strategy the engine runs.
public enum StrategyType: String, Sendable, Codable, CaseIterable {
    /// Long when flat and z < −zscoreThreshold, out when z > exitZscore (short side mirrored).
    case meanReversion = "mean_reversion"
    /// Long when the return over lookbackPeriod bars is above entryThreshold, out below exitThreshold.
    case momentum
    /// Long while the fast moving average is above the slow one.
    case maCrossover = "ma_crossover"
    /// Long when the close breaks above the highest high of lookbackPeriod bars, out below the
    /// lowest low of exitPeriod bars.
    case breakout
    /// Long the spread ln A − β ln B when its z-score is below −zscoreThreshold, out above −exitZscore
    /// (short mirrored); β by rolling least squares over lookbackPeriod, or fixed.
    case pairs
    /// Trades a machine-learning model's probability that the next bar rises: long at or above
    /// entryThreshold, out below exitThreshold (short at or below 1 − entryThreshold when
    /// shorting is allowed, out above 1 − exitThreshold).
    case mlSignal = "ml_signal"

    public static var accepted: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A strategy's parameters, validated for its type: every required one present, every value in
/// range, no parameter the type does not know.
public struct StrategyParameters: Sendable, Equatable, Codable {
    public var type: StrategyType
    public var assets: [String]
    public var timeframe: Timeframe
    /// The tenant's dataset to read, or nil for the platform's market data.
    public var dataset: String?
    public var lookbackPeriod: Int
    public var zscoreThreshold: Double
    public var exitZscore: Double
    public var entryThreshold: Double
    public var exitThreshold: Double
    public var fastPeriod: Int
    public var slowPeriod: Int
    public var exitPeriod: Int
    /// Pairs: a fixed hedge ratio β, or nil for rolling least squares.
    public var hedgeRatio: Double?
    /// ml_signal: the model whose predictions it trades.
    public var modelId: UUID?
    public var risk: RiskParameters

    /// The bars the strategy needs before its first signal.
    public var warmUp: Int {
        switch type {
        case .meanReversion, .pairs, .momentum: lookbackPeriod
        case .maCrossover: slowPeriod
        case .breakout: max(lookbackPeriod, exitPeriod)
        case .mlSignal: 1
        }
    }

    static let known: [StrategyType: [String]] = [
        .meanReversion: ["assets", "lookbackPeriod", "zscoreThreshold", "exitZscore", "timeframe", "dataset"],
        .momentum: ["assets", "lookbackPeriod", "entryThreshold", "exitThreshold", "timeframe", "dataset"],
        .maCrossover: ["assets", "fastPeriod", "slowPeriod", "timeframe", "dataset"],
        .breakout: ["assets", "lookbackPeriod", "exitPeriod", "timeframe", "dataset"],
        .pairs: ["assets", "lookbackPeriod", "zscoreThreshold", "exitZscore", "hedgeRatio", "timeframe", "dataset"],
        .mlSignal: ["assets", "modelId", "entryThreshold", "exitThreshold", "timeframe", "dataset"],
    ]

    /// Validates `config` and `riskParameters` for `type`.
    public init(type name: String, config: [String: ParameterValue], riskParameters: [String: ParameterValue]) throws {
        guard let type = StrategyType(rawValue: name) else {
            throw ServiceError(
                .invalidInput, "field 'type': '\(name.prefix(40))' is not one of \(StrategyType.accepted)")
        }
        self.type = type
        let known = Self.known[type] ?? []
        for key in config.keys.sorted() where !known.contains(key) {
            throw ServiceError(
                .invalidInput,
                "field 'config.\(key)': not a parameter of \(type.rawValue); its parameters are \(known.joined(separator: ", "))"
            )
        }
        func number(_ key: String, default value: Double? = nil, _ range: ClosedRange<Double>) throws -> Double {
            switch config[key] {
            case .number(let number)?:
                guard range.contains(number) else {
                    throw ServiceError(
                        .invalidInput,
                        "field 'config.\(key)': \(number) is outside \(range.lowerBound)…\(range.upperBound)")
                }
                return number
            case nil:
                guard let value else {
                    throw ServiceError(.invalidInput, "field 'config.\(key)': required for \(type.rawValue)")
                }
                return value
            default: throw ServiceError(.invalidInput, "field 'config.\(key)': a number")
            }
        }
        func integer(_ key: String, default value: Int? = nil, _ range: ClosedRange<Int>) throws -> Int {
            let found = try number(
                key, default: value.map(Double.init), Double(range.lowerBound)...Double(range.upperBound))
            guard found == found.rounded() else {
                throw ServiceError(.invalidInput, "field 'config.\(key)': a whole number of bars")
            }
            return Int(found)
        }
        guard case .list(let assets)? = config["assets"], !assets.isEmpty else {
            throw ServiceError(.invalidInput, "field 'config.assets': a list of market symbols, e.g. [\"ETH-USD\"]")
        }
        let needed = type == .pairs ? 2 : 1
        guard assets.count == needed else {
            throw ServiceError(
                .invalidInput,
                "field 'config.assets': \(type.rawValue) trades \(needed) asset\(needed == 1 ? "" : "s"), not \(assets.count)"
            )
        }
        self.assets = try assets.map { try MarketSymbol.parse($0, field: "config.assets") }
        switch config["timeframe"] {
        case .text(let text)?: timeframe = try Timeframe.parse(text, field: "config.timeframe")
        case nil: timeframe = .oneDay
        default: throw ServiceError(.invalidInput, "field 'config.timeframe': one of \(Timeframe.accepted)")
        }
        switch config["dataset"] {
        case .text(let text)?: dataset = try MarketDataStore.datasetName(text, field: "config.dataset")
        case nil: dataset = nil
        default: throw ServiceError(.invalidInput, "field 'config.dataset': a dataset name")
        }
        lookbackPeriod = 20
        zscoreThreshold = 2
        exitZscore = 0
        entryThreshold = 0
        exitThreshold = 0
        fastPeriod = 10
        slowPeriod = 30
        exitPeriod = 10
        switch type {
        case .meanReversion, .pairs:
            lookbackPeriod = try integer("lookbackPeriod", 2...100_000)
            zscoreThreshold = try number("zscoreThreshold", 0.01...100)
            exitZscore = try number("exitZscore", default: 0, -100...100)
            guard exitZscore < zscoreThreshold else {
                throw ServiceError(
                    .invalidInput, "field 'config.exitZscore': must be below zscoreThreshold (\(zscoreThreshold))")
            }
            if type == .pairs, let beta = config["hedgeRatio"] {
                guard case .number(let value) = beta, value.isFinite, value != 0 else {
                    throw ServiceError(
                        .invalidInput,
                        "field 'config.hedgeRatio': a number other than 0 (omit it for rolling least squares)")
                }
                hedgeRatio = value
            }
        case .momentum:
            lookbackPeriod = try integer("lookbackPeriod", 1...100_000)
            entryThreshold = try number("entryThreshold", default: 0, -1...10)
            exitThreshold = try number("exitThreshold", default: 0, -1...10)
            guard exitThreshold <= entryThreshold else {
                throw ServiceError(.invalidInput, "field 'config.exitThreshold': must not be above entryThreshold")
            }
        case .maCrossover:
            fastPeriod = try integer("fastPeriod", 1...100_000)
            slowPeriod = try integer("slowPeriod", 2...100_000)
            guard fastPeriod < slowPeriod else {
                throw ServiceError(
                    .invalidInput, "field 'config.fastPeriod': must be shorter than slowPeriod (\(slowPeriod))")
            }
        case .breakout:
            lookbackPeriod = try integer("lookbackPeriod", 1...100_000)
            exitPeriod = try integer("exitPeriod", default: max(1, lookbackPeriod / 2), 1...100_000)
        case .mlSignal:
            guard case .text(let text)? = config["modelId"], let id = UUID(uuidString: text) else {
                throw ServiceError(.invalidInput, "field 'config.modelId': the id of a ready classification model")
            }
            modelId = id
            entryThreshold = try number("entryThreshold", default: 0.55, 0.5...1)
            exitThreshold = try number("exitThreshold", default: 0.5, 0...1)
            guard exitThreshold <= entryThreshold else {
                throw ServiceError(.invalidInput, "field 'config.exitThreshold': must not be above entryThreshold")
            }
        }
        risk = try RiskParameters(riskParameters)
    }
}

/// Risk controls every strategy takes, as fractions: `maxPositionSize` of equity in one
/// position (default 1, all of it), `stopLoss` and `takeProfit` from the entry price (intrabar,
/// at the level or at the open when it gaps through), and `maxDrawdown` of equity from its peak
/// (a circuit breaker: the position is closed and no new one opened).
public struct RiskParameters: Sendable, Equatable, Codable {
    public var maxPositionSize: Double = 1
    public var stopLoss: Double?
    public var takeProfit: Double?
    public var maxDrawdown: Double?

    public static let names = ["maxPositionSize", "stopLoss", "takeProfit", "maxDrawdown"]

    public init() {}

    public init(_ values: [String: ParameterValue]) throws {
        for key in values.keys.sorted() where !Self.names.contains(key) {
            throw ServiceError(
                .invalidInput,
                "field 'riskParameters.\(key)': not a risk parameter; they are \(Self.names.joined(separator: ", "))")
        }
        func fraction(_ key: String, upTo limit: Double) throws -> Double? {
            guard let value = values[key] else { return nil }
            guard case .number(let number) = value, number > 0, number <= limit else {
                throw ServiceError(
                    .invalidInput, "field 'riskParameters.\(key)': a fraction above 0 and at most \(limit)")
            }
            return number
        }
        maxPositionSize = try fraction("maxPositionSize", upTo: 1) ?? 1
        stopLoss = try fraction("stopLoss", upTo: 1)
        takeProfit = try fraction("takeProfit", upTo: 100)
        maxDrawdown = try fraction("maxDrawdown", upTo: 1)
    }
}
