import Foundation
import ScryptexCore
public import ScryptexMarketData
public import ScryptexPostgres
public import ScryptexQuant

/// The predictions an `ml_signal` strategy trades: the model's probability that each bar's
/// next bar rises, from the same features it was trained on, computed over the backtest's own
/// bars (so bar t's prediction uses bars up to t's close only; bars before the features are
/// defined have none).
public struct MLSignalProvider: StrategySignalProvider {
    public let store: ModelStore

    public init(store: ModelStore) {
        self.store = store
    }

    public func signal(
        for strategy: StrategyParameters, bars: BarSeries, in transaction: PostgresTransaction
    ) async throws -> (values: [Double], note: String) {
        guard let id = strategy.modelId else {
            throw ServiceError(.invalidInput, "field 'config.modelId': the strategy names no model")
        }
        let model: MLModel
        do {
            model = try await MLModelService().model(id, in: transaction)
        } catch let error as ServiceError where error.code == .notFound {
            throw ServiceError(.invalidInput, "field 'config.modelId': no model with this id")
        }
        guard model.request.task == .classification, let features = model.request.dataset.features else {
            throw ServiceError(
                .invalidInput,
                "field 'config.modelId': ml_signal trades a classification model trained on market data; '\(model.name)' is not one"
            )
        }
        let timeframe = try Timeframe.parse(model.request.dataset.timeframe ?? "1d")
        guard timeframe == bars.timeframe else {
            throw ServiceError(
                .invalidInput,
                "field 'config.timeframe': the model '\(model.name)' was trained on \(timeframe.rawValue) bars, the strategy trades \(bars.timeframe.rawValue)"
            )
        }
        let file = try await ModelServing(store: store).file(of: model, in: transaction)
        var values = [Double](repeating: .nan, count: bars.count)
        let rows = try features.latestRows(bars, count: bars.count)
        let predictions = file.model.predictions(for: rows.features)
        let offset = bars.count - rows.features.rowCount
        for (index, value) in predictions.enumerated() { values[offset + index] = value }
        var note = "model '\(model.name)' (\(model.modelType), version \(model.version))"
        if let evaluation = model.evaluation, let trainedTo = evaluation.train.to {
            note += "; it learnt from bars up to \(trainedTo): signals until then are in-sample"
            if let from = evaluation.test.from, let to = evaluation.test.to {
                note += "; its test rows (\(from) to \(to)) were not learnt from"
            }
        }
        return (values, note)
    }
}
