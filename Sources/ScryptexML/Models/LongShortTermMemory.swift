import Foundation
import ScryptexCore
public import ScryptexQuant

/// A recurrent network of LSTM layers over the last `sequenceLength` feature rows, read out by
/// one linear unit (a sigmoid for classification). Trained by backpropagation through time on
/// mini-batches with Adam, the gradient's global norm clipped, dropout on the last hidden state,
/// and early stopping on the validation rows (the best epoch's weights are kept).
public struct LongShortTermMemory: Sendable, Codable, Equatable {
    public struct Parameters: Sendable, Codable, Equatable {
        public var hiddenUnits = 32
        public var layers = 1
        public var sequenceLength = 10
        public var epochs = 50
        public var batchSize = 32
        public var learningRate = 0.001
        public var dropout = 0.0
        public var clipNorm = 1.0
        public var patience = 5
        /// The share of the training rows (the last ones) held out for early stopping when the
        /// split has no validation part.
        public var validationFraction = 0.1

        public init() {}

        /// From a request's `hyperparameters`: `hiddenUnits`, `layers`, `sequenceLength`,
        /// `epochs`, `batchSize`, `learningRate`, `dropout`, `clipNorm`, `patience`,
        /// `validationFraction`.
        public init(_ values: [String: ParameterValue], field: String = "hyperparameters") throws {
            var reader = HyperparameterReader(values, field: field)
            hiddenUnits = try reader.integer("hiddenUnits", default: 32, in: 1...512)
            layers = try reader.integer("layers", default: 1, in: 1...3)
            sequenceLength = try reader.integer("sequenceLength", default: 10, in: 1...500)
            epochs = try reader.integer("epochs", default: 50, in: 1...10_000)
            batchSize = try reader.integer("batchSize", default: 32, in: 1...4_096)
            learningRate = try reader.number("learningRate", default: 0.001, in: 1e-7...1)
            dropout = try reader.number("dropout", default: 0, in: 0...0.9)
            clipNorm = try reader.number("clipNorm", default: 1, in: 1e-6...1e6)
            patience = try reader.integer("patience", default: 5, in: 1...1_000)
            validationFraction = try reader.number("validationFraction", default: 0.1, in: 0.01...0.5)
            try reader.finish(modelType: "lstm")
        }
    }

    /// One layer's weights: W is 4H × (D + H) row after row, gates in the order input, forget,
    /// cell, output; b is 4H.
    public struct Layer: Sendable, Codable, Equatable {
        public var inputs: Int
        public var weights: [Double]
        public var biases: [Double]
    }

    public var parameters: Parameters
    public var task: LearningTask
    public var standardizer: Standardizer
    public var layers: [Layer]
    public var outputWeights: [Double]
    public var outputBias: Double
    /// Per epoch: the mean training loss and the validation loss.
    public var history: [Epoch]
    public var bestEpoch: Int

    public struct Epoch: Sendable, Codable, Equatable {
        public var trainingLoss: Double
        public var validationLoss: Double
    }

    var hidden: Int { parameters.hiddenUnits }

