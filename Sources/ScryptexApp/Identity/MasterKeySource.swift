import Foundation
import Glibc
import ScryptexCore
import ScryptexIdentity

/// Finds the master key: `SCRYPTEX_MASTER_KEY`, else the file `SCRYPTEX_MASTER_KEY_FILE`, else
/// `<data folder>/master.key`, which is created (mode 0600) on first use. The key never goes into
/// the database or the logs.
enum MasterKeySource {
    static func keyring(for configuration: Configuration, logger: Logger) throws -> Keyring {
        let previous = try configuration.previousMasterKey.map { [try MasterKey(text: $0)] } ?? []
        if let text = configuration.masterKey {
            return Keyring(master: try MasterKey(text: text), previous: previous)
        }
        let path = configuration.masterKeyFile ?? configuration.dataDirectory + "/master.key"
        if !FileManager.default.fileExists(atPath: path) {
            guard configuration.masterKeyFile == nil else {
                throw IdentityError(.notFound, "SCRYPTEX_MASTER_KEY_FILE=\(path): the file does not exist")
            }
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                throw IdentityError(.invalidInput, "cannot create the master key file \(path): errno \(errno)")
            }
            let text = MasterKey.generateText() + "\n"
            let written = text.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
            guard written == text.utf8.count else {
                throw IdentityError(.invalidInput, "cannot write the master key file \(path)")
            }
            logger.notice(
                "created a master key for encryption at rest; back it up apart from the database",
                ["path": path])
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw IdentityError(.invalidInput, "cannot read the master key file \(path): \(error.localizedDescription)")
        }
        do {
            return Keyring(master: try MasterKey(text: text), previous: previous)
        } catch let error as IdentityError {
            throw IdentityError(error.code, "\(path): \(error.message)")
        }
    }
}
