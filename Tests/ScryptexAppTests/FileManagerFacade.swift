import Foundation

enum FileManagerFacade {
    static func remove(_ path: String) throws {
        try FileManager.default.removeItem(atPath: path)
    }
}
