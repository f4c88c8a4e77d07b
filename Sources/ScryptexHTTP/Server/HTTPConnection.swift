import CLinux
import Glibc
import ScryptexCore
import ScryptexEventLoops

/// One client connection, owned by one event loop: reads bytes (through TLS when secure),
/// decodes requests one at a time, runs the application, and writes responses in order.
final class HTTPConnection: EventLoopSource {
    private enum Phase {
        case handshake
        /// Waiting for (more of) a request.
        case reading
        /// A request is with the application.
        case responding
        case closed
    }

    private let loop: EventLoop
    let server: HTTPServerCore
    private let descriptor: Int32
    private let tls: TLSSession?
    private let peer: String
    private var token: UInt64 = 0
    private var phase: Phase
    private var decoder: HTTPRequestDecoder
    private var output: [UInt8] = []
    private var outputOffset = 0
    /// Close once the output is written: the last response is queued.
    private var closeWhenFlushed = false
    /// The peer finished sending (half-close) while a response was in progress.
    private var peerFinished = false
    private var interest: UInt32 = SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLRDHUP
    private var phaseStarted: ContinuousClock.Instant
    private var lastWriteProgress: ContinuousClock.Instant
    private var readPaused = false
    /// What every request's context shares, made once the connection is ready (after the TLS
    /// handshake, with the client's SNI name, which cannot change on a connection).
    private var contextConnection: RequestContext.Connection?
    /// A request's task is running synchronously inside `dispatch`: a response completed then
    /// must not read the next pipelined request itself (`processBufferedRequests` is already on
    /// the stack and continues its loop), or a long pipeline would recurse once per request.
    private var dispatchingInline = false
    /// Requests are held back until the client reads what is already answered: a client that
    /// pipelines without reading must not grow the output buffer without bound.
    private var outputBacklogged = false
    private static let outputHighWater = 256 * 1024
    /// When the request being answered was read in full.
    private var dispatchedAt = ContinuousClock.now
    /// The handler answering the current request, until its response is queued.
    private var handlerTask: Task<Void, Never>?
    /// Counts handlers that finished, so `dispatch` can tell whether the one it started finished
    /// before `Task.immediate` returned (a streamed response, answered at once).
    private var handlersFinished = 0

    init(loop: EventLoop, server: HTTPServerCore, descriptor: Int32, peer: String, tls: TLSSession?) {
        self.loop = loop
        self.server = server
        self.descriptor = descriptor
        self.peer = peer
        self.tls = tls
        self.phase = tls == nil ? .reading : .handshake
        self.decoder = HTTPRequestDecoder(limits: server.configuration.limits)
        if tls == nil { contextConnection = Self.contextConnection(server: server, peer: peer, tls: nil) }
        let now = ContinuousClock.now
        phaseStarted = now
        lastWriteProgress = now
    }

    func register() {
        token = loop.register(self, descriptor: descriptor, events: interest)
        server.connectionOpened()
    }

    var isIdle: Bool { phase == .reading && !decoder.isMidRequest && output.count == outputOffset }

    // MARK: Events

    func handle(events: UInt32) {
        if events & SCRYPTEX_EPOLLERR != 0 {
            close()
            return
        }
        if events & SCRYPTEX_EPOLLOUT != 0 {
            if phase == .handshake {
                continueHandshake()
            } else {
                flush()
                if outputBacklogged && output.count == outputOffset && phase == .reading {
                    outputBacklogged = false
                    pauseReading(false)
                    processBufferedRequests()
                }
            }
        }
        if phase != .closed, events & (SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLHUP | SCRYPTEX_EPOLLRDHUP) != 0 {
            if phase == .handshake { continueHandshake() } else { readAvailable() }
        }
    }

