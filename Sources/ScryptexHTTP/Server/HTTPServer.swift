import CLinux
import Foundation
import Glibc
public import ScryptexCore
import ScryptexCrypto
public import ScryptexEventLoops
import Synchronization

/// An HTTP/1.1 server on Linux `epoll`: one event loop per core, each with its own
/// `SO_REUSEPORT` listening socket, plain or TLS (certificates by SNI from a
/// `CertificateStore`).
///
/// ```swift
/// let server = HTTPServer(configuration: .init(host: "0.0.0.0", port: 8443, tls: store), application: app, logger: logger)
/// try server.start()
/// ...
/// await server.shutdown(gracePeriod: .seconds(10))
/// ```
public final class HTTPServer: Sendable {
    public struct Timeouts: Sendable {
        /// For the request head (and a TLS handshake) to arrive: the slowloris limit.
        public var header: Duration = .seconds(10)
        public var body: Duration = .seconds(30)
        /// An open connection with no request.
        public var idle: Duration = .seconds(60)
        /// Without any write progress while output is pending.
        public var write: Duration = .seconds(30)

        public init() {}
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var eventLoopCount: Int
        /// Loops to serve on instead of starting `eventLoopCount` of the server's own (which it
        /// stops on shutdown); the host passes `EventLoopGroup.shared`, where its database
        /// connections run too.
        public var eventLoopGroup: EventLoopGroup?
        public var tls: CertificateStore?
        public var limits: HTTPRequestDecoder.Limits
        public var timeouts: Timeouts
        /// The `Strict-Transport-Security` value sent on TLS responses (nil: none).
        public var strictTransportSecurity: String?
        /// Peers trusted to put a PROXY protocol header (v1 or v2) before their bytes: a load
        /// balancer in TCP mode. A connection from one of them may carry one (its client's
        /// address becomes the request's remote address) or not (the balancer's own checks).
        public var proxyProtocolSources: [IPAddressRange] = []

        public init(
            host: String,
            port: Int,
            eventLoopCount: Int? = nil,
            eventLoopGroup: EventLoopGroup? = nil,
            tls: CertificateStore? = nil,
            limits: HTTPRequestDecoder.Limits = .init(),
            timeouts: Timeouts = .init(),
            strictTransportSecurity: String? = "max-age=63072000; includeSubDomains"
        ) {
            self.host = host
            self.port = port
            self.eventLoopGroup = eventLoopGroup
            self.eventLoopCount =
                eventLoopGroup?.loops.count ?? max(1, eventLoopCount ?? ProcessInfo.processInfo.activeProcessorCount)
            self.tls = tls
            self.limits = limits
            self.timeouts = timeouts
            self.strictTransportSecurity = strictTransportSecurity
        }
    }

    private let core: HTTPServerCore
    private let state = Mutex<(loops: [EventLoop], ownsLoops: Bool, listeners: [Listener], port: Int)>(
        ([], false, [], 0))

    public init(configuration: Configuration, application: HTTPApplication, logger: Logger) {
        core = HTTPServerCore(configuration: configuration, application: application, logger: logger)
    }

    /// The port listened on (useful with port 0).
    public var port: Int { state.withLock { $0.port } }

    /// Whether the server speaks TLS.
    public var isSecure: Bool { core.configuration.tls != nil }

    /// What the server has done since it started, for monitoring.
    public struct Statistics: Sendable, Equatable {
        public var openConnections: Int
        /// Responses written (problem answers to malformed requests included), by status class:
        /// the key is the first digit (1 to 5).
        public var responsesByStatusClass: [Int: Int]
        public var fullHandshakes: Int
        public var resumedHandshakes: Int
        /// From a request read in full to its answer queued for writing (the application's
        /// time and any wait for a task or the database; not the network's).
        public var responseTimes: Histogram

        public typealias Histogram = LatencyHistogram
    }

    public var statistics: Statistics {
        let counts = core.responses.counts
        return Statistics(
            openConnections: core.openConnections.load(ordering: .relaxed),
            responsesByStatusClass: Dictionary(
                uniqueKeysWithValues: counts.enumerated().map { ($0.offset + 1, $0.element) }),
            fullHandshakes: core.fullHandshakes.load(ordering: .relaxed),
            resumedHandshakes: core.resumedHandshakes.load(ordering: .relaxed),
            responseTimes: core.responseTimes.histogram)
    }

    /// TLS handshakes completed so far: full ones and resumptions (from session tickets).
    public var handshakeCounts: (full: Int, resumed: Int) {
        (core.fullHandshakes.load(ordering: .relaxed), core.resumedHandshakes.load(ordering: .relaxed))
    }

