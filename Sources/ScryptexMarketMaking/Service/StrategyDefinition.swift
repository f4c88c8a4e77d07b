import Foundation
public import ScryptexCore

/// A market-making strategy as a user defines it: `POST
/// /api/enterprise/accounts/:id/market-making-strategies` (docs/MARKET_MAKING.md).
public struct MarketMakingDefinition: Sendable, Equatable, Codable {
    public var name: String
    public var markets: [Market]
    public var parameters: QuotingParameters
    /// The volatility estimate's half-life and window.
    public var volatilityHalfLifeSeconds: Double
    public var volatilityWindow: Int
    /// Markets sharing a base asset share one inventory for quoting.
    public var netting: Bool
    public var hedging: HedgePolicy?
    /// The strategy stops when its total P&L falls to −maximumLoss (quote currency).
    public var maximumLoss: ExactDecimal?

    /// The quoted markets and the hedge market: every market fills may arrive on.
    public var allMarkets: [Market] { markets + (hedging.map { [$0.market] } ?? []) }

    static let fields: Set<String> = [
        "name", "markets", "model", "parameters", "netting", "hedging", "maximumLoss",
    ]
    static let commonParameters: Set<String> = [
        "orderSize", "minimumSpread", "maximumSpread", "priceCeiling", "priceFloor", "inventoryTarget",
        "inventoryLimit", "volatility", "volatilityEstimate", "volatilityHalfLifeSeconds", "volatilityWindow",
    ]
    static let stoikovParameters: Set<String> = ["gamma", "kappa", "horizon", "horizonSeconds", "eta"]
    static let ladderParameters: Set<String> = [
        "levels", "spreadMode", "spread", "volatilityMultiple", "horizonSeconds", "levelSpacing", "sizeIncrement",
        "inventorySkew",
    ]

    /// A JSON value of a request, for strict reading.
    enum Value: Decodable {
        case number(Double)
        case text(String)
        case flag(Bool)
        case object([String: Value])
        case list([Value])
        case null

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let flag = try? container.decode(Bool.self) {
                self = .flag(flag)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let text = try? container.decode(String.self) {
                self = .text(text)
            } else if let list = try? container.decode([Value].self) {
                self = .list(list)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }
    }

    struct Reader {
        let values: [String: Value]
        let field: String

        func problem(_ key: String, _ message: String) -> ServiceError {
            ServiceError(.invalidInput, "field '\(field.isEmpty ? "" : field + ".")\(key)': \(message)")
        }

        func number(_ key: String, default value: Double? = nil) throws -> Double {
            switch values[key] {
            case .number(let number)?: return number
            case nil, .null?:
                guard let value else { throw problem(key, "required") }
                return value
            default: throw problem(key, "a number")
            }
        }

        func optionalNumber(_ key: String) throws -> Double? {
            switch values[key] {
            case nil, .null?: return nil
            case .number(let number)?: return number
            default: throw problem(key, "a number")
            }
        }

        func text(_ key: String, default value: String? = nil) throws -> String {
            switch values[key] {
            case .text(let text)?: return text
            case nil, .null?:
                guard let value else { throw problem(key, "required") }
                return value
            default: throw problem(key, "a string")
            }
        }

        func decimal(_ key: String, default value: ExactDecimal? = nil) throws -> ExactDecimal {
            switch values[key] {
            case .text(let text)?:
                guard let decimal = ExactDecimal(text) else {
                    throw problem(key, "'\(text.prefix(40))' is not a decimal")
                }
                return decimal
            case .number(let number)?:
                guard let decimal = ExactDecimal(String(number)) else { throw problem(key, "not a decimal") }
                return decimal
            case nil, .null?:
                guard let value else { throw problem(key, "required") }
                return value
            default: throw problem(key, "a decimal (a string such as \"0.01\")")
            }
        }

        func only(_ allowed: Set<String>, what: String) throws {
            if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw problem(unknown, "not a \(what)")
            }
        }
    }

