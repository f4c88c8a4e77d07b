import Foundation

/// The FIX 4.4 session layer as a state machine: no sockets, no clock and no storage of its own.
/// The connection feeds it what arrives (`receive`), the time (`tick`) and what the application
/// wants sent (`send`); it answers with actions — messages to write (each already numbered and
/// stamped: the caller stores it, with the sequence numbers, before writing it, so a restart
/// resumes without losing or repeating one), application messages to hand on in order, resends
/// to make from the store, and when to disconnect.
///
/// What it does, as the FIX session protocol says:
/// - Logon with the heartbeat interval (the initiator sends it; the acceptor answers it), Logout
///   both ways;
/// - a message numbered above the one expected: a ResendRequest from the expected number (and the
///   message dropped: the resend brings it again); below it without PossDupFlag: Logout and
///   disconnect; a possible duplicate already seen: ignored;
/// - ResendRequest: application messages resent from the store with PossDupFlag and
///   OrigSendingTime, administrative ones replaced by SequenceReset-GapFill;
/// - SequenceReset in gap-fill and reset mode;
/// - Heartbeats when nothing was sent for the interval, a TestRequest when nothing arrived for it
///   (and a disconnect when that too goes unanswered);
/// - a message that breaks the data dictionary: Reject (35=3) with the reason and tag, counted;
///   a garbled one (framing, body length, checksum): dropped and not counted.
public struct FIXSession: Sendable {
    public enum Role: String, Sendable, Codable {
        case initiator
        case acceptor
    }

    public enum Phase: String, Sendable, Codable {
        /// Connected, no Logon exchanged yet (the initiator has sent its own).
        case awaitingLogon
        case active
        /// Logout sent, waiting for the answer.
        case loggingOut
        case disconnected
    }

    public enum Action: Sendable, Equatable {
        /// Write this message (numbered and stamped; store it first).
        case send(FIXMessage)
        /// An application message received in sequence, for the application.
        case deliver(FIXMessage)
        /// Resend the stored messages numbered `from` through `through` (inclusive) with
        /// `resend(stored:)`.
        case resend(from: Int, through: Int)
        /// Close the connection, saying why.
        case disconnect(String)
        /// Something worth logging (a dropped, rejected or duplicate message).
        case note(String)
    }

    /// The largest sequence number taken from a counterparty: numbers are counted on from
    /// what it sends, so one near `Int.max` must never reach the counter.
    public static let largestSequenceNumber = 1_000_000_000_000

    public let role: Role
    public let senderCompID: String
    public let targetCompID: String
    public let heartbeatInterval: Int
    /// The number the next message sent will carry.
    public private(set) var nextSenderSequence: Int
    /// The number the next message received should carry.
    public private(set) var nextTargetSequence: Int
    public private(set) var phase: Phase = .awaitingLogon
    /// A ResendRequest is out up to this number (nil: none).
    public private(set) var resendingThrough: Int?
    private var lastReceived: Double = 0
    private var lastSent: Double = 0
    private var testRequestSent: (id: String, at: Double)?
    private var testRequestCount = 0

    public init(
        role: Role, senderCompID: String, targetCompID: String, heartbeatInterval: Int = 30,
        nextSenderSequence: Int = 1, nextTargetSequence: Int = 1
    ) {
        self.role = role
        self.senderCompID = senderCompID
        self.targetCompID = targetCompID
        self.heartbeatInterval = heartbeatInterval
        self.nextSenderSequence = nextSenderSequence
        self.nextTargetSequence = nextTargetSequence
    }

    // MARK: Starting and stopping

    /// On connecting: the initiator's Logon (`resetSequenceNumbers` starts both sides at 1).
    public mutating func connected(now: Double, resetSequenceNumbers: Bool = false) -> [Action] {
        phase = .awaitingLogon
        lastReceived = now
        lastSent = now
        resendingThrough = nil
        testRequestSent = nil
        guard role == .initiator else { return [] }
        var logon = FIXMessage(
            type: FIXMessageType.logon,
            fields: [FIXField(FIXTag.encryptMethod, "0"), FIXField(FIXTag.heartBtInt, String(heartbeatInterval))])
        if resetSequenceNumbers {
            nextSenderSequence = 1
            nextTargetSequence = 1
            logon.set(FIXTag.resetSeqNumFlag, "Y")
        }
        return [.send(stamp(logon, now: now))]
    }

