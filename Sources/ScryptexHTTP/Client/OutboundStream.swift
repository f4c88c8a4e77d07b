internal import COpenSSL
import Dispatch
import Glibc
import ScryptexCore
public import ScryptexEventLoops

/// What happens on an outbound stream, in order.
public enum OutboundStreamEvent: Sendable, Equatable {
    /// Connected (and, with TLS, the handshake done and the peer verified).
    case connected
    case received([UInt8])
    /// Closed, and why; the last event.
    case closed(String)
}

/// A long-lived outbound TCP connection, with TLS or without, driven by an event loop: bytes
/// written are queued and sent as the socket takes them, bytes read arrive as `events` (a FIX
/// session to a broker uses it). The TCP connect itself runs on a Dispatch queue (it resolves
/// names and blocks); everything after, on the loop.
public final class OutboundStream: Sendable {
    public let events: AsyncStream<OutboundStreamEvent>
    private let driver: LoopBound<OutboundStreamDriver>

    private init(events: AsyncStream<OutboundStreamEvent>, driver: LoopBound<OutboundStreamDriver>) {
        self.events = events
        self.driver = driver
    }

    /// Connects to `host`:`port` and starts the TLS handshake when `tls` is given.
    /// - Parameter publicOnly: refuse addresses off the public Internet (a tenant's setting).
    /// - Throws: `HTTPSClientError` naming the host when it cannot be resolved or connected to.
    public static func connect(
        host: String, port: Int, tls: TLSClientContext?, timeout: Duration = .seconds(10), publicOnly: Bool,
        on loop: EventLoop
    ) async throws -> OutboundStream {
        // Connected and handed to the loop on the Dispatch thread itself: the TLS handshake starts
        // at once, not when the caller's task next gets a thread (the server's clock runs from
        // its accept).
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try open(host: host, port: port, tls: tls, timeout: timeout, publicOnly: publicOnly, on: loop)
                    })
            }
        }
    }

    private static func open(
        host: String, port: Int, tls: TLSClientContext?, timeout: Duration, publicOnly: Bool, on loop: EventLoop
    ) throws -> OutboundStream {
        let descriptor = try OutboundSocket.connect(host: host, port: port, timeout: timeout, publicOnly: publicOnly)
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        let session: TLSSession?
        do {
            session = try tls.map { try TLSSession(clientContext: $0, descriptor: descriptor, host: host) }
        } catch {
            Glibc.close(descriptor)
            throw HTTPSClientError("TLS to \(host):\(port): \(error)")
        }
        let (events, continuation) = AsyncStream.makeStream(of: OutboundStreamEvent.self)
        let driver = OutboundStreamDriver(
            loop: loop, descriptor: descriptor, tls: session, peer: "\(host):\(port)", timeout: timeout,
            continuation: continuation)
        let bound = LoopBound(value: driver, loop: loop)
        bound.withValue { $0.start() }
        return OutboundStream(events: events, driver: bound)
    }

    /// Queues `bytes` to send (after the handshake, in order).
    public func write(_ bytes: [UInt8]) {
        driver.withValue { $0.write(bytes) }
    }

    /// Closes the connection (TLS close_notify first); `events` ends with `.closed(reason)`.
    public func close(_ reason: String = "closed") {
        driver.withValue { $0.close(reason) }
    }
}

/// The loop side of an `OutboundStream`.
///
/// Loop-confined: every method runs on `loop` (through `LoopBound`), so it needs no locks.
final class OutboundStreamDriver: EventLoopSource {
    private enum Phase {
        case handshaking
        case open
        case closed
    }

    let loop: EventLoop
    private let descriptor: Int32
    private let tls: TLSSession?
    private let peer: String
    private let timeout: Duration
    private let continuation: AsyncStream<OutboundStreamEvent>.Continuation
    private var token: UInt64?
    private var phase = Phase.handshaking
    private var started = ContinuousClock.now
    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var watchingWrites = false
    private var buffer = [UInt8](repeating: 0, count: 16_384)