    func tick(now: ContinuousClock.Instant) {
        guard phase != .closed else { return }
        let timeouts = server.configuration.timeouts
        if output.count > outputOffset, now - lastWriteProgress > timeouts.write {
            close()
            return
        }
        switch phase {
        case .handshake where now - phaseStarted > timeouts.header:
            close()
        case .reading:
            if server.isDraining && isIdle {
                close()
            } else if decoder.isMidRequest {
                // Headers must arrive within the header timeout (slowloris); a body within the body timeout.
                let limit = decoder.isReadingBody ? timeouts.body : timeouts.header
                if now - phaseStarted > limit {
                    respondToFailure(HTTPParseError(.requestTimeout, "the request did not arrive in time"))
                }
            } else if now - phaseStarted > timeouts.idle && output.count == outputOffset {
                // Idle only once everything answered is sent: a client still reading its answers
                // is governed by the write timeout above.
                close()
            }
        default:
            break
        }
    }

    // MARK: TLS handshake

    private func continueHandshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            server.recordHandshake(resumed: tls.isResumed)
            contextConnection = Self.contextConnection(server: server, peer: peer, tls: tls)
            phase = .reading
            phaseStarted = loop.now
            setWriteInterest(false)
            readAvailable()
        case .wantRead:
            setWriteInterest(false)
        case .wantWrite:
            setWriteInterest(true)
        case .failed(let reason):
            server.logger.debug("TLS handshake failed", ["peer": peer, "reason": reason])
            close()
        }
    }

    // MARK: Reading

    private func readAvailable() {
        while phase != .closed {
            // Hold back while a response is pending (or answers wait for the client to read them)
            // and enough is already buffered.
            if (phase == .responding || outputBacklogged)
                && decoder.bufferedByteCount > server.configuration.limits.bodyBytes
            {
                pauseReading(true)
                return
            }
            let result: TransportResult
            if let tls {
                result = tls.read(into: &loop.scratch)
            } else {
                let count = loop.scratch.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    result = .bytes(count)
                } else if count == 0 {
                    result = .closed
                } else {
                    result = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wantRead : .closed
                }
            }
            switch result {
            case .bytes(let count):
                if !decoder.isMidRequest && phase == .reading { phaseStarted = loop.now }
                decoder.append(loop.scratch[0..<count])
                if phase == .reading { processBufferedRequests() }
                // A read that did not fill the buffer took everything the socket had: the
                // (level-triggered) epoll reports it again when more arrives, so skip the read
                // that would only say EAGAIN — one system call less per request. Not while
                // OpenSSL still holds read-ahead bytes: epoll cannot see those.
                if count < loop.scratch.count && !(tls?.hasBufferedInput ?? false) { return }
            case .wantRead:
                return
            case .wantWrite:
                setWriteInterest(true)
                return
            case .closed:
                // The client went away (or shut its sending side, which HTTP clients do not do
                // while waiting for an answer). A handler still at work is cancelled, and with
                // it any statement it has running on the database; a streamed response already
                // under way is left to finish.
                if phase == .responding && handlerTask == nil {
                    peerFinished = true
                    pauseReading(true)
                } else {
                    close()
                }
                return
            }
        }
    }

    private func processBufferedRequests() {
        while phase == .reading {
            if output.count - outputOffset > Self.outputHighWater {
                outputBacklogged = true
                pauseReading(true)
                return
            }
            do {
                switch try decoder.next() {
                case .needMoreData:
                    return
                case .expectsContinue:
                    enqueue(HTTPResponseEncoder.continueResponse)
                case .request(let request):
                    dispatch(request)
                }
            } catch {
                respondToFailure(error)
                return
            }
        }
    }

    private func respondToFailure(_ error: HTTPParseError) {
        let response = ProblemDetails.response(
            status: error.status, type: .malformedRequest, detail: error.reason, requestID: nil)
        closeWhenFlushed = true
        phase = .responding
        pauseReading(true)
        enqueue(response, requestID: nil, omitBody: false, close: true)
    }

    private static func contextConnection(
        server: HTTPServerCore, peer: String, tls: TLSSession?
    ) -> RequestContext.Connection {
        RequestContext.Connection(
            logger: server.logger, serverName: tls?.serverName, isSecure: tls != nil, remoteAddress: peer)
    }

    private func dispatch(_ request: HTTPRequest) {
        phase = .responding
        dispatchedAt = .now
        let connection =
            contextConnection ?? Self.contextConnection(server: server, peer: peer, tls: tls)
        let offered = RequestContext(requestID: server.nextRequestID(loop: loop.index), connection: connection)
        // `complete` runs inside `processBufferedRequests`, which goes on to the next pipelined
        // request itself.
        dispatchingInline = true
        defer { dispatchingInline = false }
        // A route that answers from memory is answered right here, on the loop's thread, with
        // no task at all.
        let pending: PendingResponse
        switch server.application.dispatch(request, context: offered) {
        case .answered(let response):
            complete(request, requestID: offered.requestID, with: response)
            return
        case .pending(let waiting):
            pending = waiting
        }
        let bound = LoopBound(value: self, loop: loop)
        let finishedBefore = handlersFinished
        // The task starts right here on the loop's thread and keeps the loop as its executor:
        // a handler that waits for the database is resumed on this thread by the same loop that
        // reads the database's answer (its connections are tied to loops), and its response is
        // queued without a hop. Handlers that compute for long (a large report, a password
        // hash) move that work off the loop themselves.
        let task = Task.immediate(executorPreference: loop) {
            let response = await pending.respond()
            bound.withValue { connection in
                connection.complete(request, requestID: offered.requestID, with: response)
            }
        }
        // Kept only while the handler still runs: a streamed response whose handler already
        // returned is not cancelled when the client half-closes.
        if phase == .responding && handlersFinished == finishedBefore { handlerTask = task }
    }

    private func complete(_ request: HTTPRequest, requestID: String, with response: HTTPResponse) {
        handlerTask = nil
        handlersFinished &+= 1
        guard phase == .responding else { return }
        server.responseTimes.record(.now - dispatchedAt)
        let keepAlive = request.keepAlive && !server.isDraining && !peerFinished
        let producer = request.method == .head ? nil : response.bodyProducer
        if !keepAlive && producer == nil { closeWhenFlushed = true }
        enqueue(response, requestID: requestID, omitBody: request.method == .head, close: !keepAlive)
        guard phase != .closed else { return }
        if let producer {
            stream(producer, keepAlive: keepAlive)
        } else {
            finishResponse(keepAlive: keepAlive)
        }
    }

    /// The response is sent: read the next request, or close.
    private func finishResponse(keepAlive: Bool) {
        if keepAlive {
            phase = .reading
            phaseStarted = loop.now
            pauseReading(false)
            if !dispatchingInline { processBufferedRequests() }
        }
    }

    // MARK: Streamed bodies

    /// A producer waiting for the output to drain before it writes more.
    private var producerWaiting: CheckedContinuation<Void, any Error>?

    private func stream(_ producer: @escaping HTTPBodyProducer, keepAlive: Bool) {
        let bound = LoopBound(value: self, loop: loop)
        let writer = ConnectionBodyWriter(connection: bound)
        Task {
            do {
                try await producer(writer)
                bound.withValue { $0.endStream(keepAlive: keepAlive) }
            } catch {
                // The head is sent: the only way left to say "incomplete" is to close.
                bound.withValue { $0.close() }
            }
        }
    }

    /// Sends one chunk; resumes `continuation` at once, or once the client has read the backlog.
    fileprivate func writeChunk(_ bytes: [UInt8], then continuation: CheckedContinuation<Void, any Error>) {
        guard phase == .responding else {
            continuation.resume(throwing: HTTPConnectionClosed())
            return
        }
        prepareOutput()
        output.append(contentsOf: String(bytes.count, radix: 16).utf8)
        output.append(contentsOf: [13, 10])
        output.append(contentsOf: bytes)
        output.append(contentsOf: [13, 10])
        lastWriteProgress = loop.now
        if output.count - outputOffset > Self.outputHighWater {
            producerWaiting = continuation
            flush()
        } else {
            flush()
            if phase == .closed {
                continuation.resume(throwing: HTTPConnectionClosed())
            } else {
                continuation.resume()
            }
        }
    }

    private func endStream(keepAlive: Bool) {
        guard phase == .responding else { return }
        if !keepAlive { closeWhenFlushed = true }
        enqueue(Array("0\r\n\r\n".utf8))
        guard phase != .closed else { return }
        finishResponse(keepAlive: keepAlive)
    }

    // MARK: Writing

    private func enqueue(_ bytes: [UInt8]) {
        prepareOutput()
        output.append(contentsOf: bytes)
        lastWriteProgress = loop.now
        flush()
    }

    /// Encodes a response straight into the connection's output buffer and sends it.
    private func enqueue(_ response: HTTPResponse, requestID: String?, omitBody: Bool, close: Bool) {
        server.responses.record(status: response.status.code)
        prepareOutput()
        HTTPResponseEncoder.encode(
            response, into: &output, omitBody: omitBody, close: close,
            date: loop.perSecondText(HTTPDate.format(secondsSinceEpoch:)), requestID: requestID,
            extraHeaders: server.extraHeaders
        )
        lastWriteProgress = loop.now
        flush()
    }

    /// Drops what was already written, keeping the buffer's storage for the next response.
    private func prepareOutput() {
        if outputOffset > 0 && outputOffset == output.count {
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
        }
    }

    private func flush() {
        while outputOffset < output.count {
            let result: TransportResult
            if let tls {
                result = tls.write(output[outputOffset...])
            } else {
                let count = output[outputOffset...].withUnsafeBytes {
                    send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if count >= 0 {
                    result = .bytes(count)
                } else {
                    result = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wantWrite : .closed
                }
            }
            switch result {
            case .bytes(let count):
                outputOffset += count
                lastWriteProgress = loop.now
            case .wantWrite, .wantRead:
                setWriteInterest(true)
                return
            case .closed:
                close()
                return
            }
        }
        // Keep a small buffer for the next response; give large ones back (idle connections
        // must stay cheap).
        output.removeAll(keepingCapacity: output.capacity <= 4096)
        outputOffset = 0
        setWriteInterest(false)
        if closeWhenFlushed {
            close()
        } else if let waiting = producerWaiting {
            producerWaiting = nil
            waiting.resume()
        }
    }

    private func setWriteInterest(_ wanted: Bool) {
        var events = readPaused ? SCRYPTEX_EPOLLRDHUP : SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLRDHUP
        if wanted { events |= SCRYPTEX_EPOLLOUT }
        guard events != interest, phase != .closed else { return }
        interest = events
        loop.modify(token: token, descriptor: descriptor, events: events)
    }

    private func pauseReading(_ paused: Bool) {
        guard readPaused != paused else { return }
        readPaused = paused
        setWriteInterest(interest & SCRYPTEX_EPOLLOUT != 0)
    }

    // MARK: Closing

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        handlerTask?.cancel()
        handlerTask = nil
        if let waiting = producerWaiting {
            producerWaiting = nil
            waiting.resume(throwing: HTTPConnectionClosed())
        }
        tls?.shutdown()
        loop.deregister(token: token, descriptor: descriptor)
        Glibc.close(descriptor)
        server.connectionClosed()
    }
}

/// The client went away while a streamed body was being written.
struct HTTPConnectionClosed: Error {}

/// Hands a producer's chunks to its connection on the connection's loop.
private struct ConnectionBodyWriter: HTTPBodyWriter {
    let connection: LoopBound<HTTPConnection>

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            connection.withValue { $0.writeChunk(bytes, then: continuation) }
        }
    }
}
