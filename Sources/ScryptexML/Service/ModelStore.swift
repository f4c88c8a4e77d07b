public import Foundation
import ScryptexCore
import ScryptexCrypto
public import ScryptexMarketData
public import ScryptexPostgres
import Synchronization

/// Where trained models live: one folder per tenant schema under `ML_MODEL_STORAGE_PATH`, and
/// the recently used models kept decoded in memory (keyed by path and checksum, so a retrained
/// or replaced file is never served from the cache).
public final class ModelStore: Sendable {
    public let root: String
    let cache = Mutex<[String: (ModelFile, UInt64)]>([:])
    let clock = Atomic<UInt64>(0)
    let capacity: Int

    public init(root: String, capacity: Int = 16) {
        self.root = root
        self.capacity = capacity
    }

    static let stores = Mutex<[String: ModelStore]>([:])

    /// The one store of a folder in this process, so the routes and the training jobs share
    /// its cache.
    public static func at(_ root: String) -> ModelStore {
        stores.withLock { stores in
            if let store = stores[root] { return store }
            let store = ModelStore(root: root)
            stores[root] = store
            return store
        }
    }

    public func directory(forSchema schema: String) -> String { root + "/" + schema }

    /// Writes the model's file; returns its path and the SHA-256 of the whole file.
    public func save(_ file: ModelFile, schema: String) throws -> (path: String, sha256: String) {
        let path = try file.write(into: directory(forSchema: schema))
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw ServiceError(.corrupt, "model file \(path) could not be read back")
        }
        return (path, Hex.encode(SHA256.hash(bytes)))
    }

    /// The model in the file, checked against the checksum recorded when it was saved.
    public func load(path: String, sha256: String) throws -> ModelFile {
        let key = path + "#" + sha256
        let tick = clock.add(1, ordering: .relaxed).newValue
        if let hit = cache.withLock({ cache -> ModelFile? in
            guard let entry = cache[key] else { return nil }
            cache[key] = (entry.0, tick)
            return entry.0
        }) {
            return hit
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServiceError(.conflict, "the model's file \(URL(fileURLWithPath: path).lastPathComponent) is missing")
        }
        let digest = Hex.encode(SHA256.hash(data))
        guard digest == sha256 else {
            throw ServiceError(
                .conflict,
                "the model's file does not match the checksum recorded when it was trained (\(sha256.prefix(12))…, found \(digest.prefix(12))…): it was changed or damaged; retrain the model"
            )
        }
        let file: ModelFile
        do {
            file = try ModelFile(bytes: Array(data), path: URL(fileURLWithPath: path).lastPathComponent)
        } catch let error as ServiceError {
            throw ServiceError(.conflict, error.message)
        }
        cache.withLock { cache in
            cache[key] = (file, tick)
            while cache.count > capacity, let oldest = cache.min(by: { $0.value.1 < $1.value.1 })?.key {
                cache[oldest] = nil
            }
        }
        return file
    }

    /// Writes a model file kept elsewhere (the database) to `path`, if it has the checksum
    /// recorded at training; in one step, so a reader never sees half a file.
    public func restore(_ bytes: Data, to path: String, sha256: String) throws {
        let digest = Hex.encode(SHA256.hash(bytes))
        guard digest == sha256 else {
            throw ServiceError(
                .conflict,
                "the model's file kept in the database does not match the checksum recorded when it was trained (\(sha256.prefix(12))…, found \(digest.prefix(12))…): retrain the model"
            )
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = path + ".partial-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try bytes.write(to: URL(fileURLWithPath: temporary))
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }

    public func remove(path: String) {
        try? FileManager.default.removeItem(atPath: path)
        cache.withLock { cache in cache = cache.filter { !$0.key.hasPrefix(path + "#") } }
    }
}

/// Loads what a model was (or will be) trained on.
public enum TrainingData {
    /// The dataset a request names, read as the tenant.
    public static func load(
        _ request: ModelRequest, in transaction: PostgresTransaction
    ) async throws -> LabelledData {
        let dataset = request.dataset
        if let upload = dataset.upload {
            let csv = try await MLModelService().csv(of: upload, in: transaction)
            return try NumericCSV.dataset(csv, target: dataset.target)
        }
        let bars = try await bars(dataset, in: transaction)
        guard let features = dataset.features, let target = dataset.marketTarget else {
            throw ServiceError(.invalidInput, "field 'dataset': market features and a target are required")
        }
        return try features.dataset(bars, target: target)
    }

    public static func bars(
        _ dataset: DatasetSpecification, from start: Int64? = nil, in transaction: PostgresTransaction
    ) async throws -> BarSeries {
        guard let symbol = dataset.symbol else {
            throw ServiceError(.invalidInput, "field 'dataset.symbol': the model was not trained on market data")
        }
        let timeframe = try Timeframe.parse(dataset.timeframe ?? "1d")
        return try await LocalMarketData().bars(
            symbol: symbol, timeframe: timeframe, dataset: dataset.source,
            start: try start ?? dataset.start.map { try MarketTime.start($0, field: "dataset.start") },
            end: try dataset.end.map { try MarketTime.end($0, field: "dataset.end") }, in: transaction)
    }
}
