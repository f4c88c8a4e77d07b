import Glibc

/// Ports nothing listens on now, for servers a test starts: bound to port 0, read, closed, so
/// the kernel chooses one that is free instead of a test guessing in a range other sockets use.
public enum FreePort {
    public static func tcp() throws -> Int { try find(type: SOCK_STREAM) }

    public static func udp() throws -> Int { try find(type: SOCK_DGRAM) }

    private static func find(type: __socket_type) throws -> Int {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        guard descriptor >= 0 else { throw ChildProcessError(message: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw ChildProcessError(message: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