    /// Reads and validates a request body, naming the first problem.
    public static func decode(_ bytes: [UInt8]) throws -> MarketMakingDefinition {
        let root: [String: Value]
        do {
            root = try JSONDecoder().decode([String: Value].self, from: Data(bytes))
        } catch {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        let reader = Reader(values: root, field: "")
        try reader.only(fields, what: "field of a market-making strategy")
        let name = try reader.text("name").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count), !name.contains(where: \.isNewline) else {
            throw reader.problem("name", "1 to 200 characters on one line")
        }
        guard case .list(let marketValues)? = root["markets"], (1...20).contains(marketValues.count) else {
            throw reader.problem("markets", "a list of 1 to 20 markets")
        }
        var markets: [Market] = []
        for (index, value) in marketValues.enumerated() {
            let field = "markets[\(index)]"
            guard case .object(let object) = value else {
                throw ServiceError(.invalidInput, "field '\(field)': an object")
            }
            markets.append(try market(object, field: field))
        }
        if let duplicate = Dictionary(grouping: markets, by: \.key).first(where: { $0.value.count > 1 })?.key {
            throw reader.problem("markets", "\(duplicate) is listed twice")
        }
        let modelName = try reader.text("model")
        guard case .object(let values)? = root["parameters"] else {
            throw reader.problem("parameters", "an object of the model's parameters")
        }
        let parameters = Reader(values: values, field: "parameters")
        let model: QuotingParameters.Model
        switch modelName {
        case "avellaneda_stoikov":
            try parameters.only(commonParameters.union(stoikovParameters), what: "parameter of avellaneda_stoikov")
            let horizon = try parameters.text("horizon", default: "infinite")
            guard let horizonKind = QuotingParameters.AvellanedaStoikov.Horizon(rawValue: horizon) else {
                throw parameters.problem("horizon", "finite or infinite")
            }
            model = .avellanedaStoikov(
                .init(
                    gamma: try parameters.number("gamma"), kappa: try parameters.optionalNumber("kappa"),
                    horizon: horizonKind, horizonSeconds: try parameters.number("horizonSeconds", default: 60),
                    eta: try parameters.number("eta", default: 0)))
        case "ladder":
            try parameters.only(commonParameters.union(ladderParameters), what: "parameter of ladder")
            guard
                let mode = QuotingParameters.Ladder.SpreadMode(
                    rawValue: try parameters.text("spreadMode", default: "fixed"))
            else { throw parameters.problem("spreadMode", "fixed or volatility") }
            let levels = try parameters.number("levels", default: 1)
            guard levels == levels.rounded(), (1...20).contains(levels) else {
                throw parameters.problem("levels", "1 to 20")
            }
            model = .ladder(
                .init(
                    levels: Int(levels), spreadMode: mode, spread: try parameters.number("spread", default: 0),
                    volatilityMultiple: try parameters.number("volatilityMultiple", default: 0),
                    horizonSeconds: try parameters.number("horizonSeconds", default: 0),
                    levelSpacing: try parameters.number("levelSpacing", default: 0),
                    sizeIncrement: try parameters.number("sizeIncrement", default: 0),
                    inventorySkew: try parameters.number("inventorySkew", default: 0)))
        default:
            throw reader.problem("model", "'\(modelName.prefix(40))' is not avellaneda_stoikov or ladder")
        }
        guard
            let estimate = QuotingParameters.VolatilityChoice(
                rawValue: try parameters.text("volatilityEstimate", default: "ewma"))
        else { throw parameters.problem("volatilityEstimate", "ewma or realised") }
        let quoting = try QuotingParameters(
            model: model, orderSize: try parameters.number("orderSize"),
            minimumSpread: try parameters.number("minimumSpread", default: 0),
            maximumSpread: try parameters.optionalNumber("maximumSpread"),
            priceCeiling: try parameters.optionalNumber("priceCeiling"),
            priceFloor: try parameters.optionalNumber("priceFloor"),
            inventoryTarget: try parameters.number("inventoryTarget", default: 0),
            inventoryLimit: try parameters.number("inventoryLimit"),
            volatility: try parameters.optionalNumber("volatility"),
            volatilityEstimate: estimate
        ).validated()
        // A band price must sit on every market's grid.
        for (key, value) in [("priceCeiling", quoting.priceCeiling), ("priceFloor", quoting.priceFloor)] {
            guard let value else { continue }
            for market in markets {
                let ticks = value / market.tickSize.doubleValue
                guard abs(ticks - ticks.rounded()) < 1e-6 else {
                    throw parameters.problem(
                        key, "\(value) is not a multiple of \(market.key)'s tick size \(market.tickSize)")
                }
            }
        }
        let halfLife = try parameters.number("volatilityHalfLifeSeconds", default: 300)
        guard halfLife > 0, halfLife <= 31_536_000 else {
            throw parameters.problem("volatilityHalfLifeSeconds", "above 0, at most a year")
        }
        let window = try parameters.number("volatilityWindow", default: 100)
        guard window == window.rounded(), (2...100_000).contains(window) else {
            throw parameters.problem("volatilityWindow", "2 to 100000 changes")
        }
        let netting: Bool
        switch root["netting"] {
        case nil, .null?: netting = true
        case .flag(let flag)?: netting = flag
        default: throw reader.problem("netting", "true or false")
        }
        var hedging: HedgePolicy?
        switch root["hedging"] {
        case nil, .null?: hedging = nil
        case .object(let object)?:
            let hedge = Reader(values: object, field: "hedging")
            try hedge.only(["market", "threshold", "ratio", "maximumOrderSize"], what: "hedging setting")
            guard case .object(let marketObject)? = object["market"] else {
                throw hedge.problem("market", "the market hedges are sent to")
            }
            hedging = try HedgePolicy(
                market: try market(marketObject, field: "hedging.market"), threshold: try hedge.number("threshold"),
                ratio: try hedge.number("ratio", default: 1), maximumOrderSize: try hedge.number("maximumOrderSize")
            ).validated()
        default: throw reader.problem("hedging", "an object")
        }
        if let hedge = hedging?.market, markets.contains(where: { $0.key == hedge.key }) {
            throw reader.problem("hedging.market", "\(hedge.key) is quoted by the strategy; hedge on another market")
        }
        var maximumLoss: ExactDecimal?
        if root["maximumLoss"] != nil {
            let loss = try reader.decimal("maximumLoss")
            guard !loss.isNegative, !loss.isZero else { throw reader.problem("maximumLoss", "above 0") }
            maximumLoss = loss
        }
        return MarketMakingDefinition(
            name: name, markets: markets, parameters: quoting, volatilityHalfLifeSeconds: halfLife,
            volatilityWindow: Int(window), netting: netting, hedging: hedging, maximumLoss: maximumLoss)
    }

    static func market(_ object: [String: Value], field: String) throws -> Market {
        let reader = Reader(values: object, field: field)
        try reader.only(["symbol", "venue", "tickSize", "lotSize", "minimumNotional"], what: "market setting")
        return try Market(
            symbol: try reader.text("symbol"), venue: try reader.text("venue"),
            tickSize: try reader.decimal("tickSize"),
            lotSize: try reader.decimal("lotSize"),
            minimumNotional: try reader.decimal("minimumNotional", default: .zero)
        ).validated(field: field)
    }
}
