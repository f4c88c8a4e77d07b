/// The decisions of one HTTP/1.1 connection, without any I/O: when to read, when to hold
/// requests back, whether to keep the connection after a response, when to close, and which
/// timeout has passed. `HTTPConnection` owns the socket, the buffers and the tasks; it reports
/// what happened here and carries out the answer. Each decision is tested on its own, without
/// sockets (`HTTPConnectionStateMachineTests`).
///
/// A connection goes handshake (TLS only) → reading → responding → reading … → closed; one
/// request is with the application at a time, and pipelined requests wait in the decoder.
struct HTTPConnectionStateMachine {
    enum Phase: Equatable {
        case handshake
        /// Waiting for (more of) a request.
        case reading
        /// A request is with the application, or its response is being sent.
        case responding
        case closed
    }

    private(set) var phase: Phase
    /// Reading is paused (the socket is watched for hang-up only).
    private(set) var readPaused = false
    /// Close once the output is written: the last response is queued.
    private(set) var closeWhenFlushed = false
    /// The peer finished sending (half-close) while a response was in progress.
    private(set) var peerFinished = false
    /// Requests are held back until the client reads what is already answered: a client that
    /// pipelines without reading must not grow the output buffer without bound.
    private(set) var outputBacklogged = false
    /// The current request's handler has not yet handed over its response.
    private(set) var handlerRunning = false
    /// The response being sent is an open-ended stream (it ends when the client leaves).
    private(set) var streamingOpenEnded = false
    /// The connection is inside its dispatch of a request: a response completed meanwhile must
    /// not read the next pipelined request itself (the dispatching loop does), or a long
    /// pipeline would recurse once per request.
    private(set) var dispatching = false
    /// When the current phase (or the request being read) began: the header, body and idle
    /// timeouts count from here.
    private(set) var phaseStarted: ContinuousClock.Instant
    /// The last time output was queued or written: the write timeout counts from here.
    private(set) var lastWriteProgress: ContinuousClock.Instant

    init(secure: Bool, now: ContinuousClock.Instant) {
        phase = secure ? .handshake : .reading
        phaseStarted = now
        lastWriteProgress = now
    }

    // MARK: Reading

    mutating func handshakeCompleted(now: ContinuousClock.Instant) {
        guard phase == .handshake else { return }
        phase = .reading
        phaseStarted = now
    }

    /// Whether to read more now. Reading pauses while a response is pending (or answers wait for
    /// the client to read them) and more than `limit` bytes are already buffered.
    mutating func mayRead(bufferedBytes: Int, limit: Int) -> Bool {
        guard phase != .closed else { return false }
        if (phase == .responding || outputBacklogged) && bufferedBytes > limit {
            readPaused = true
            return false
        }
        return true
    }

    /// Bytes arrived; `startsRequest` when none of a request was buffered before them.
    mutating func bytesArrived(startsRequest: Bool, now: ContinuousClock.Instant) {
        if startsRequest && phase == .reading { phaseStarted = now }
    }

    enum EndOfInput: Equatable {
        /// Close now (a handler still at work is cancelled with the connection).
        case close
        /// A streamed response is under way: let it finish, then close.
        case finishResponse
    }

    /// The client shut its sending side or went away. A finite streamed response is let finish
    /// (a client that half-closes still reads it); an open-ended one has nothing to finish.
    mutating func inputEnded() -> EndOfInput {
        if phase == .responding && !handlerRunning && !streamingOpenEnded {
            peerFinished = true
            readPaused = true
            return .finishResponse
        }
        return .close
    }

    // MARK: Requests

    /// Whether the next buffered request may be decoded, given the output not yet written. Too
    /// much pending output holds requests back (and pauses reading) until it drains.
    mutating func mayDecodeRequest(pendingOutput: Int, highWater: Int) -> Bool {
        guard phase == .reading else { return false }
        if pendingOutput > highWater {
            outputBacklogged = true
            readPaused = true
            return false
        }
        return true
    }

