public import Foundation
import ScryptexCore
public import ScryptexInstitutional
public import ScryptexMarketData
public import ScryptexPostgres
import Synchronization

/// The body of `POST /api/enterprise/quant-strategies/:id/backtest`: every field optional, every
/// name checked (a misspelt one is refused, never ignored).
public struct BacktestRequest: Sendable, Codable, Equatable {
    public var initialCapital: Double?
    /// A date (from its start) or a time; the period's first bar opens at or after it.
    public var start: String?
    /// A date (through its end) or a time (bars opening up to it).
    public var end: String?
    public var feesBps: Double?
    public var slippageBps: Double?
    public var sizing: String?
    public var fraction: Double?
    public var targetVolatility: Double?
    public var kellyCap: Double?
    public var sizingLookback: Int?
    public var allowShort: Bool?
    public var units: String?
    public var fill: String?
    public var riskFreeRate: Double?
    public var alpha: Double?

    /// The settings a person usually chooses (the period, capital and costs); the others keep
    /// their defaults.
    public init(
        start: String? = nil, end: String? = nil, initialCapital: Double? = nil, feesBps: Double? = nil,
        slippageBps: Double? = nil
    ) {
        self.start = start
        self.end = end
        self.initialCapital = initialCapital
        self.feesBps = feesBps
        self.slippageBps = slippageBps
    }

    static let fields: Set<String> = [
        "initialCapital", "start", "end", "feesBps", "slippageBps", "sizing", "fraction", "targetVolatility",
        "kellyCap", "sizingLookback", "allowShort", "units", "fill", "riskFreeRate", "alpha",
    ]

    struct Ignored: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// Decodes a JSON body, refusing fields it does not know.
    public static func decode(_ body: [UInt8]) throws -> BacktestRequest {
        let data = Data(body.isEmpty ? Array("{}".utf8) : body)
        guard let keys = try? JSONDecoder().decode([String: Ignored].self, from: data) else {
            throw ServiceError(.invalidInput, "the body is not a JSON object")
        }
        for key in keys.keys.sorted() where !fields.contains(key) {
            throw ServiceError(
                .invalidInput,
                "field '\(key)': not a backtest setting; they are \(fields.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(BacktestRequest.self, from: data)
        } catch let error as DecodingError {
            throw ServiceError(.invalidInput, DecodingErrorDescription.describe(error))
        }
    }

    public func settings() throws -> BacktestSettings {
        var settings = BacktestSettings()
        if let initialCapital { settings.initialCapital = initialCapital }
        if let start { settings.start = try MarketTime.start(start) }
        if let end { settings.end = try MarketTime.end(end) }
        if let feesBps { settings.feesBps = feesBps }
        if let slippageBps { settings.slippageBps = slippageBps }
        if let sizing {
            guard let rule = BacktestSettings.Sizing(rawValue: sizing) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'sizing': '\(sizing.prefix(40))' is not one of all_cash, fixed_fraction, volatility_target, kelly"
                )
            }
            settings.sizing = rule
        }
        if let fraction { settings.fraction = fraction }
        if let targetVolatility { settings.targetVolatility = targetVolatility }
        if let kellyCap { settings.kellyCap = kellyCap }
        if let sizingLookback { settings.sizingLookback = sizingLookback }
        if let allowShort { settings.allowShort = allowShort }
        if let units {
            guard let value = BacktestSettings.Units(rawValue: units) else {
                throw ServiceError(.invalidInput, "field 'units': '\(units.prefix(40))' is not whole or fractional")
            }
            settings.units = value
        }
        if let fill {
            guard let value = BacktestSettings.Fill(rawValue: fill) else {
                throw ServiceError(.invalidInput, "field 'fill': '\(fill.prefix(40))' is not next_open or close")
            }
            settings.fill = value
        }
        if let riskFreeRate { settings.riskFreeRate = riskFreeRate }
        if let alpha { settings.alpha = alpha }
        return try settings.validated()
    }
}

/// Runs a queued backtest: reads the bars from the data source, runs the engine and stores the
/// result, or records why it failed (and no result).
/// Where an `ml_signal` strategy's predictions come from (the machine-learning module): one
/// probability per bar that the next bar rises, NaN where the model has none; and a note on
/// the model for the result's conventions.
public protocol StrategySignalProvider: Sendable {
    func signal(
        for strategy: StrategyParameters, bars: BarSeries, in transaction: PostgresTransaction
    ) async throws -> (values: [Double], note: String)
}

public struct BacktestRunner: Sendable {
    public let source: any MarketDataSource
    public let signals: (any StrategySignalProvider)?

    public init(source: any MarketDataSource, signals: (any StrategySignalProvider)? = nil) {
        self.source = source
        self.signals = signals
    }

    /// - Parameters:
    ///   - withTransaction: Runs SQL as the backtest's tenant.
    ///   - progress: Percent done, at each stage.
    public func run(
        _ id: UUID, audit: any AuditSink,
        withTransaction: @Sendable (@Sendable (PostgresTransaction) async throws -> Void) async throws -> Void,
        progress: @Sendable (Int) async throws -> Void
    ) async throws {
        do {
            let loaded = LoadedBacktest()
            try await withTransaction { transaction in
                let (strategy, settings) = try await QuantStrategyService().start(id, in: transaction)
                var series: [BarSeries] = []
                for asset in strategy.assets {
                    series.append(
                        try await source.bars(
                            symbol: asset, timeframe: strategy.timeframe, dataset: strategy.dataset,
                            start: settings.start, end: settings.end, in: transaction))
                }
                var signal: (values: [Double], note: String)?
                if strategy.type == .mlSignal {
                    guard let signals else {
                        throw ServiceError(
                            .disabled, "ml_signal strategies need the machine-learning service on this host")
                    }
                    signal = try await signals.signal(for: strategy, bars: series[0], in: transaction)
                }
                loaded.value.withLock { $0 = (strategy, settings, series, signal) }
            }
            guard let (strategy, settings, series, signal) = loaded.value.withLock({ $0 }) else { return }
            try await progress(30)
            var computed = try BacktestEngine(strategy: strategy, settings: settings).run(
                series, signal: signal?.values)
            if let note = signal?.note { computed.conventions["model"] = note }
            let result = computed
            try await progress(90)
            try await withTransaction { transaction in
                try await QuantStrategyService().complete(id, result: result, audit: audit, in: transaction)
            }
        } catch {
            let message = (error as? ServiceError)?.message ?? "the backtest failed: \(error)"
            try await withTransaction { transaction in
                try await QuantStrategyService().fail(id, error: message, in: transaction)
            }
            throw error
        }
    }
}

/// What the first transaction read, handed out of its closure.
final class LoadedBacktest: Sendable {
    let value = Mutex<(StrategyParameters, BacktestSettings, [BarSeries], (values: [Double], note: String)?)?>(nil)
}