    /// Connections open right now.
    public var openConnectionCount: Int { core.openConnections.load(ordering: .relaxed) }

    /// Binds the listening sockets and starts the event loops.
    /// - Throws: when the address cannot be bound.
    public func start() throws {
        // OpenSSL writes with write(2), which raises SIGPIPE when the peer has gone; a server
        // must see EPIPE instead of being killed.
        signal(SIGPIPE, SIG_IGN)
        let configuration = core.configuration
        var loops: [EventLoop] = []
        var descriptors: [Int32] = []
        var port = configuration.port
        if port != 0 {
            // Refuse a port another server already listens on, instead of sharing it.
            let probe: Int32
            do {
                probe = try Socket.listen(host: configuration.host, port: port, probeOnly: true)
            } catch {
                throw Socket.Failure(
                    message: "\(configuration.host):\(port) is already in use (another server listens there): \(error)")
            }
            close(probe)
        }
        do {
            for index in 0..<configuration.eventLoopCount {
                let descriptor = try Socket.listen(host: configuration.host, port: port)
                descriptors.append(descriptor)
                if port == 0 { port = Socket.boundPort(descriptor) }
                if let group = configuration.eventLoopGroup {
                    loops.append(group.loops[index])
                } else {
                    loops.append(try EventLoop(index: index))
                }
            }
        } catch {
            descriptors.forEach { close($0) }
            throw error
        }
        var listeners: [Listener] = []
        for (loop, descriptor) in zip(loops, descriptors) {
            let listener = Listener(loop: loop, server: core, descriptor: descriptor)
            listeners.append(listener)
            if configuration.eventLoopGroup == nil { loop.start() }
            loop.execute { listener.register() }
        }
        let ownsLoops = configuration.eventLoopGroup == nil
        state.withLock { $0 = (loops, ownsLoops, listeners, port) }
        core.logger.info(
            "listening",
            [
                "address": "\(configuration.host):\(port)", "tls": String(configuration.tls != nil),
                "event_loops": String(loops.count),
            ]
        )
    }

    /// Stops accepting, lets in-flight requests finish within `gracePeriod`, closes idle
    /// connections at once and the rest when the period ends, then stops the loops.
    /// Keeps listening and serving, but ends each connection after its current response
    /// (`Connection: close`), so clients behind a load balancer move to other hosts before this
    /// one stops (the drain before `shutdown`).
    public func beginDraining() { core.beginDraining() }

    /// Whether the server is draining (or shutting down): each connection ends after its response.
    public var isDraining: Bool { core.isDraining }

    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        let (loops, ownsLoops, listeners) = state.withLock { ($0.loops, $0.ownsLoops, $0.listeners) }
        core.beginDraining()
        for listener in listeners {
            listener.loop.execute { listener.close() }
        }
        let deadline = ContinuousClock.now + gracePeriod
        while core.openConnections.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let core = self.core
        for loop in loops {
            // Shared loops serve other servers and database connections: close only ours.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                loop.execute { [loop] in
                    loop.forEachSource { source in
                        if let connection = source as? HTTPConnection, connection.server === core { connection.close() }
                    }
                    done.resume()
                }
            }
        }
        if ownsLoops {
            for loop in loops { await loop.stop() }
        }
        state.withLock { $0 = ([], false, [], $0.port) }
        let handshakes = handshakeCounts
        core.logger.notice(
            "stopped listening",
            [
                "port": String(core.configuration.port), "tls_full_handshakes": String(handshakes.full),
                "tls_resumed_handshakes": String(handshakes.resumed),
            ]
        )
    }
}

/// Responses written, by status class (1xx to 5xx), for monitoring.
final class ResponseCounters: Sendable {
    private let informational = Atomic<Int>(0)
    private let successful = Atomic<Int>(0)
    private let redirection = Atomic<Int>(0)
    private let clientError = Atomic<Int>(0)
    private let serverError = Atomic<Int>(0)

    func record(status: Int) {
        switch status {
        case ..<200: informational.add(1, ordering: .relaxed)
        case ..<300: successful.add(1, ordering: .relaxed)
        case ..<400: redirection.add(1, ordering: .relaxed)
        case ..<500: clientError.add(1, ordering: .relaxed)
        default: serverError.add(1, ordering: .relaxed)
        }
    }

