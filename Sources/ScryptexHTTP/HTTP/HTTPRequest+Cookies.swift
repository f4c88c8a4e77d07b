import Foundation

extension HTTPRequest {
    /// The value of the cookie `name`, from `Cookie` headers of at most 4 KiB.
    public func cookie(named name: String) -> String? {
        for header in headers["cookie"] where header.utf8.count <= 4096 {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}
