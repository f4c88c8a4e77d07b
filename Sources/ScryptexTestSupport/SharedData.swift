import Foundation

/// The shared test data (`shared/data`: market prices, regulatory schemas, sanctions lists) that
/// lives beside the project, not in it. Found through `SCRYPTEX_SHARED_DATA`, else by looking for
/// `shared/data` next to the package root and its parents.
public enum SharedData {
    public static let folder: String = {
        if let configured = ProcessInfo.processInfo.environment["SCRYPTEX_SHARED_DATA"], !configured.isEmpty {
            return configured
        }
        // Sources/ScryptexTestSupport/SharedData.swift → the package root.
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.deletingLastPathComponent().appendingPathComponent("shared/data").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "/shared-data-not-found: set SCRYPTEX_SHARED_DATA to the shared/data folder"
    }()

    /// A path inside the shared data folder, such as `aml/un_consolidated`.
    public static func path(_ relative: String) -> String { folder + "/" + relative }
}
