public import Foundation

/// The byte stream a FIX session runs over (a TLS connection on the host's event loops; the
/// composition root supplies it).
public protocol FIXTransport: Sendable {
    var events: AsyncStream<FIXTransportEvent> { get }
    func write(_ bytes: [UInt8])
    func close(_ reason: String)
}

public enum FIXTransportEvent: Sendable, Equatable {
    case connected
    case received([UInt8])
    case closed(String)
}

/// Where a session keeps what survives a restart: every message it sent (for resends) and the
/// next sequence numbers both ways.
public protocol FIXMessageStore: Sendable {
    /// The numbers to resume with: (next to send, next expected).
    func sequenceNumbers() async throws -> (sender: Int, target: Int)
    /// Keeps a message about to be sent, with the next number to send after it — before it is
    /// written to the connection.
    func recordSent(_ message: FIXMessage, nextSender: Int) async throws
    /// The next number expected, once a received message has been handled.
    func recordReceived(nextTarget: Int) async throws
    /// The messages sent numbered `from`…`through`.
    func sent(from: Int, through: Int) async throws -> [Int: FIXMessage]
    /// Both numbers at once (a Logon that resets them).
    func reset(sender: Int, target: Int) async throws
}

/// What the application does with a received application message (an ExecutionReport booked,
/// say): awaited before the session counts the message as handled, so a crash in between makes
/// the counterparty resend it.
public typealias FIXApplicationHandler = @Sendable (FIXMessage) async throws -> Void