    /// A Logout to end the session (the answer, or `tick` after an interval, disconnects).
    public mutating func logout(text: String? = nil, now: Double) -> [Action] {
        guard phase == .active else { return [.disconnect(text ?? "logged out before logon")] }
        phase = .loggingOut
        var message = FIXMessage(type: FIXMessageType.logout)
        if let text { message.set(FIXTag.text, text) }
        return [.send(stamp(message, now: now))]
    }

    /// The connection dropped.
    public mutating func disconnected() {
        phase = .disconnected
        resendingThrough = nil
        testRequestSent = nil
    }

    // MARK: Sending

    /// An application message to send: numbered and stamped, or refused while not logged on.
    public mutating func send(_ message: FIXMessage, now: Double) throws(FIXSessionError) -> FIXMessage {
        guard phase == .active else { throw FIXSessionError("the session is not logged on (\(phase.rawValue))") }
        return stamp(message, now: now)
    }

    mutating func stamp(_ message: FIXMessage, now: Double) -> FIXMessage {
        var stamped = FIXMessage(type: message.type)
        stamped.fields += [
            FIXField(FIXTag.senderCompID, senderCompID), FIXField(FIXTag.targetCompID, targetCompID),
            FIXField(FIXTag.msgSeqNum, String(nextSenderSequence)),
            FIXField(FIXTag.sendingTime, FIXTime.format(Date(timeIntervalSince1970: now))),
        ]
        let header: Set<Int> = [
            FIXTag.msgType, FIXTag.senderCompID, FIXTag.targetCompID, FIXTag.msgSeqNum, FIXTag.sendingTime,
        ]
        stamped.fields += message.fields.filter { !header.contains($0.tag) }
        nextSenderSequence += 1
        lastSent = now
        return stamped
    }

    /// The stored messages `from`…`through` as a resend: application messages again, with
    /// PossDupFlag=Y and OrigSendingTime, under their own numbers; each run of administrative
    /// (or missing) ones as one SequenceReset-GapFill to the next number resent.
    public func resend(stored: [Int: FIXMessage], from: Int, through: Int, now: Double) -> [FIXMessage] {
        var messages: [FIXMessage] = []
        var gapStart: Int?
        let sendingTime = FIXTime.format(Date(timeIntervalSince1970: now))
        func gapFill(to next: Int) {
            guard let start = gapStart else { return }
            var reset = FIXMessage(type: FIXMessageType.sequenceReset)
            reset.fields += [
                FIXField(FIXTag.senderCompID, senderCompID), FIXField(FIXTag.targetCompID, targetCompID),
                FIXField(FIXTag.msgSeqNum, String(start)), FIXField(FIXTag.possDupFlag, "Y"),
                FIXField(FIXTag.sendingTime, sendingTime), FIXField(FIXTag.origSendingTime, sendingTime),
                FIXField(FIXTag.gapFillFlag, "Y"), FIXField(FIXTag.newSeqNo, String(next)),
            ]
            messages.append(reset)
            gapStart = nil
        }
        guard from <= through else { return [] }
        for number in from...through {
            guard let message = stored[number], !FIXMessageType.administrative.contains(message.type) else {
                if gapStart == nil { gapStart = number }
                continue
            }
            gapFill(to: number)
            var again = FIXMessage(type: message.type)
            let original = message[FIXTag.sendingTime] ?? sendingTime
            for field in message.fields.dropFirst()
            where field.tag != FIXTag.possDupFlag && field.tag != FIXTag.origSendingTime {
                if field.tag == FIXTag.sendingTime {
                    again.fields += [
                        FIXField(FIXTag.possDupFlag, "Y"), FIXField(FIXTag.sendingTime, sendingTime),
                        FIXField(FIXTag.origSendingTime, original),
                    ]
                } else {
                    again.fields.append(field)
                }
            }
            messages.append(again)
        }
        gapFill(to: through + 1)
        return messages
    }

