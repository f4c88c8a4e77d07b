import Foundation
import ScryptexCore
import ScryptexMarketData
import ScryptexQuant
import Testing

@testable import ScryptexML

@Suite("Training, evaluation and model files")
struct ModelTrainerTests {
    static func bars(_ count: Int = 600) throws -> BarSeries {
        var market = SyntheticMarket()
        market.bars = count
        market.symbol = "ETH-USD"
        return try market.generate()
    }

    static func request(_ json: String) throws -> ModelRequest { try ModelRequest.decode(Array(json.utf8)) }

    /// The issue's example request, as written, on synthetic bars; then every model kind is
    /// written to a file, read back and predicts exactly as before.
    @Test func everyKindTrainsEvaluatesAndSurvivesItsFile() throws {
        let bars = try Self.bars()
        let directory = "/tmp/scryptex-ml-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bodies = [
            #"{"name":"svm","modelType":"svm","task":"classification","hyperparameters":{"kernel":"rbf","C":1,"gamma":"scale"},"dataset":{"symbol":"ETH-USD","timeframe":"1d","features":{"laggedReturns":10},"target":"nextDirection","split":{"train":0.8,"test":0.2}},"seed":42}"#,
            #"{"name":"rf","modelType":"random_forest","hyperparameters":{"nEstimators":30},"dataset":{"symbol":"ETH-USD","features":{"laggedReturns":5,"rsi":[14],"volatility":[10],"movingAverageGaps":[20],"volumeChanges":2},"target":"nextDirection","split":{"train":0.6,"validation":0.2,"test":0.2,"walkForwardFolds":3}}}"#,
            #"{"name":"lstm","modelType":"lstm","task":"regression","hyperparameters":{"hiddenUnits":4,"epochs":3,"sequenceLength":5},"dataset":{"symbol":"ETH-USD","target":"nextReturn"}}"#,
            #"{"name":"ensemble","modelType":"ensemble","hyperparameters":{"method":"stacking","folds":2,"members":["random_forest","svm"],"random_forest":{"nEstimators":10}},"dataset":{"symbol":"ETH-USD","target":"nextDirection"}}"#,
        ]
        for body in bodies {
            let request = try Self.request(body)
            let features = try #require(request.dataset.features)
            let target = try #require(request.dataset.marketTarget)
            let data = try features.dataset(bars, target: target)
            let outcome = try ModelTrainer.train(request, data: data)
            let evaluation = outcome.evaluation
            #expect(evaluation.test.rows > 0 && evaluation.trainingProfile.count == data.features.columnCount)
            if request.task == .classification {
                let metrics = try #require(evaluation.classification)
                #expect(metrics.rows == evaluation.test.rows && metrics.baseline.accuracy > 0)
                #expect(metrics.confusionMatrix.flatMap { $0 }.reduce(0, +) == metrics.rows)
            } else {
                let metrics = try #require(evaluation.regression)
                #expect(metrics.baselines.map(\.rule) == ["the training mean", "the last value"])
            }
            if request.name == "rf" {
                #expect(evaluation.walkForward?.count == 3 && evaluation.validationClassification != nil)
                #expect(evaluation.featureImportances?.count == data.features.columnCount)
            }
            let file = try ModelFile(
                modelID: UUID(), modelVersion: 1, task: request.task, features: data.features.names, trainedAt: Date(),
                model: outcome.model)
            let path = try file.write(into: directory)
            let loaded = try ModelFile.read(path: path)
            #expect(loaded.model == outcome.model, "\(request.name)")
            #expect(
                loaded.model.predictions(for: data.features) == outcome.model.predictions(for: data.features),
                "\(request.name) predicts exactly as before")
            // One byte changed in the payload: refused, naming the checksum.
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count - 5] ^= 0x01
            #expect(throws: ServiceError.self) { try ModelFile(bytes: bytes, path: path) }
            do {
                _ = try ModelFile(bytes: bytes, path: path)
            } catch let error as ServiceError {
                #expect(error.code == .corrupt && error.message.contains("SHA-256"), "\(error.message)")
            }
        }
    }

    @Test func badRequestsAndBadDataAreNamed() throws {
        let cases: [(String, String)] = [
            (
                #"{"name":"x","modelType":"xgboost","dataset":{"symbol":"A","target":"nextDirection"}}"#,
                "field 'modelType': 'xgboost' is not one of"
            ),
            (
                #"{"name":"x","modelType":"svm","dataset":{"symbol":"A","target":"nextDirection"},"epochs":3}"#,
                "field 'epochs': not a field"
            ),
            (
                #"{"name":"x","modelType":"svm","hyperparameters":{"kernel":"poly"},"dataset":{"symbol":"A","target":"nextDirection"}}"#,
                "field 'hyperparameters.kernel'"
            ),
            (
                #"{"name":"x","modelType":"svm","dataset":{"symbol":"A","target":"nextReturn"}}"#,
                "field 'dataset.target': nextReturn is a regression target"
            ),
            (#"{"name":"x","modelType":"svm","dataset":{"target":"y"}}"#, "field 'dataset': either 'symbol'"),
            (
                #"{"name":"x","modelType":"svm","dataset":{"symbol":"A","target":"nextDirection","split":{"train":0.9,"test":0.2}}}"#,
                "field 'dataset.split': train, validation and test add up to"
            ),
            (
                #"{"name":"x","modelType":"svm","dataset":{"symbol":"A","target":"nextDirection","features":{"laggedReturns":0}}}"#,
                "field 'dataset.features.laggedReturns'"
            ),
            (
                #"{"name":"x","modelType":"lstm","dataset":{"symbol":"A","target":"nextDirection","colour":"red"}}"#,
                "field 'dataset.colour'"
            ),
            (
                #"{"modelType":"lstm","dataset":{"symbol":"A","target":"nextDirection"}}"#,
                "the field 'name' is required"
            ),
        ]
        for (body, message) in cases {
            do {
                _ = try Self.request(body)
                Issue.record("accepted \(body)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
        }
        // Data: a NaN, a class missing from the training rows, too few rows, a non-binary target.
        let request = try Self.request(
            #"{"name":"x","modelType":"random_forest","dataset":{"upload":"6f1c9a52-3f43-4c8e-9a52-6b8f1d0c2a11","target":"y"}}"#
        )
        let nan = KnownAnswers.data(["a"], [1, .nan] + Array(repeating: 1, count: 18), (0..<20).map { Double($0 % 2) })
        let oneClass = KnownAnswers.data(["a"], (0..<20).map(Double.init), (0..<20).map { $0 < 16 ? 0 : 1 })
        let tiny = KnownAnswers.data(["a"], [1, 2, 3], [0, 1, 0])
        let multi = KnownAnswers.data(["a"], (0..<20).map(Double.init), (0..<20).map { Double($0 % 3) })
        for (data, message) in [
            (nan, "the dataset's row 2 has a NaN or infinite value in feature 'a'"),
            (oneClass, "the training rows have no example of class 1"),
            (tiny, "the dataset has 3 rows"),
            (multi, "classification needs a target of 0 or 1; row 3 has 2.0"),
        ] {
            do {
                _ = try ModelTrainer.train(request, data: data)
                Issue.record("trained on \(message)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
        }
    }

    @Test func aNumericCSVNamesItsProblems() throws {
        let good = try NumericCSV.dataset(Array("a,b,y\r\n1,2,0\r\n3,\"4\",1\n".utf8), target: "y")
        #expect(good.features.names == ["a", "b"] && good.features.values == [1, 2, 3, 4] && good.targets == [0, 1])
        for (text, message) in [
            ("a,b\n1,2\n", "field 'dataset.target': the CSV has no column 'y'"),
            ("a,y\n1,x\n", "CSV line 2, column 'y': 'x' is not a finite number"),
            ("a,y\n1,nan\n", "CSV line 2, column 'y': 'nan' is not a finite number"),
            ("a,y\n1\n", "CSV line 2: 1 values where the header has 2"),
            ("", "the CSV is empty"),
        ] {
            do {
                _ = try NumericCSV.dataset(Array(text.utf8), target: "y")
                Issue.record("accepted \(text)")
            } catch let error as ServiceError {
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
        }
    }

    /// RSI by hand: four rises of 1 and one fall of 2 over period 5 → RS = 0.8/0.4, RSI 66.67.
    @Test func featuresFollowTheirDefinitions() throws {
        var bars = BarSeries(symbol: "T", timeframe: .oneDay)
        for (index, close) in [10.0, 11, 12, 13, 14, 12, 13].enumerated() {
            bars.append(Bar(time: Int64(index) * 86_400, open: close, high: close, low: close, close: close, volume: 5))
        }
        let rsi = MarketFeatures.relativeStrength(bars.close, period: 5)
        #expect(abs(rsi[5] - (100 - 100 / (1 + 0.8 / 0.4))) < 1e-12)
        let data = try MarketFeatures(laggedReturns: 2, movingAverageGaps: [3]).dataset(bars, target: .nextDirection)
        // Rows from bar 2 (both features defined) to bar 5 (bar 6 is the last next bar).
        #expect(data.count == 4 && data.features.names == ["return[t]", "return[t-1]", "maGap[3]"])
        #expect(abs(data.features[0, 0] - (12.0 / 11 - 1)) < 1e-15 && abs(data.features[0, 1] - 0.1) < 1e-15)
        #expect(abs(data.features[0, 2] - (12 / 11.0 - 1)) < 1e-15)
        #expect(data.targets == [1, 1, 0, 1])
    }
}