/// Runs one FIX session over a transport: feeds the state machine what arrives and the time
/// (each second), stores every message before it is written and the expected number after each
/// message is handled, answers resend requests from the store, and hands application messages to
/// the application in order.
public actor FIXSessionRunner {
    public private(set) var session: FIXSession
    private let store: any FIXMessageStore
    private let transport: any FIXTransport
    private let application: FIXApplicationHandler
    private let clock: @Sendable () -> Double
    private var framer = FIXFramer()
    private var notes: [String] = []
    private var closedReason: String?
    /// The application or the store failed on the message being handled: it is not counted.
    private var handlingFailed = false
    private var loggedOnWaiters: [CheckedContinuation<Void, any Error>] = []

    public init(
        session: FIXSession, store: any FIXMessageStore, transport: any FIXTransport,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        application: @escaping FIXApplicationHandler
    ) {
        self.session = session
        self.store = store
        self.transport = transport
        self.clock = clock
        self.application = application
    }

    /// What the session noted (drops, rejects, duplicates, logon), oldest first.
    public var log: [String] { notes }

    /// Runs until the connection closes; returns why it closed.
    public func run(resetSequenceNumbers: Bool = false) async -> String {
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.tick()
            }
        }
        defer { ticker.cancel() }
        for await event in transport.events {
            switch event {
            case .connected:
                await perform { $0.connected(now: clock(), resetSequenceNumbers: resetSequenceNumbers) }
            case .received(let bytes):
                framer.append(bytes)
                while let item = framer.next() {
                    switch item {
                    case .message(let message):
                        await perform { $0.receive(message, now: clock()) }
                        // Counted once handled — also when it ended the session (a Logout).
                        if !handlingFailed {
                            do {
                                try await store.recordReceived(nextTarget: session.nextTargetSequence)
                            } catch {
                                close("cannot store the session's numbers: \(error)")
                            }
                        }
                    case .garbled(let garbled):
                        await perform { $0.receiveGarbled(garbled, now: clock()) }
                    }
                    if closedReason != nil { break }
                }
            case .closed(let reason):
                session.disconnected()
                if closedReason == nil { closedReason = reason }
                failWaiters(reason)
            }
        }
        return closedReason ?? "closed"
    }

    /// Waits until the session is logged on (or fails when it closes first).
    public func waitUntilLoggedOn() async throws {
        if session.phase == .active { return }
        if let closedReason { throw FIXSessionError("the session closed: \(closedReason)") }
        try await withCheckedThrowingContinuation { loggedOnWaiters.append($0) }
    }

    /// Sends an application message; returns it as sent (numbered and stamped).
    @discardableResult
    public func send(_ message: FIXMessage) async throws -> FIXMessage {
        let stamped = try session.send(message, now: clock())
        try await store.recordSent(stamped, nextSender: session.nextSenderSequence)
        transport.write(stamped.encoded())
        return stamped
    }

    /// Logs out (the answer closes the connection).
    public func logout(_ text: String? = nil) async {
        await perform { $0.logout(text: text, now: clock()) }
    }

    private func tick() async {
        guard closedReason == nil else { return }
        await perform { $0.tick(now: clock()) }
    }

    private func perform(_ step: (inout FIXSession) -> [FIXSession.Action]) async {
        let wasActive = session.phase == .active
        let sender = session.nextSenderSequence
        let target = session.nextTargetSequence
        let actions = step(&session)
        if session.nextSenderSequence < sender || session.nextTargetSequence < target {
            // A Logon with ResetSeqNumFlag started both sides again.
            do {
                try await store.reset(sender: session.nextSenderSequence, target: session.nextTargetSequence)
            } catch {
                close("cannot store the session's numbers: \(error)")
                return
            }
        }
        for action in actions {
            guard closedReason == nil else { return }
            switch action {
            case .send(let message):
                do {
                    try await store.recordSent(message, nextSender: (message.sequenceNumber ?? 0) + 1)
                } catch {
                    close("cannot store an outgoing message: \(error)")
                    return
                }
                transport.write(message.encoded())
            case .deliver(let message):
                do {
                    try await application(message)
                } catch {
                    // Not counted: the counterparty resends it after a reconnection.
                    handlingFailed = true
                    close("the application could not handle \(message.type) \(message.sequenceNumber ?? 0): \(error)")
                    return
                }
            case .resend(let from, let through):
                do {
                    let stored = try await store.sent(from: from, through: through)
                    for message in session.resend(stored: stored, from: from, through: through, now: clock()) {
                        transport.write(message.encoded())
                    }
                } catch {
                    close("cannot read the stored messages to resend: \(error)")
                    return
                }
            case .disconnect(let reason):
                close(reason)
            case .note(let text):
                notes.append(text)
                if notes.count > 1_000 { notes.removeFirst(notes.count - 1_000) }
            }
        }
        if !wasActive && session.phase == .active {
            let waiters = loggedOnWaiters
            loggedOnWaiters = []
            waiters.forEach { $0.resume() }
        }
    }

    private func close(_ reason: String) {
        guard closedReason == nil else { return }
        closedReason = reason
        session.disconnected()
        transport.close(reason)
        failWaiters(reason)
    }

    private func failWaiters(_ reason: String) {
        let waiters = loggedOnWaiters
        loggedOnWaiters = []
        waiters.forEach { $0.resume(throwing: FIXSessionError("the session closed: \(reason)")) }
    }
}

/// A message store in memory (tests, and a session that need not survive a restart).
public actor InMemoryFIXMessageStore: FIXMessageStore {
    private var messages: [Int: FIXMessage] = [:]
    private var sender = 1
    private var target = 1

    public init(sender: Int = 1, target: Int = 1) {
        self.sender = sender
        self.target = target
    }

    public func sequenceNumbers() -> (sender: Int, target: Int) { (sender, target) }

    public func recordSent(_ message: FIXMessage, nextSender: Int) {
        if let number = message.sequenceNumber { messages[number] = message }
        sender = max(sender, nextSender)
    }

    public func recordReceived(nextTarget: Int) { target = nextTarget }

    public func sent(from: Int, through: Int) -> [Int: FIXMessage] {
        messages.filter { (from...max(from, through)).contains($0.key) }
    }

    public func reset(sender: Int, target: Int) {
        messages = [:]
        self.sender = sender
        self.target = target
    }
}
