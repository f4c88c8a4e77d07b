import Foundation
import ScryptexCore
import ScryptexML
import ScryptexMarketData

/// Model training on a real market file: the last `lags` simple returns → the next bar's
/// direction, the first 80 % of rows to train and the last 20 % to test. Writes the dataset as
/// CSV (`--dataset PATH`: the features, the target and a `split` column) so scikit-learn trains
/// on exactly the same rows, then prints one Markdown table row per model.
enum MLBench {
    static func run(
        file: String, timeframe: Timeframe, lags: Int, models: [String], seeds: Int, datasetPath: String?
    ) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        let bars = try CSVBarReader.series(bytes, symbol: "BENCH", timeframe: timeframe)
        let data = try MarketFeatures(laggedReturns: lags).dataset(bars, target: .nextDirection)
        let split = SplitSpecification(train: 0.8, test: 0.2).ranges(count: data.count)
        let train = data.rows(split.train)
        let test = data.rows(split.test)
        if let datasetPath {
            var text = (data.features.names + ["target", "split"]).joined(separator: ",") + "\n"
            for row in 0..<data.count {
                text += data.features.row(row).map { "\($0)" }.joined(separator: ",")
                text += ",\(Int(data.targets[row])),\(split.train.contains(row) ? "train" : "test")\n"
            }
            try text.write(toFile: datasetPath, atomically: true, encoding: .utf8)
        }
        let name = URL(fileURLWithPath: file).lastPathComponent
        let clock = ContinuousClock()
        for model in models {
            var accuracies: [Double] = []
            var times: [Double] = []
            var label = ""
            for seed in 0..<(model == "rf" ? seeds : 1) {
                let start = clock.now
                let predict: (ArraySlice<Double>) -> Double
                switch model {
                case "rf":
                    var parameters = RandomForest.Parameters()
                    parameters.trees = 200
                    parameters.outOfBagScore = false
                    let forest = try RandomForest(
                        training: train, task: .classification, parameters: parameters, seed: 42 + UInt64(seed))
                    predict = { forest.predict($0) >= 0.5 ? 1 : 0 }
                    label = "random forest, 200 trees, √p features, 2 threads"
                case "svm":
                    let svm = try SupportVectorMachine(
                        training: train, task: .classification, parameters: .init(), seed: 42)
                    predict = { svm.decision($0) > 0 ? 1 : 0 }
                    label = "SVC, RBF, C=1, gamma=scale, standardised (\(svm.coefficients.count) support vectors)"
                case "lstm":
                    var parameters = LongShortTermMemory.Parameters()
                    parameters.epochs = 20
                    let network = try LongShortTermMemory(
                        training: train, validation: nil, task: .classification, parameters: parameters, seed: 42)
                    let all = network.predictions(for: data.features, rows: split.test)
                    predict = { _ in 0 }
                    label =
                        "LSTM, 32 units, sequences of 10 rows, Adam, up to 20 epochs (best \(network.bestEpoch) of \(network.history.count)), 10 % of train held out"
                    let hits = (0..<test.count).filter { (all[$0] >= 0.5 ? 1.0 : 0.0) == test.targets[$0] }.count
                    accuracies.append(Double(hits) / Double(test.count))
                    times.append((clock.now - start).secondsValue)
                    continue
                default:
                    throw ServiceError(.invalidInput, "unknown model \(model)")
                }
                times.append((clock.now - start).secondsValue)
                let hits = (0..<test.count).filter { predict(test.features.row($0)) == test.targets[$0] }.count
                accuracies.append(Double(hits) / Double(test.count))
            }
            let meanAccuracy = accuracies.reduce(0, +) / Double(accuracies.count)
            let meanTime = times.reduce(0, +) / Double(times.count)
            let spread =
                accuracies.count > 1
                ? " (mean of \(accuracies.count) seeds, \(String(format: "%.2f", 100 * accuracies.min()!))–\(String(format: "%.2f", 100 * accuracies.max()!)))"
                : ""
            print(
                "| Scryptex (Swift, release) | \(name) | \(label) | \(train.count) / \(test.count) | \(String(format: "%.2f", 100 * meanAccuracy)) %\(spread) | \(String(format: "%.2f", meanTime)) s |"
            )
        }
    }
}