    // MARK: Receiving

    /// A garbled message: dropped, not counted (the sender's resend or our own gap detection
    /// brings it back).
    /// A garbled message is dropped and not counted. While logged on, a TestRequest goes out at
    /// once (one at a time): the Heartbeat that answers it carries the counterparty's next number,
    /// so the message lost shows as a gap and is asked for now — not at the next message, which
    /// may be a heartbeat interval away.
    public mutating func receiveGarbled(_ garbled: FIXGarbled, now: Double) -> [Action] {
        lastReceived = now
        var actions: [Action] = [.note("dropped: \(garbled.reason)")]
        if phase == .active, testRequestSent == nil {
            actions.append(testRequest(prefix: "GARBLED", now: now))
        }
        return actions
    }

    public mutating func receive(_ message: FIXMessage, now: Double) -> [Action] {
        lastReceived = now
        testRequestSent = nil
        testRequestCount = 0
        guard phase != .disconnected else { return [] }
        guard message[FIXTag.senderCompID] == targetCompID, message[FIXTag.targetCompID] == senderCompID else {
            var actions = reject(
                message, reason: .compIDProblem, tag: FIXTag.senderCompID,
                text:
                    "CompIDs are \(message[FIXTag.senderCompID] ?? "?")→\(message[FIXTag.targetCompID] ?? "?"), not \(targetCompID)→\(senderCompID)",
                now: now)
            actions += logoutAndDisconnect("wrong CompID", now: now)
            return actions
        }
        guard let number = message.sequenceNumber, (1...Self.largestSequenceNumber).contains(number) else {
            return logoutAndDisconnect(
                "MsgSeqNum (34) missing or not a number from 1 to \(Self.largestSequenceNumber)", now: now)
        }
        if phase == .awaitingLogon {
            guard message.type == FIXMessageType.logon else {
                return [.disconnect("the first message was \(message.type), not a Logon")]
            }
            return receiveLogon(message, number: number, now: now)
        }
        // A SequenceReset in reset mode moves the expected number whatever its own is.
        if message.type == FIXMessageType.sequenceReset && message[FIXTag.gapFillFlag] != "Y" {
            return receiveSequenceReset(message, now: now)
        }
        if number > nextTargetSequence {
            return gap(received: number, message: message, now: now)
        }
        if number < nextTargetSequence {
            if message.isPossibleDuplicate {
                return [.note("duplicate \(message.type) \(number) ignored (expecting \(nextTargetSequence))")]
            }
            return logoutAndDisconnect(
                "MsgSeqNum too low, expecting \(nextTargetSequence) but received \(number)", now: now)
        }
        // In sequence.
        if let through = resendingThrough, number >= through { resendingThrough = nil }
        do {
            try FIXDictionary.validate(message)
        } catch {
            nextTargetSequence += 1
            return reject(message, reason: error.reason, tag: error.tag, text: error.text, now: now)
        }
        switch message.type {
        case FIXMessageType.heartbeat:
            nextTargetSequence += 1
            return []
        case FIXMessageType.testRequest:
            nextTargetSequence += 1
            let answer = FIXMessage(
                type: FIXMessageType.heartbeat, fields: [FIXField(FIXTag.testReqID, message[FIXTag.testReqID] ?? "")])
            return [.send(stamp(answer, now: now))]
        case FIXMessageType.resendRequest:
            nextTargetSequence += 1
            let begin = Int(message[FIXTag.beginSeqNo] ?? "") ?? 1
            let end = Int(message[FIXTag.endSeqNo] ?? "") ?? 0
            let last = nextSenderSequence - 1
            let through = end == 0 || end > last ? last : end
            guard begin <= through else { return [.note("ResendRequest \(begin)…\(end): nothing to resend")] }
            return [.resend(from: max(1, begin), through: through)]
        case FIXMessageType.sequenceReset:
            // Gap fill, in sequence.
            guard let next = Int(message[FIXTag.newSeqNo] ?? ""), next > nextTargetSequence,
                next <= Self.largestSequenceNumber
            else {
                nextTargetSequence += 1
                return reject(
                    message, reason: .valueIncorrect, tag: FIXTag.newSeqNo,
                    text: "NewSeqNo (36) must be above \(number)", now: now)
            }
            nextTargetSequence = next
            return []
        case FIXMessageType.logout:
            nextTargetSequence += 1
            if phase == .loggingOut {
                phase = .disconnected
                return [.disconnect("logged out")]
            }
            phase = .disconnected
            return [
                .send(stamp(FIXMessage(type: FIXMessageType.logout), now: now)),
                .disconnect("the counterparty logged out: \(message[FIXTag.text] ?? "no reason given")"),
            ]
        case FIXMessageType.logon:
            nextTargetSequence += 1
            return reject(
                message, reason: .other, tag: nil, text: "Logon received while logged on", now: now)
        case FIXMessageType.reject:
            nextTargetSequence += 1
            return [
                .note("session reject of \(message[FIXTag.refSeqNum] ?? "?"): \(message[FIXTag.text] ?? "")"),
                .deliver(message),
            ]
        default:
            nextTargetSequence += 1
            return [.deliver(message)]
        }
    }

