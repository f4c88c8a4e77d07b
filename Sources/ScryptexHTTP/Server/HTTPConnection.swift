import CLinux
import Glibc
import ScryptexCore
import ScryptexEventLoops

/// One client connection, owned by one event loop: reads bytes (through TLS when secure),
/// decodes requests one at a time, runs the application, and writes responses in order. What
/// to do next is decided by its `HTTPConnectionStateMachine`; this class does the I/O.
final class HTTPConnection: EventLoopSource {

    private let loop: EventLoop
    let server: HTTPServerCore
    private let descriptor: Int32
    private let tls: TLSSession?
    private var peer: String
    /// A trusted balancer's connection whose PROXY header (if any) is not read yet.
    private var awaitingProxyHeader: Bool
    private var token: UInt64 = 0
    private var state: HTTPConnectionStateMachine
    private var decoder: HTTPRequestDecoder
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var interest: UInt32 = SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLRDHUP
    /// What every request's context shares, made once the connection is ready (after the TLS
    /// handshake, with the client's SNI name, which cannot change on a connection).
    private var contextConnection: RequestContext.Connection?
    private static let outputHighWater = 256 * 1024
    /// When the request being answered was read in full.
    private var dispatchedAt = ContinuousClock.now
    /// The handler answering the current request, until its response is queued.
    private var handlerTask: Task<Void, Never>?

    init(loop: EventLoop, server: HTTPServerCore, descriptor: Int32, peer: String, tls: TLSSession?) {
        self.loop = loop
        self.server = server
        self.descriptor = descriptor
        self.peer = peer
        self.tls = tls
        awaitingProxyHeader = tls != nil && server.configuration.proxyProtocolSources.contains { $0.contains(peer) }
        self.state = HTTPConnectionStateMachine(secure: tls != nil, now: .now)
        self.decoder = HTTPRequestDecoder(limits: server.configuration.limits)
        if tls == nil { contextConnection = Self.contextConnection(server: server, peer: peer, tls: nil) }
    }

    func register() {
        token = loop.register(self, descriptor: descriptor, events: interest)
        server.connectionOpened()
    }

    private var outputPending: Bool { output.count > outputOffset }

    // MARK: Events

    func handle(events: UInt32) {
        if events & SCRYPTEX_EPOLLERR != 0 {
            close()
            return
        }
        if events & SCRYPTEX_EPOLLOUT != 0 {
            if state.phase == .handshake {
                continueHandshake()
            } else {
                flush()
                if state.writable(outputEmpty: !outputPending) {
                    updateInterest()
                    processBufferedRequests()
                }
            }
        }
        if state.phase != .closed, events & (SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLHUP | SCRYPTEX_EPOLLRDHUP) != 0 {
            if state.phase == .handshake { continueHandshake() } else { readAvailable() }
        }
    }

    func tick(now: ContinuousClock.Instant) {
        let expiry = state.expiry(
            at: now, timeouts: server.configuration.timeouts, outputPending: outputPending,
            midRequest: decoder.isMidRequest, readingBody: decoder.isReadingBody, draining: server.isDraining)
        switch expiry {
        case .none: break
        case .close: close()
        case .requestTimedOut:
            respondToFailure(HTTPParseError(.requestTimeout, "the request did not arrive in time"))
        }
    }

    // MARK: TLS handshake

