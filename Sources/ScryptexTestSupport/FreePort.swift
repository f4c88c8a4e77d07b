import Foundation
import Glibc
import Synchronization

/// Ports nothing listens on now, for servers a test starts.
///
/// A port the kernel picks for `bind(0)` comes from the ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), the same range every outgoing connection takes its
/// local port from: between the test closing its probe and the server binding, a client socket
/// anywhere on the machine (a PostgreSQL connection, Pebble fetching a challenge) may take it, and
/// the server fails with "address already in use". So ports are drawn at random from below that
/// range, where the kernel never assigns one on its own, checked free by binding, and never
/// handed out twice in one test process.
public enum FreePort {
    public static func tcp() throws -> Int { try find(type: SOCK_STREAM) }

    public static func udp() throws -> Int { try find(type: SOCK_DGRAM) }

    private static let handedOut = Mutex<Set<Int>>([])

    private static func find(type: __socket_type) throws -> Int {
        let candidates = candidateRange()
        for _ in 0..<500 {
            let port = Int.random(in: candidates)
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            guard fresh else { continue }
            if isFree(port, type: type) { return port }
        }
        throw ChildProcessError(message: "cannot find a free port in \(candidates)")
    }

    /// From 10000 up to the start of the ephemeral range (32768 on a stock Linux kernel).
    private static func candidateRange() -> ClosedRange<Int> {
        let fallback = 10_000...32_767
        guard
            let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let lowest = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap({
                Int($0)
            }),
            lowest > 11_000
        else { return fallback }
        return 10_000...(lowest - 1)
    }

    private static func isFree(_ port: Int, type: __socket_type) -> Bool {
        let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 }
        }
    }
}