    /// - Parameters:
    ///   - training: Rows in time order; sequences are taken within them.
    ///   - validation: Rows right after the training ones (or nil: the last `validationFraction`
    ///     of the training rows are held out).
    public init(
        training: LabelledData, validation: LabelledData?, task: LearningTask, parameters: Parameters, seed: UInt64,
        control: TrainingControl = .none
    ) throws {
        var train = training
        var held = validation
        if held == nil || held?.count == 0 {
            let cut = training.count - max(1, Int(Double(training.count) * parameters.validationFraction))
            guard cut >= 2 else {
                throw ServiceError(.invalidInput, "an LSTM needs more training rows than \(training.count)")
            }
            train = training.rows(0..<cut)
            held = training.rows(cut..<training.count)
        }
        guard let held, train.count >= 2 else {
            throw ServiceError(.invalidInput, "an LSTM needs at least 2 training rows")
        }
        self.parameters = parameters
        self.task = task
        standardizer = Standardizer(fitting: train.features)
        var random = SeededRandom(seed: seed)
        let h = parameters.hiddenUnits
        let scale = 1 / Double(h).squareRoot()
        layers = (0..<parameters.layers).map { index in
            let inputs = index == 0 ? train.features.columnCount : h
            var biases = (0..<(4 * h)).map { _ in (random.nextUniform() * 2 - 1) * scale }
            for unit in h..<(2 * h) { biases[unit] += 1 }  // forget gates start open
            return Layer(
                inputs: inputs,
                weights: (0..<(4 * h * (inputs + h))).map { _ in (random.nextUniform() * 2 - 1) * scale },
                biases: biases)
        }
        outputWeights = (0..<h).map { _ in (random.nextUniform() * 2 - 1) * scale }
        outputBias = 0
        history = []
        bestEpoch = 0

        // Sequences: the training rows and, for validation, the training rows before them as
        // history.
        let trainInputs = standardizer.apply(train.features)
        let joined = standardizer.apply(
            FeatureMatrix(names: train.features.names, values: train.features.values + held.features.values))
        var optimizer = AdamState(model: self)
        var best = (loss: Double.infinity, model: self)
        var waited = 0
        var order = Array(0..<train.count)
        for epoch in 1...parameters.epochs {
            try control.checkCancellation()
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(random.next() % UInt64(i + 1)))
            }
            var total = 0.0
            var start = 0
            while start < order.count {
                let batch = order[start..<min(order.count, start + parameters.batchSize)]
                var gradients = Gradients(model: self)
                for row in batch {
                    total += backpropagate(
                        inputs: trainInputs, row: row, target: train.targets[row], gradients: &gradients,
                        random: &random)
                }
                gradients.scale(by: 1 / Double(batch.count))
                gradients.clip(to: parameters.clipNorm)
                optimizer.step(&self, gradients: gradients, rate: parameters.learningRate)
                start += parameters.batchSize
            }
            let validationPredictions = (0..<held.count).map { output(inputs: joined, row: train.count + $0) }
            let validationLoss = Self.loss(predictions: validationPredictions, targets: held.targets, task: task)
            history.append(Epoch(trainingLoss: total / Double(train.count), validationLoss: validationLoss))
            control.report(
                .init(
                    fraction: Double(epoch) / Double(parameters.epochs),
                    stage:
                        "epoch \(epoch) of \(parameters.epochs): validation loss \(String(format: "%.6f", validationLoss))",
                    loss: validationLoss))
            if validationLoss < best.loss - 1e-9 {
                best = (validationLoss, self)
                bestEpoch = epoch
                waited = 0
            } else {
                waited += 1
                if waited >= parameters.patience { break }
            }
        }
        let finished = history
        let chosen = bestEpoch
        self = best.model
        history = finished
        bestEpoch = chosen
    }

    static func loss(predictions: [Double], targets: [Double], task: LearningTask) -> Double {
        var total = 0.0
        for (p, y) in zip(predictions, targets) {
            if task == .classification {
                let clipped = min(max(p, 1e-15), 1 - 1e-15)
                total -= y > 0.5 ? log(clipped) : log(1 - clipped)
            } else {
                total += (p - y) * (p - y)
            }
        }
        return total / Double(max(1, predictions.count))
    }

    /// The prediction for every row of `features` (time order), each from the row and the
    /// `sequenceLength − 1` before it (zeros — the training mean — before the first row).
    public func predictions(for features: FeatureMatrix) -> [Double] {
        predictions(for: features, rows: 0..<features.rowCount)
    }

    /// The predictions for `rows` of `features`, each read with the rows before it.
    public func predictions(for features: FeatureMatrix, rows: Range<Int>) -> [Double] {
        let first = max(0, rows.lowerBound - parameters.sequenceLength + 1)
        let inputs = standardizer.apply(features.selecting(rows: first..<rows.upperBound))
        return rows.map { output(inputs: inputs, row: $0 - first) }
    }

    // MARK: - Forward and backward

    struct Trace {
        /// Per layer, per step: the concatenated input [x; h_prev], the gates (i, f, g, o after
        /// their activations), the cell state, and tanh of it.
        var concatenated: [[[Double]]]
        var gates: [[[Double]]]
        var cells: [[[Double]]]
        var hiddens: [[[Double]]]
    }

    func sequence(inputs: FeatureMatrix, row: Int) -> [[Double]] {
        let columns = inputs.columnCount
        return ((row - parameters.sequenceLength + 1)...row).map { index in
            index >= 0 ? Array(inputs.row(index)) : [Double](repeating: 0, count: columns)
        }
    }

    func forward(_ steps: [[Double]]) -> Trace {
        let h = hidden
        var trace = Trace(concatenated: [], gates: [], cells: [], hiddens: [])
        var layerInputs = steps
        for layer in layers {
            var state = [Double](repeating: 0, count: h)
            var cell = [Double](repeating: 0, count: h)
            var concatenated: [[Double]] = []
            var gates: [[Double]] = []
            var cells: [[Double]] = []
            var outputs: [[Double]] = []
            let width = layer.inputs + h
            for x in layerInputs {
                let input = x + state
                var z = layer.biases
                for unit in 0..<(4 * h) {
                    var sum = z[unit]
                    let base = unit * width
                    for k in 0..<width { sum += layer.weights[base + k] * input[k] }
                    z[unit] = sum
                }
                for unit in 0..<h {
                    z[unit] = Self.sigmoid(z[unit])
                    z[h + unit] = Self.sigmoid(z[h + unit])
                    z[2 * h + unit] = tanh(z[2 * h + unit])
                    z[3 * h + unit] = Self.sigmoid(z[3 * h + unit])
                    cell[unit] = z[h + unit] * cell[unit] + z[unit] * z[2 * h + unit]
                    state[unit] = z[3 * h + unit] * tanh(cell[unit])
                }
                concatenated.append(input)
                gates.append(z)
                cells.append(cell)
                outputs.append(state)
            }
            trace.concatenated.append(concatenated)
            trace.gates.append(gates)
            trace.cells.append(cells)
            trace.hiddens.append(outputs)
            layerInputs = outputs
        }
        return trace
    }

    func output(inputs: FeatureMatrix, row: Int) -> Double {
        let trace = forward(sequence(inputs: inputs, row: row))
        let last = trace.hiddens[layers.count - 1].last!
        var value = outputBias
        for unit in 0..<hidden { value += outputWeights[unit] * last[unit] }
        return task == .classification ? Self.sigmoid(value) : value
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    /// Adds one sequence's gradients; returns its loss.
    func backpropagate(
        inputs: FeatureMatrix, row: Int, target: Double, gradients: inout Gradients, random: inout SeededRandom
    ) -> Double {
        let h = hidden
        let trace = forward(sequence(inputs: inputs, row: row))
        let top = layers.count - 1
        let last = trace.hiddens[top].last!
        // Inverted dropout on the last hidden state.
        var mask = [Double](repeating: 1, count: h)
        if parameters.dropout > 0 {
            for unit in 0..<h {
                mask[unit] = random.nextUniform() < parameters.dropout ? 0 : 1 / (1 - parameters.dropout)
            }
        }
        var value = outputBias
        for unit in 0..<h { value += outputWeights[unit] * last[unit] * mask[unit] }
        let prediction = task == .classification ? Self.sigmoid(value) : value
        let loss: Double
        let outputGradient: Double
        if task == .classification {
            let clipped = min(max(prediction, 1e-15), 1 - 1e-15)
            loss = target > 0.5 ? -log(clipped) : -log(1 - clipped)
            outputGradient = prediction - target
        } else {
            loss = (prediction - target) * (prediction - target)
            outputGradient = 2 * (prediction - target)
        }
        gradients.outputBias += outputGradient
        var hiddenGradients = [[Double]](
            repeating: [Double](repeating: 0, count: h), count: trace.hiddens[top].count)
        for unit in 0..<h {
            gradients.outputWeights[unit] += outputGradient * last[unit] * mask[unit]
            hiddenGradients[hiddenGradients.count - 1][unit] = outputGradient * outputWeights[unit] * mask[unit]
        }
        for layerIndex in stride(from: top, through: 0, by: -1) {
            let layer = layers[layerIndex]
            let width = layer.inputs + h
            let steps = trace.gates[layerIndex].count
            var nextHidden = [Double](repeating: 0, count: h)
            var nextCell = [Double](repeating: 0, count: h)
            var inputGradients = [[Double]](repeating: [Double](repeating: 0, count: layer.inputs), count: steps)
            var dz = [Double](repeating: 0, count: 4 * h)
            for t in stride(from: steps - 1, through: 0, by: -1) {
                let gates = trace.gates[layerIndex][t]
                let cell = trace.cells[layerIndex][t]
                let previousCell = t > 0 ? trace.cells[layerIndex][t - 1] : [Double](repeating: 0, count: h)
                for unit in 0..<h {
                    let dh = hiddenGradients[t][unit] + nextHidden[unit]
                    let i = gates[unit]
                    let f = gates[h + unit]
                    let g = gates[2 * h + unit]
                    let o = gates[3 * h + unit]
                    let tanhCell = tanh(cell[unit])
                    let dc = nextCell[unit] + dh * o * (1 - tanhCell * tanhCell)
                    dz[unit] = dc * g * i * (1 - i)
                    dz[h + unit] = dc * previousCell[unit] * f * (1 - f)
                    dz[2 * h + unit] = dc * i * (1 - g * g)
                    dz[3 * h + unit] = dh * tanhCell * o * (1 - o)
                    nextCell[unit] = dc * f
                }
                let input = trace.concatenated[layerIndex][t]
                var inputGradient = [Double](repeating: 0, count: width)
                for unit in 0..<(4 * h) {
                    let gradient = dz[unit]
                    guard gradient != 0 else { continue }
                    gradients.layers[layerIndex].biases[unit] += gradient
                    let base = unit * width
                    for k in 0..<width {
                        gradients.layers[layerIndex].weights[base + k] += gradient * input[k]
                        inputGradient[k] += gradient * layer.weights[base + k]
                    }
                }
                for k in 0..<layer.inputs { inputGradients[t][k] = inputGradient[k] }
                for unit in 0..<h { nextHidden[unit] = inputGradient[layer.inputs + unit] }
            }
            hiddenGradients = inputGradients
        }
        return loss
    }

    struct Gradients {
        var layers: [Layer]
        var outputWeights: [Double]
        var outputBias = 0.0

        init(model: LongShortTermMemory) {
            layers = model.layers.map {
                Layer(
                    inputs: $0.inputs, weights: [Double](repeating: 0, count: $0.weights.count),
                    biases: [Double](repeating: 0, count: $0.biases.count))
            }
            outputWeights = [Double](repeating: 0, count: model.outputWeights.count)
        }

        mutating func scale(by factor: Double) {
            for index in layers.indices {
                for k in layers[index].weights.indices { layers[index].weights[k] *= factor }
                for k in layers[index].biases.indices { layers[index].biases[k] *= factor }
            }
            for k in outputWeights.indices { outputWeights[k] *= factor }
            outputBias *= factor
        }

        /// Scales the whole gradient down to `limit` when its global norm is above it.
        mutating func clip(to limit: Double) {
            var squares = outputBias * outputBias + outputWeights.reduce(0) { $0 + $1 * $1 }
            for layer in layers {
                squares += layer.weights.reduce(0) { $0 + $1 * $1 } + layer.biases.reduce(0) { $0 + $1 * $1 }
            }
            let norm = squares.squareRoot()
            if norm > limit { scale(by: limit / norm) }
        }
    }

    /// Adam's moment estimates (β₁ 0.9, β₂ 0.999, ε 10⁻⁸) for every weight, flattened in one
    /// order: each layer's weights then biases, the output weights, the output bias.
    struct AdamState {
        var first: [Double]
        var second: [Double]
        var steps = 0

        init(model: LongShortTermMemory) {
            let count =
                model.layers.reduce(0) { $0 + $1.weights.count + $1.biases.count } + model.outputWeights.count + 1
            first = [Double](repeating: 0, count: count)
            second = first
        }

        mutating func step(_ model: inout LongShortTermMemory, gradients: Gradients, rate: Double) {
            steps += 1
            let correction1 = 1 - pow(0.9, Double(steps))
            let correction2 = 1 - pow(0.999, Double(steps))
            var position = 0
            func update(_ value: inout Double, _ gradient: Double) {
                first[position] = 0.9 * first[position] + 0.1 * gradient
                second[position] = 0.999 * second[position] + 0.001 * gradient * gradient
                value -=
                    rate * (first[position] / correction1) / ((second[position] / correction2).squareRoot() + 1e-8)
                position += 1
            }
            for index in model.layers.indices {
                for k in model.layers[index].weights.indices {
                    update(&model.layers[index].weights[k], gradients.layers[index].weights[k])
                }
                for k in model.layers[index].biases.indices {
                    update(&model.layers[index].biases[k], gradients.layers[index].biases[k])
                }
            }
            for k in model.outputWeights.indices { update(&model.outputWeights[k], gradients.outputWeights[k]) }
            update(&model.outputBias, gradients.outputBias)
        }
    }
}