    private mutating func receiveLogon(_ message: FIXMessage, number: Int, now: Double) -> [Action] {
        do {
            try FIXDictionary.validate(message)
        } catch {
            return [.disconnect("Logon refused: \(error.text)")]
        }
        if message[FIXTag.resetSeqNumFlag] == "Y" {
            nextTargetSequence = 1
            if role == .acceptor { nextSenderSequence = 1 }
        }
        var actions: [Action] = []
        if role == .acceptor {
            guard Int(message[FIXTag.heartBtInt] ?? "") != nil else {
                return [.disconnect("Logon without a heartbeat interval")]
            }
            var answer = FIXMessage(
                type: FIXMessageType.logon,
                fields: [FIXField(FIXTag.encryptMethod, "0"), FIXField(FIXTag.heartBtInt, String(heartbeatInterval))])
            if message[FIXTag.resetSeqNumFlag] == "Y" { answer.set(FIXTag.resetSeqNumFlag, "Y") }
            actions.append(.send(stamp(answer, now: now)))
        }
        phase = .active
        if number < nextTargetSequence {
            phase = .loggingOut
            return actions
                + logoutAndDisconnect(
                    "MsgSeqNum too low, expecting \(nextTargetSequence) but received \(number)", now: now)
        }
        if number > nextTargetSequence {
            // Logged on; what we missed is asked for.
            actions += requestResend(upTo: number, now: now)
        } else {
            nextTargetSequence += 1
        }
        actions.append(.note("logged on; next numbers: sending \(nextSenderSequence), expecting \(nextTargetSequence)"))
        return actions
    }

    private mutating func receiveSequenceReset(_ message: FIXMessage, now: Double) -> [Action] {
        guard let next = Int(message[FIXTag.newSeqNo] ?? "") else {
            return reject(
                message, reason: .requiredTagMissing, tag: FIXTag.newSeqNo, text: "NewSeqNo (36) missing", now: now)
        }
        guard next >= nextTargetSequence, next <= Self.largestSequenceNumber else {
            return reject(
                message, reason: .valueIncorrect, tag: FIXTag.newSeqNo,
                text:
                    "NewSeqNo (36) \(next) is below the expected \(nextTargetSequence) or beyond \(Self.largestSequenceNumber)",
                now: now)
        }
        nextTargetSequence = next
        resendingThrough = nil
        return [.note("sequence reset: expecting \(next)")]
    }