    /// A request goes to the application.
    mutating func requestDispatched() {
        phase = .responding
        handlerRunning = true
        dispatching = true
    }

    /// The dispatch returned (the handler answered already, or runs on in its task).
    mutating func dispatchReturned() {
        dispatching = false
    }

    /// A request could not be decoded: its error response is the last one.
    mutating func requestFailed() {
        phase = .responding
        closeWhenFlushed = true
        readPaused = true
    }

    // MARK: Responses

    /// The handler's response is ready. Returns whether the connection stays open after it, or
    /// nil when there is nowhere to send it (the connection closed meanwhile).
    mutating func responseReady(
        keepAliveRequested: Bool, draining: Bool, streamed: Bool, openEnded: Bool = false
    ) -> Bool? {
        handlerRunning = false
        guard phase == .responding else { return nil }
        streamingOpenEnded = streamed && openEnded
        let keepAlive = keepAliveRequested && !draining && !peerFinished
        if !keepAlive && !streamed { closeWhenFlushed = true }
        return keepAlive
    }

    /// A streamed body ended. False when the connection closed meanwhile.
    mutating func streamEnded(keepAlive: Bool) -> Bool {
        guard phase == .responding else { return false }
        streamingOpenEnded = false
        if !keepAlive { closeWhenFlushed = true }
        return true
    }

    /// The response is handed over in full. Returns whether to read the next request now.
    mutating func responseFinished(keepAlive: Bool, now: ContinuousClock.Instant) -> Bool {
        guard keepAlive, phase == .responding else { return false }
        phase = .reading
        phaseStarted = now
        readPaused = false
        return !dispatching
    }

    /// Whether a streamed body may add a chunk.
    var acceptsChunks: Bool { phase == .responding }

    // MARK: Writing

    mutating func outputQueued(now: ContinuousClock.Instant) {
        lastWriteProgress = now
    }

    mutating func outputWritten(now: ContinuousClock.Instant) {
        lastWriteProgress = now
    }

    enum Drained: Equatable {
        case close
        case resumeProducer
        case nothing
    }

    /// Everything queued is written.
    func outputDrained(producerWaiting: Bool) -> Drained {
        if closeWhenFlushed { return .close }
        return producerWaiting ? .resumeProducer : .nothing
    }

    /// The socket became writable. Returns whether requests held back may be decoded again (the
    /// output they waited for is written).
    mutating func writable(outputEmpty: Bool) -> Bool {
        guard outputBacklogged && outputEmpty && phase == .reading else { return false }
        outputBacklogged = false
        readPaused = false
        return true
    }

    // MARK: Time

    enum Expiry: Equatable {
        case none
        /// Close without a word (a stalled handshake or write, an idle or drained connection).
        case close
        /// Answer 408: the request did not arrive in time.
        case requestTimedOut
    }

    /// What the passing of time decides at `now`.
    func expiry(
        at now: ContinuousClock.Instant, timeouts: HTTPServer.Timeouts, outputPending: Bool, midRequest: Bool,
        readingBody: Bool, draining: Bool
    ) -> Expiry {
        guard phase != .closed else { return .none }
        if outputPending, now - lastWriteProgress > timeouts.write { return .close }
        switch phase {
        case .handshake where now - phaseStarted > timeouts.header:
            return .close
        case .reading:
            if draining && !midRequest && !outputPending { return .close }
            if midRequest {
                // Headers must arrive within the header timeout (slowloris); a body within the body timeout.
                return now - phaseStarted > (readingBody ? timeouts.body : timeouts.header) ? .requestTimedOut : .none
            }
            // Idle only once everything answered is sent: a client still reading its answers is
            // governed by the write timeout.
            return now - phaseStarted > timeouts.idle && !outputPending ? .close : .none
        default:
            return .none
        }
    }

    // MARK: Closing

    /// Returns false when the connection was closed already.
    mutating func closing() -> Bool {
        guard phase != .closed else { return false }
        phase = .closed
        handlerRunning = false
        return true
    }
}