    /// Counts for 1xx, 2xx, 3xx, 4xx and 5xx, in that order.
    var counts: [Int] {
        [
            informational.load(ordering: .relaxed), successful.load(ordering: .relaxed),
            redirection.load(ordering: .relaxed), clientError.load(ordering: .relaxed),
            serverError.load(ordering: .relaxed),
        ]
    }
}

/// The buckets of request durations (from being read to being answered).
enum ResponseTimes {
    /// Upper bounds of the buckets, in seconds; a last, unbounded bucket follows.
    static let upperBounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// State shared by a server's loops and connections.
final class HTTPServerCore: Sendable {
    let configuration: HTTPServer.Configuration
    let application: HTTPApplication
    let logger: Logger
    let extraHeaders: [(String, String)]
    let openConnections = Atomic<Int>(0)
    let fullHandshakes = Atomic<Int>(0)
    let resumedHandshakes = Atomic<Int>(0)
    let responses = ResponseCounters()
    let responseTimes = LatencyRecorder(upperBounds: ResponseTimes.upperBounds)
    private let draining = Atomic<Bool>(false)
    private let requestCounter = Atomic<UInt64>(0)
    private let requestIDPrefix = SecureRandom.hexToken(byteCount: 4)

    init(configuration: HTTPServer.Configuration, application: HTTPApplication, logger: Logger) {
        self.configuration = configuration
        self.application = application
        self.logger = logger
        var headers: [(String, String)] = []
        if configuration.tls != nil, let hsts = configuration.strictTransportSecurity {
            headers.append(("Strict-Transport-Security", hsts))
        }
        extraHeaders = headers
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func beginDraining() { draining.store(true, ordering: .relaxed) }

    func recordHandshake(resumed: Bool) {
        if resumed {
            resumedHandshakes.add(1, ordering: .relaxed)
        } else {
            fullHandshakes.add(1, ordering: .relaxed)
        }
    }

    func connectionOpened() { openConnections.add(1, ordering: .relaxed) }
    func connectionClosed() { openConnections.subtract(1, ordering: .relaxed) }

    /// The process's random prefix, a dash, and a counter in hex: `3fa9c1d2-1b`. Written byte by
    /// byte: up to 16.7 million requests the id fits in a small string, which needs no allocation.
    func nextRequestID(loop: Int) -> String {
        Self.requestID(prefix: requestIDPrefix, number: requestCounter.add(1, ordering: .relaxed).newValue)
    }

    static func requestID(prefix: String, number: UInt64) -> String {
        let digits = max(1, (UInt64.bitWidth - number.leadingZeroBitCount + 3) / 4)
        let prefix = prefix.utf8
        return String(unsafeUninitializedCapacity: prefix.count + 1 + digits) { buffer in
            var index = 0
            for byte in prefix {
                buffer[index] = byte
                index += 1
            }
            buffer[index] = UInt8(ascii: "-")
            for position in 0..<digits {
                let nibble = UInt8(truncatingIfNeeded: number >> (4 * UInt64(digits - 1 - position))) & 0xF
                buffer[index + 1 + position] =
                    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return index + 1 + digits
        }
    }
}

/// A listening socket on one loop; accepts until the backlog is empty.
///
/// `@unchecked Sendable` is sound because its mutable state (`token`, `isOpen`) is only read and
/// written on its loop's thread: `register`, `handle`, `tick` and `close` are all called there
/// (from other threads only through `EventLoop.execute`).
final class Listener: EventLoopSource, @unchecked Sendable {
    let loop: EventLoop
    private let server: HTTPServerCore
    private let descriptor: Int32
    private var token: UInt64 = 0
    private var isOpen = true

    init(loop: EventLoop, server: HTTPServerCore, descriptor: Int32) {
        self.loop = loop
        self.server = server
        self.descriptor = descriptor
    }

    func register() {
        token = loop.register(self, descriptor: descriptor, events: SCRYPTEX_EPOLLIN)
    }

    func handle(events: UInt32) {
        while isOpen, let (client, peer) = Socket.accept(descriptor) {
            var session: TLSSession?
            if let store = server.configuration.tls {
                do {
                    session = try TLSSession(context: store.base, descriptor: client)
                } catch {
                    server.logger.error("cannot create a TLS session", ["error": String(describing: error)])
                    Glibc.close(client)
                    continue
                }
            }
            let connection = HTTPConnection(loop: loop, server: server, descriptor: client, peer: peer, tls: session)
            connection.register()
        }
    }

    func tick(now: ContinuousClock.Instant) {}

    func close() {
        guard isOpen else { return }
        isOpen = false
        loop.deregister(token: token, descriptor: descriptor)
        Glibc.close(descriptor)
    }
}
