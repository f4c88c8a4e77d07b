import Foundation
import ScryptexCore

/// Final exports and exports written to the data folder, readable by the host's user only.
public enum TenantExportFile {
    public static func finalExportPath(for slug: String, dataDirectory: String) -> String {
        dataDirectory + "/exports/\(slug)-final-\(Int(Date().timeIntervalSince1970)).jsonl"
    }

    public static func write(_ lines: [String], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw ServiceError(.invalidInput, "cannot write the export to \(path); nothing was deleted")
        }
    }
}