    init(
        loop: EventLoop, descriptor: Int32, tls: TLSSession?, peer: String, timeout: Duration,
        continuation: AsyncStream<OutboundStreamEvent>.Continuation
    ) {
        self.loop = loop
        self.descriptor = descriptor
        self.tls = tls
        self.peer = peer
        self.timeout = timeout
        self.continuation = continuation
    }

    func start() {
        started = loop.now
        token = loop.register(
            self, descriptor: descriptor, events: EventLoopEvents.readable | EventLoopEvents.peerClosed)
        if tls == nil {
            becomeOpen()
        } else {
            stepHandshake()
        }
    }

    func handle(events: UInt32) {
        switch phase {
        case .closed:
            return
        case .handshaking:
            stepHandshake()
        case .open:
            if events & EventLoopEvents.writable != 0 { flush() }
            if phase == .open && events & ~EventLoopEvents.writable != 0 { readAvailable() }
        }
    }

    func tick(now: ContinuousClock.Instant) {
        if phase == .handshaking && now - started > timeout {
            close("the TLS handshake with \(peer) did not finish within \(timeout.components.seconds) s")
        }
    }

    private func watch(writes: Bool) {
        guard let token, writes != watchingWrites else { return }
        watchingWrites = writes
        var events = EventLoopEvents.readable | EventLoopEvents.peerClosed
        if writes { events |= EventLoopEvents.writable }
        loop.modify(token: token, descriptor: descriptor, events: events)
    }

    private func stepHandshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            watch(writes: false)
            becomeOpen()
        case .wantRead:
            watch(writes: false)
        case .wantWrite:
            watch(writes: true)
        case .failed(let reason):
            close("the TLS handshake with \(peer) failed: \(tls.verificationFailure ?? reason)")
        }
    }

    private func becomeOpen() {
        phase = .open
        continuation.yield(.connected)
        flush()
        if phase == .open { readAvailable() }
    }

    func write(_ bytes: [UInt8]) {
        guard phase != .closed else { return }
        if pendingStart > 0 && pendingStart >= pending.count / 2 {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        pending += bytes
        if phase == .open { flush() }
    }

    private func flush() {
        while pendingStart < pending.count {
            let chunk = pending[pendingStart...]
            let result: TransportResult
            if let tls {
                result = tls.write(chunk)
            } else {
                result = Self.plain(
                    chunk.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }, else: .wantWrite)
            }
            switch result {
            case .bytes(let count):
                pendingStart += count
            case .wantWrite, .wantRead:
                watch(writes: true)
                return
            case .closed:
                close("the connection to \(peer) broke while sending")
                return
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingStart = 0
        watch(writes: false)
    }

    private func readAvailable() {
        while phase == .open {
            let result: TransportResult
            if let tls {
                result = tls.read(into: &buffer)
            } else {
                result = Self.plain(
                    buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }, else: .wantRead)
            }
            switch result {
            case .bytes(let count):
                continuation.yield(.received(Array(buffer[0..<count])))
            case .wantRead:
                if tls?.hasBufferedInput == true { continue }
                return
            case .wantWrite:
                watch(writes: true)
                return
            case .closed:
                close("\(peer) closed the connection")
                return
            }
        }
    }

    /// A plain socket call's count as a transport result: bytes, `waiting` when it would block,
    /// else closed.
    private static func plain(_ count: Int, else waiting: TransportResult) -> TransportResult {
        if count > 0 { return .bytes(count) }
        return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? waiting : .closed
    }

    func close(_ reason: String) {
        guard phase != .closed else { return }
        phase = .closed
        tls?.shutdown()
        if let token { loop.deregister(token: token, descriptor: descriptor) }
        token = nil
        Glibc.close(descriptor)
        continuation.yield(.closed(reason))
        continuation.finish()
    }
}