    private mutating func gap(received number: Int, message: FIXMessage, now: Double) -> [Action] {
        if message.type == FIXMessageType.logout {
            phase = .disconnected
            return [.disconnect("the counterparty logged out (with a gap): \(message[FIXTag.text] ?? "")")]
        }
        if message.type == FIXMessageType.resendRequest {
            // Answer it now (a deadlock otherwise), and ask for ours.
            var actions = requestResend(upTo: number, now: now)
            let begin = Int(message[FIXTag.beginSeqNo] ?? "") ?? 1
            let end = Int(message[FIXTag.endSeqNo] ?? "") ?? 0
            let last = nextSenderSequence - 1
            let through = end == 0 || end > last ? last : end
            if begin <= through { actions.insert(.resend(from: max(1, begin), through: through), at: 0) }
            return actions
        }
        if let through = resendingThrough {
            // The request asked for everything from the expected number on (EndSeqNo 0): what the
            // counterparty sent before it read the request comes again in the resend; one request
            // is enough.
            resendingThrough = max(through, number)
            return [.note("\(message.type) \(number) dropped while a resend from \(nextTargetSequence) is under way")]
        }
        return requestResend(upTo: number, now: now)
            + [.note("gap: expecting \(nextTargetSequence), received \(number); \(message.type) dropped until resent")]
    }

    private mutating func requestResend(upTo number: Int, now: Double) -> [Action] {
        resendingThrough = number
        let request = FIXMessage(
            type: FIXMessageType.resendRequest,
            fields: [FIXField(FIXTag.beginSeqNo, String(nextTargetSequence)), FIXField(FIXTag.endSeqNo, "0")])
        return [.send(stamp(request, now: now))]
    }

    private mutating func reject(
        _ message: FIXMessage, reason: FIXDictionary.RejectReason, tag: Int?, text: String, now: Double
    ) -> [Action] {
        var reject = FIXMessage(
            type: FIXMessageType.reject,
            fields: [
                FIXField(FIXTag.refSeqNum, message[FIXTag.msgSeqNum] ?? "0"),
                FIXField(FIXTag.sessionRejectReason, String(reason.rawValue)),
                FIXField(FIXTag.text, String(text.prefix(200))),
            ])
        if let tag { reject.set(FIXTag.refTagID, String(tag)) }
        if !message.type.isEmpty { reject.set(FIXTag.refMsgType, message.type) }
        return [.send(stamp(reject, now: now)), .note("rejected \(message.type): \(text)")]
    }

    private mutating func logoutAndDisconnect(_ reason: String, now: Double) -> [Action] {
        phase = .disconnected
        let logout = FIXMessage(type: FIXMessageType.logout, fields: [FIXField(FIXTag.text, reason)])
        return [.send(stamp(logout, now: now)), .disconnect(reason)]
    }

    // MARK: Time

    /// A TestRequest, remembered as the one outstanding.
    private mutating func testRequest(prefix: String, now: Double) -> Action {
        testRequestCount += 1
        let id = "\(prefix)-\(Int(now))-\(testRequestCount)"
        testRequestSent = (id, now)
        return .send(
            stamp(FIXMessage(type: FIXMessageType.testRequest, fields: [FIXField(FIXTag.testReqID, id)]), now: now))
    }

    /// What the time asks for: a Heartbeat when nothing was sent for the interval; a
    /// TestRequest when nothing arrived for it (plus a fifth, for transmission); a disconnect
    /// when the TestRequest went unanswered as long, or a Logout or Logon went unanswered.
    public mutating func tick(now: Double) -> [Action] {
        let interval = Double(heartbeatInterval)
        switch phase {
        case .disconnected:
            return []
        case .awaitingLogon, .loggingOut:
            if now - lastReceived > max(interval, 10) {
                let reason = phase == .loggingOut ? "no Logout answer" : "no Logon within \(Int(max(interval, 10))) s"
                phase = .disconnected
                return [.disconnect(reason)]
            }
            return []
        case .active:
            var actions: [Action] = []
            if let sent = testRequestSent {
                if now - sent.at > interval * 1.2 {
                    phase = .disconnected
                    return [.disconnect("no answer to TestRequest \(sent.id)")]
                }
            } else if now - lastReceived > interval * 1.2 {
                actions.append(testRequest(prefix: "TEST", now: now))
            }
            if now - lastSent >= interval {
                actions.append(.send(stamp(FIXMessage(type: FIXMessageType.heartbeat), now: now)))
            }
            return actions
        }
    }
}

public struct FIXSessionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