    private func continueHandshake() {
        guard let tls else { return }
        if awaitingProxyHeader {
            guard readProxyHeader() else { return }
        }
        switch tls.handshake() {
        case .done:
            server.recordHandshake(resumed: tls.isResumed)
            contextConnection = Self.contextConnection(server: server, peer: peer, tls: tls)
            state.handshakeCompleted(now: loop.now)
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

    /// Reads a trusted balancer's PROXY header, if the connection starts with one, taking its
    /// client's address as the peer. False while more bytes are needed (or the connection was
    /// closed); the handshake timeout bounds the wait.
    private func readProxyHeader() -> Bool {
        var buffer = [UInt8](repeating: 0, count: ProxyProtocol.largestHeader)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
        if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            close()
            return false
        }
        guard count > 0 else { return false }
        switch ProxyProtocol.parse(Array(buffer[0..<count])) {
        case .incomplete:
            return false
        case .absent:
            awaitingProxyHeader = false
            return true
        case .header(let length, let source):
            let consumed = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, length, 0) }
            guard consumed == length else {
                close()
                return false
            }
            if let source { peer = source }
            awaitingProxyHeader = false
            return true
        case .invalid(let reason):
            server.logger.warning("refused a connection's PROXY header", ["peer": peer, "reason": reason])
            close()
            return false
        }
    }

    // MARK: Reading

    private func readAvailable() {
        while state.phase != .closed {
            guard state.mayRead(bufferedBytes: decoder.bufferedByteCount, limit: server.configuration.limits.bodyBytes)
            else {
                updateInterest()
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
                state.bytesArrived(startsRequest: !decoder.isMidRequest, now: loop.now)
                decoder.append(loop.scratch[0..<count])
                if state.phase == .reading { processBufferedRequests() }
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
                // under way is left to finish, unless it is open-ended (an event stream), which
                // stops with the connection.
                switch state.inputEnded() {
                case .finishResponse: updateInterest()
                case .close: close()
                }
                return
            }
        }
    }

    private func processBufferedRequests() {
        while state.phase == .reading {
            guard state.mayDecodeRequest(pendingOutput: output.count - outputOffset, highWater: Self.outputHighWater)
            else {
                updateInterest()
                return
            }
            do {
                switch try decoder.next() {
                case .needMoreData:
                    return
                case .expectsContinue:
                    enqueue(HTTPResponseEncoder.continueResponse)
                case .message(let request):
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
        state.requestFailed()
        updateInterest()
        enqueue(response, requestID: nil, omitBody: false, close: true)
    }

    private static func contextConnection(
        server: HTTPServerCore, peer: String, tls: TLSSession?
    ) -> RequestContext.Connection {
        RequestContext.Connection(
            logger: server.logger, serverName: tls?.serverName, isSecure: tls != nil, remoteAddress: peer)
    }

    private func dispatch(_ request: HTTPRequest) {
        state.requestDispatched()
        defer { state.dispatchReturned() }
        dispatchedAt = .now
        let connection =
            contextConnection ?? Self.contextConnection(server: server, peer: peer, tls: tls)
        let offered = RequestContext(requestID: server.nextRequestID(loop: loop.index), connection: connection)
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
        if state.handlerRunning { handlerTask = task }
    }

    private func complete(_ request: HTTPRequest, requestID: String, with response: HTTPResponse) {
        handlerTask = nil
        let producer = request.method == .head ? nil : response.bodyProducer
        guard
            let keepAlive = state.responseReady(
                keepAliveRequested: request.keepAlive, draining: server.isDraining, streamed: producer != nil,
                openEnded: response.isOpenEnded)
        else { return }
        server.responseTimes.record(.now - dispatchedAt)
        enqueue(response, requestID: requestID, omitBody: request.method == .head, close: !keepAlive)
        guard state.phase != .closed else { return }
        if let producer {
            stream(producer, keepAlive: keepAlive)
        } else {
            finishResponse(keepAlive: keepAlive)
        }
    }

    /// The response is sent: read the next request, or close.
    private func finishResponse(keepAlive: Bool) {
        let readNext = state.responseFinished(keepAlive: keepAlive, now: loop.now)
        updateInterest()
        if readNext { processBufferedRequests() }
    }

    // MARK: Streamed bodies

    /// A producer waiting for the output to drain before it writes more.
    private var producerWaiting: CheckedContinuation<Void, any Error>?
    /// The task writing a streamed body, owned by the connection: cancelled when it closes.
    private var streamTask: Task<Void, Never>?

    private func stream(_ producer: @escaping HTTPBodyProducer, keepAlive: Bool) {
        let bound = LoopBound(value: self, loop: loop)
        let writer = ConnectionBodyWriter(connection: bound)
        // On the loop, like the handler (each chunk is queued without a hop), from the loop's
        // next turn: the writer must not run inside this step of the connection.
        streamTask = Task(executorPreference: loop) {
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
        guard state.acceptsChunks else {
            continuation.resume(throwing: HTTPConnectionClosed())
            return
        }
        prepareOutput()
        output.append(contentsOf: String(bytes.count, radix: 16).utf8)
        output.append(contentsOf: [13, 10])
        output.append(contentsOf: bytes)
        output.append(contentsOf: [13, 10])
        state.outputQueued(now: loop.now)
        if output.count - outputOffset > Self.outputHighWater {
            producerWaiting = continuation
            flush()
        } else {
            flush()
            if state.phase == .closed {
                continuation.resume(throwing: HTTPConnectionClosed())
            } else {
                continuation.resume()
            }
        }
    }

    private func endStream(keepAlive: Bool) {
        streamTask = nil
        guard state.streamEnded(keepAlive: keepAlive) else { return }
        enqueue(Array("0\r\n\r\n".utf8))
        guard state.phase != .closed else { return }
        finishResponse(keepAlive: keepAlive)
    }

    // MARK: Writing

    private func enqueue(_ bytes: [UInt8]) {
        prepareOutput()
        output.append(contentsOf: bytes)
        state.outputQueued(now: loop.now)
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
        state.outputQueued(now: loop.now)
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
                state.outputWritten(now: loop.now)
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
        switch state.outputDrained(producerWaiting: producerWaiting != nil) {
        case .close:
            close()
        case .resumeProducer:
            let waiting = producerWaiting
            producerWaiting = nil
            waiting?.resume()
        case .nothing:
            break
        }
    }

    private func setWriteInterest(_ wanted: Bool) {
        var events = state.readPaused ? SCRYPTEX_EPOLLRDHUP : SCRYPTEX_EPOLLIN | SCRYPTEX_EPOLLRDHUP
        if wanted { events |= SCRYPTEX_EPOLLOUT }
        guard events != interest, state.phase != .closed else { return }
        interest = events
        loop.modify(token: token, descriptor: descriptor, events: events)
    }

    /// Watches the socket for what the state machine now wants (reading paused or not), keeping
    /// the interest in writing as it is.
    private func updateInterest() {
        setWriteInterest(interest & SCRYPTEX_EPOLLOUT != 0)
    }

    // MARK: Closing

    func close() {
        guard state.closing() else { return }
        handlerTask?.cancel()
        handlerTask = nil
        streamTask?.cancel()
        streamTask = nil
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
