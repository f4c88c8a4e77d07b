public import Foundation
import ScryptexCore
import ScryptexCrypto

/// A trained model on disk, version 1 (docs/ML.md): one line of JSON — the header — then the
/// payload, the model's JSON. The header names the format and version, the model, its type and
/// task, the feature names in order, the payload's length and its SHA-256; a file whose payload
/// does not match is refused, never loaded.
public struct ModelFile: Sendable, Equatable {
    public static let format = "scryptex-ml-model"
    public static let version = 1

    public struct Header: Sendable, Codable, Equatable {
        public var format: String
        public var version: Int
        public var modelId: UUID
        public var modelVersion: Int
        public var modelType: ModelType
        public var task: LearningTask
        public var features: [String]
        public var trainedAt: String
        public var payloadBytes: Int
        public var payloadSHA256: String
    }

    public var header: Header
    public var model: TrainedModel

    public init(
        modelID: UUID, modelVersion: Int, task: LearningTask, features: [String], trainedAt: Date, model: TrainedModel
    ) throws {
        let payload = try Self.encoder.encode(model)
        header = Header(
            format: Self.format, version: Self.version, modelId: modelID, modelVersion: modelVersion,
            modelType: model.type, task: task, features: features,
            trainedAt: ISO8601DateFormatter().string(from: trainedAt), payloadBytes: payload.count,
            payloadSHA256: Hex.encode(SHA256.hash(payload)))
        self.model = model
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// The file's bytes.
    public func encoded() throws -> [UInt8] {
        let payload = try Self.encoder.encode(model)
        return Array(try Self.encoder.encode(header)) + [10] + Array(payload)
    }

    /// Reads a file, checking its format, version, length and checksum.
    public init(bytes: [UInt8], path: String) throws {
        guard let newline = bytes.firstIndex(of: 10) else {
            throw ServiceError(.corrupt, "model file \(path): no header line")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[..<newline]))
        } catch {
            throw ServiceError(.corrupt, "model file \(path): the header is not a model file header")
        }
        guard header.format == Self.format else {
            throw ServiceError(.corrupt, "model file \(path): format '\(header.format.prefix(40))', not \(Self.format)")
        }
        guard header.version == Self.version else {
            throw ServiceError(
                .corrupt, "model file \(path): version \(header.version); this host reads version \(Self.version)")
        }
        let payload = bytes[(newline + 1)...]
        guard payload.count == header.payloadBytes else {
            throw ServiceError(
                .corrupt,
                "model file \(path): \(payload.count) payload bytes where the header says \(header.payloadBytes)")
        }
        let digest = Hex.encode(SHA256.hash(payload))
        guard digest == header.payloadSHA256 else {
            throw ServiceError(
                .corrupt,
                "model file \(path): the payload's SHA-256 is \(digest), not \(header.payloadSHA256) as recorded: the file was changed or damaged"
            )
        }
        let model: TrainedModel
        do {
            model = try JSONDecoder().decode(TrainedModel.self, from: Data(payload))
        } catch {
            throw ServiceError(.corrupt, "model file \(path): the payload is not a \(header.modelType.rawValue) model")
        }
        guard model.type == header.modelType else {
            throw ServiceError(
                .corrupt,
                "model file \(path): a \(model.type.rawValue) where the header says \(header.modelType.rawValue)")
        }
        self.header = header
        self.model = model
    }

    /// Writes the file atomically (a temporary file renamed into place) under `directory`,
    /// creating it; returns the path.
    public func write(into directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = "\(header.modelId.uuidString.lowercased())-v\(header.modelVersion).model"
        let path = directory + "/" + name
        let temporary = path + ".partial"
        try Data(try encoded()).write(to: URL(fileURLWithPath: temporary))
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
        return path
    }

    public static func read(path: String) throws -> ModelFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServiceError(.corrupt, "model file \(path) is missing or unreadable")
        }
        return try ModelFile(bytes: Array(data), path: path)
    }
}
