import Foundation
import ScryptexCore
import ScryptexQuant
import Synchronization
import Testing

@testable import ScryptexML

@Suite("LSTM")
struct LongShortTermMemoryTests {
    /// Backpropagation through time against central differences of the loss, for every weight
    /// of a small two-layer network, on both tasks.
    @Test(arguments: [LearningTask.regression, .classification])
    func gradientsMatchFiniteDifferences(task: LearningTask) throws {
        var random = SeededRandom(seed: 11)
        let rows = 12
        let values = (0..<(rows * 2)).map { _ in random.nextNormal() }
        let targets = (0..<rows).map { _ in task == .classification ? Double(random.next() % 2) : random.nextNormal() }
        let data = KnownAnswers.data(["a", "b"], values, targets)
        var parameters = LongShortTermMemory.Parameters()
        parameters.hiddenUnits = 3
        parameters.layers = 2
        parameters.sequenceLength = 4
        parameters.epochs = 1
        parameters.learningRate = 1e-7
        let model = try LongShortTermMemory(
            training: data, validation: data.rows(8..<12), task: task, parameters: parameters, seed: 5)
        let inputs = model.standardizer.apply(data.features)
        let row = 7
        var gradients = LongShortTermMemory.Gradients(model: model)
        var unused = SeededRandom(seed: 1)
        _ = model.backpropagate(
            inputs: inputs, row: row, target: targets[row], gradients: &gradients, random: &unused)
        func loss(_ changed: LongShortTermMemory) -> Double {
            var g = LongShortTermMemory.Gradients(model: changed)
            var r = SeededRandom(seed: 1)
            return changed.backpropagate(inputs: inputs, row: row, target: targets[row], gradients: &g, random: &r)
        }
        let step = 1e-6
        var checked = 0
        for layer in model.layers.indices {
            for k in model.layers[layer].weights.indices {
                var up = model
                up.layers[layer].weights[k] += step
                var down = model
                down.layers[layer].weights[k] -= step
                let numeric = (loss(up) - loss(down)) / (2 * step)
                #expect(abs(numeric - gradients.layers[layer].weights[k]) < 1e-6, "layer \(layer) weight \(k)")
                checked += 1
            }
            for k in model.layers[layer].biases.indices {
                var up = model
                up.layers[layer].biases[k] += step
                var down = model
                down.layers[layer].biases[k] -= step
                let numeric = (loss(up) - loss(down)) / (2 * step)
                #expect(abs(numeric - gradients.layers[layer].biases[k]) < 1e-6, "layer \(layer) bias \(k)")
            }
        }
        for k in model.outputWeights.indices {
            var up = model
            up.outputWeights[k] += step
            var down = model
            down.outputWeights[k] -= step
            #expect(abs((loss(up) - loss(down)) / (2 * step) - gradients.outputWeights[k]) < 1e-6)
        }
        #expect(checked == 4 * 3 * (2 + 3) + 4 * 3 * (3 + 3), "every weight of both layers")
    }

    /// A noisy sine wave: from its last values the network predicts the next one far better
    /// than repeating the last value.
    @Test func aNoisySineWaveIsLearned() throws {
        var random = SeededRandom(seed: 4)
        let n = 500
        let wave = (0..<(n + 1)).map { sin(Double($0) * 0.2) + 0.05 * random.nextNormal() }
        let data = KnownAnswers.data(["x"], Array(wave[0..<n]), Array(wave[1...n]))
        var parameters = LongShortTermMemory.Parameters()
        parameters.hiddenUnits = 8
        parameters.sequenceLength = 10
        parameters.epochs = 30
        parameters.learningRate = 0.01
        let split = SplitSpecification(train: 0.7, validation: 0.1, test: 0.2).ranges(count: n)
        let model = try LongShortTermMemory(
            training: data.rows(split.train), validation: data.rows(split.validation), task: .regression,
            parameters: parameters, seed: 42)
        let predictions = Array(model.predictions(for: data.features)[split.test])
        let truth = Array(data.targets[split.test])
        let lastValue = Array(data.features.column(0)[split.test])
        let metrics = RegressionMetrics(truth: truth, predictions: predictions, baselines: [("last value", lastValue)])
        #expect(metrics.rSquared > 0.95, "R² \(metrics.rSquared)")
        #expect(metrics.meanSquaredError < metrics.baselines[0].meanSquaredError)
        #expect(model.bestEpoch >= 1 && model.history.count >= model.bestEpoch)
        // The same seed trains the same network.
        let again = try LongShortTermMemory(
            training: data.rows(split.train), validation: data.rows(split.validation), task: .regression,
            parameters: parameters, seed: 42)
        #expect(again == model)
    }

    @Test func hyperparametersAreValidatedAndNamed() throws {
        #expect(throws: ServiceError.self) { try LongShortTermMemory.Parameters(["hiddenUnits": .number(0)]) }
        #expect(throws: ServiceError.self) { try LongShortTermMemory.Parameters(["dropout": .number(1)]) }
        #expect(throws: ServiceError.self) { try LongShortTermMemory.Parameters(["units": .number(8)]) }
        let parsed = try LongShortTermMemory.Parameters(["hiddenUnits": .number(8), "dropout": .number(0.2)])
        #expect(parsed.hiddenUnits == 8 && parsed.dropout == 0.2)
    }

    @Test func cancellationStopsBetweenEpochsAndProgressReportsTheLoss() throws {
        let epochs = Mutex<[TrainingControl.Progress]>([])
        let control = TrainingControl(
            report: { progress in epochs.withLock { $0.append(progress) } },
            isCancelled: { epochs.withLock { $0.count >= 2 } })
        var parameters = LongShortTermMemory.Parameters()
        parameters.hiddenUnits = 4
        parameters.epochs = 50
        parameters.patience = 50
        let data = KnownAnswers.regression(rows: 200)
        #expect(throws: ServiceError.self) {
            try LongShortTermMemory(
                training: data, validation: nil, task: .regression, parameters: parameters, seed: 1, control: control)
        }
        let seen = epochs.withLock { $0 }
        #expect(seen.count == 2 && seen[0].stage.hasPrefix("epoch 1 of 50: validation loss") && seen[0].loss != nil)
    }
}
