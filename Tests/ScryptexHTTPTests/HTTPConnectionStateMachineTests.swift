import Testing

@testable import ScryptexHTTP

/// The connection's decisions, event by event, without a socket.
@Suite("HTTP connection state machine")
struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine
    static let start = ContinuousClock.now
    static func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// A plain connection with one request dispatched.
    static func responding() -> Machine {
        var machine = Machine(secure: false, now: start)
        let decision1 = machine.mayDecodeRequest(pendingOutput: 0, highWater: 100)
        #expect(decision1)
        machine.requestDispatched()
        return machine
    }

    @Test func aTLSConnectionReadsOnlyAfterItsHandshake() {
        var machine = Machine(secure: true, now: Self.start)
        #expect(machine.phase == .handshake)
        let decision2 = machine.mayDecodeRequest(pendingOutput: 0, highWater: 100)
        #expect(!decision2)
        machine.handshakeCompleted(now: Self.at(3))
        #expect(machine.phase == .reading && machine.phaseStarted == Self.at(3))
        #expect(Machine(secure: false, now: Self.start).phase == .reading)
    }

    @Test(arguments: [
        // (keep-alive asked, host draining, streamed) → stays open, closes once written
        (true, false, false, true, false),
        (false, false, false, false, true),
        (true, true, false, false, true),
        // A streamed body's end decides the close, not its head.
        (false, false, true, false, false),
        (true, false, true, true, false),
    ])
    func keepAliveFollowsTheRequestAndTheHost(
        asked: Bool, draining: Bool, streamed: Bool, keepsOpen: Bool, closesWhenWritten: Bool
    ) {
        var machine = Self.responding()
        machine.dispatchReturned()
        let keepAlive = machine.responseReady(keepAliveRequested: asked, draining: draining, streamed: streamed)
        #expect(keepAlive == keepsOpen)
        #expect(machine.closeWhenFlushed == closesWhenWritten)
        #expect(machine.outputDrained(producerWaiting: false) == (closesWhenWritten ? .close : .nothing))
        if streamed {
            let ended = machine.streamEnded(keepAlive: keepsOpen)
            #expect(ended && machine.closeWhenFlushed == !keepsOpen)
        }
    }

    @Test func aResponseFinishedInsideItsDispatchLeavesTheNextRequestToTheDispatchingLoop() {
        var inline = Self.responding()
        let decision4 = inline.responseReady(keepAliveRequested: true, draining: false, streamed: false)
        #expect(decision4 == true)
        // Still inside dispatch: the caller's loop decodes the next pipelined request.
        let decision5 = inline.responseFinished(keepAlive: true, now: Self.at(1))
        #expect(!decision5)
        #expect(inline.phase == .reading && inline.phaseStarted == Self.at(1))

        var later = Self.responding()
        later.dispatchReturned()
        #expect(later.handlerRunning)
        let decision6 = later.responseReady(keepAliveRequested: true, draining: false, streamed: false)
        #expect(decision6 == true)
        #expect(!later.handlerRunning)
        // Answered from a task after dispatch returned: this completion reads the next request.
        let decision7 = later.responseFinished(keepAlive: true, now: Self.at(2))
        #expect(decision7)
        let decision8 = later.responseFinished(keepAlive: true, now: Self.at(2))
        #expect(!decision8)
    }

    @Test func theEndOfInputClosesUnlessAStreamedResponseIsUnderWay() {
        // Waiting for a request, or with a handler still at work (cancelled with the connection).
        var reading = Machine(secure: false, now: Self.start)
        let decision9 = reading.inputEnded()
        #expect(decision9 == .close)
        var working = Self.responding()
        let decision10 = working.inputEnded()
        #expect(decision10 == .close)
        // The handler handed over a streamed body: it finishes, then the connection closes.
        var streaming = Self.responding()
        let decision11 = streaming.responseReady(keepAliveRequested: true, draining: false, streamed: true)
        #expect(decision11 == true)
        let decision12 = streaming.inputEnded()
        #expect(decision12 == .finishResponse)
        #expect(streaming.readPaused && streaming.peerFinished)
        let decision13 = streaming.streamEnded(keepAlive: !streaming.peerFinished)
        #expect(decision13)
        #expect(streaming.outputDrained(producerWaiting: false) == .close)
        // An open-ended stream (Server-Sent Events) has no end to wait for: it closes at once.
        var events = Self.responding()
        let decision13a = events.responseReady(
            keepAliveRequested: true, draining: false, streamed: true, openEnded: true)
        #expect(decision13a == true)
        #expect(events.inputEnded() == .close)
        // Once it ended, the next response on the connection is not open-ended any more.
        var reused = Self.responding()
        _ = reused.responseReady(keepAliveRequested: true, draining: false, streamed: true, openEnded: true)
        _ = reused.streamEnded(keepAlive: true)
        _ = reused.responseFinished(keepAlive: true, now: Self.at(3))
        reused.requestDispatched()
        _ = reused.responseReady(keepAliveRequested: true, draining: false, streamed: true)
        #expect(reused.inputEnded() == .finishResponse)
    }

    @Test func aClientThatDoesNotReadItsAnswersIsHeldBackUntilItDoes() {
        var machine = Machine(secure: false, now: Self.start)
        let decision14 = machine.mayDecodeRequest(pendingOutput: 101, highWater: 100)
        #expect(!decision14)
        #expect(machine.outputBacklogged && machine.readPaused)
        // While answers wait, reading stops once a body's worth is buffered.
        let decision15 = machine.mayRead(bufferedBytes: 10, limit: 10)
        #expect(decision15)
        let decision16 = machine.mayRead(bufferedBytes: 11, limit: 10)
        #expect(!decision16)
        let decision17 = machine.writable(outputEmpty: false)
        #expect(!decision17)
        let decision18 = machine.writable(outputEmpty: true)
        #expect(decision18)
        #expect(!machine.outputBacklogged && !machine.readPaused)
        let decision19 = machine.mayDecodeRequest(pendingOutput: 0, highWater: 100)
        #expect(decision19)
        // A request with the application holds reading back the same way.
        var responding = Self.responding()
        let decision20 = responding.mayRead(bufferedBytes: 11, limit: 10)
        #expect(!decision20)
        let decision21 = responding.mayRead(bufferedBytes: 10, limit: 10)
        #expect(decision21)
    }

    @Test func aMalformedRequestIsAnsweredAndTheConnectionClosed() {
        var machine = Machine(secure: false, now: Self.start)
        machine.requestFailed()
        #expect(machine.phase == .responding && machine.readPaused && machine.closeWhenFlushed)
        #expect(machine.outputDrained(producerWaiting: true) == .close)
    }

    @Test func aStreamWaitsForTheClientAndStopsWithTheConnection() {
        var machine = Self.responding()
        _ = machine.responseReady(keepAliveRequested: true, draining: false, streamed: true)
        #expect(machine.acceptsChunks)
        #expect(machine.outputDrained(producerWaiting: true) == .resumeProducer)
        let decision22 = machine.closing()
        #expect(decision22)
        let decision23 = machine.closing()
        #expect(!decision23)
        let decision24 = machine.streamEnded(keepAlive: true)
        #expect(!machine.acceptsChunks && !decision24)
        let decision25 = machine.responseReady(keepAliveRequested: true, draining: false, streamed: false)
        #expect(decision25 == nil)
    }

    @Test func timeoutsCountFromWhereEachPhaseBegan() {
        var timeouts = HTTPServer.Timeouts()
        timeouts.header = .seconds(10)
        timeouts.body = .seconds(30)
        timeouts.idle = .seconds(60)
        timeouts.write = .seconds(20)
        func expiry(
            _ machine: Machine, at seconds: Int, pending: Bool = false, mid: Bool = false, body: Bool = false,
            draining: Bool = false
        ) -> Machine.Expiry {
            machine.expiry(
                at: Self.at(seconds), timeouts: timeouts, outputPending: pending, midRequest: mid, readingBody: body,
                draining: draining)
        }
        let handshake = Machine(secure: true, now: Self.start)
        #expect(expiry(handshake, at: 10) == .none)
        #expect(expiry(handshake, at: 11) == .close)

        var reading = Machine(secure: false, now: Self.start)
        #expect(expiry(reading, at: 59) == .none)
        #expect(expiry(reading, at: 61) == .close)
        // Still sending answers: not idle, but the write timeout counts.
        #expect(expiry(reading, at: 61, pending: true) == .close)
        reading.outputQueued(now: Self.at(50))
        #expect(expiry(reading, at: 61, pending: true) == .none)
        #expect(expiry(reading, at: 71, pending: true) == .close)
        // Part of a request: its head within 10 s, its body within 30 s.
        reading.bytesArrived(startsRequest: true, now: Self.at(100))
        #expect(expiry(reading, at: 109, mid: true) == .none)
        #expect(expiry(reading, at: 111, mid: true) == .requestTimedOut)
        #expect(expiry(reading, at: 111, mid: true, body: true) == .none)
        #expect(expiry(reading, at: 131, mid: true, body: true) == .requestTimedOut)
        // More of the same request does not restart the clock.
        reading.bytesArrived(startsRequest: false, now: Self.at(105))
        #expect(reading.phaseStarted == Self.at(100))
        // A draining host closes idle connections at once, and lets a request in flight finish.
        #expect(expiry(reading, at: 100, draining: true) == .close)
        #expect(expiry(reading, at: 100, mid: true, draining: true) == .none)

        var responding = Self.responding()
        #expect(expiry(responding, at: 1_000) == .none)
        _ = responding.closing()
        #expect(expiry(responding, at: 1_000, pending: true) == .none)
    }
}
