import Foundation
import Synchronization

/// A fixed set of started event loops, handed out round-robin.
///
/// `EventLoopGroup.shared` (one loop per core, started on first use, never stopped) is what the
/// host runs on: its HTTPS server accepts on these loops and its database connections are
/// driven by them, so a request and its statements share a thread. A group made with
/// `init(loopCount:name:)` belongs to its maker, who stops it with `shutdown()`.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)

    /// Makes and starts `loopCount` loops (threads named `<name>-0`, `<name>-1`, …).
    public init(loopCount: Int, name: String = "scryptex-loop") throws {
        precondition(loopCount > 0, "a group needs at least one loop")
        var loops: [EventLoop] = []
        for index in 0..<loopCount {
            loops.append(try EventLoop(index: index))
        }
        self.loops = loops
        loops.forEach { $0.start(name: name) }
    }

    /// The process-wide group: one loop per core.
    public static let shared: EventLoopGroup = {
        do {
            return try EventLoopGroup(loopCount: max(1, ProcessInfo.processInfo.activeProcessorCount))
        } catch {
            // Without epoll the process cannot serve anything; there is nothing to fall back to.
            fatalError("cannot start the event loops: \(error)")
        }
    }()

    /// The loop running the caller if it belongs to this group, else the next one in turn.
    public func preferredLoop() -> EventLoop {
        if let current = EventLoop.current, loops.contains(where: { $0 === current }) { return current }
        return next()
    }

    public func next() -> EventLoop {
        loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop (not for `shared`).
    public func shutdown() async {
        for loop in loops { await loop.stop() }
    }
}
