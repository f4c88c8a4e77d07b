import Foundation
import Testing

@testable import ScryptexTradFi

/// Two session state machines talking to each other (and a few hand-made messages): the session
/// protocol as FIX defines it.
@Suite("FIX session")
struct FIXSessionTests {
    static func sent(_ actions: [FIXSession.Action]) -> [FIXMessage] {
        actions.compactMap { if case .send(let message) = $0 { message } else { nil } }
    }

    static func delivered(_ actions: [FIXSession.Action]) -> [FIXMessage] {
        actions.compactMap { if case .deliver(let message) = $0 { message } else { nil } }
    }

    static func disconnects(_ actions: [FIXSession.Action]) -> [String] {
        actions.compactMap { if case .disconnect(let reason) = $0 { reason } else { nil } }
    }

    /// Logged-on pair: our initiator and a broker acceptor.
    static func loggedOn() -> (FIXSession, FIXSession) {
        var us = FIXSession(role: .initiator, senderCompID: "SCRYPTEX", targetCompID: "BROKER", heartbeatInterval: 30)
        var broker = FIXSession(
            role: .acceptor, senderCompID: "BROKER", targetCompID: "SCRYPTEX", heartbeatInterval: 30)
        let logon = sent(us.connected(now: 0))
        _ = broker.connected(now: 0)
        let answer = sent(broker.receive(logon[0], now: 0))
        _ = us.receive(answer[0], now: 0)
        return (us, broker)
    }

    static func order(_ id: String) -> FIXMessage {
        FIXMessage(
            type: FIXMessageType.newOrderSingle,
            fields: [
                FIXField(FIXTag.clOrdID, id), FIXField(FIXTag.symbol, "BTC/USD"), FIXField(FIXTag.side, "1"),
                FIXField(FIXTag.transactTime, "20261206-12:00:00"), FIXField(FIXTag.orderQty, "1"),
                FIXField(FIXTag.ordType, "1"),
            ])
    }

    @Test func logonExchangesHeartbeatIntervalsAndNumbersStartAtOne() {
        let (us, broker) = Self.loggedOn()
        #expect(us.phase == .active && broker.phase == .active)
        #expect(us.nextSenderSequence == 2 && us.nextTargetSequence == 2)
        #expect(broker.nextSenderSequence == 2 && broker.nextTargetSequence == 2)
    }

    @Test func aGapIsAskedForResentAndFilled() throws {
        var (us, broker) = Self.loggedOn()
        var stored: [Int: FIXMessage] = [:]
        // The broker sends three orders; the second is lost on the way.
        var outgoing: [FIXMessage] = []
        for id in ["A", "B", "C"] {
            let message = try broker.send(Self.order(id), now: 1)
            stored[message.sequenceNumber!] = message
            outgoing.append(message)
        }
        #expect(Self.delivered(us.receive(outgoing[0], now: 1)).map { $0[FIXTag.clOrdID] } == ["A"])
        let onGap = us.receive(outgoing[2], now: 1)
        let request = try #require(Self.sent(onGap).first)
        #expect(
            request.type == FIXMessageType.resendRequest && request[FIXTag.beginSeqNo] == "3"
                && request[FIXTag.endSeqNo] == "0")
        #expect(Self.delivered(onGap).isEmpty, "C waits for B")
        // The broker answers from its store: B and C again, possible duplicates.
        let answer = broker.receive(request, now: 1)
        guard case .resend(let from, let through) = answer.first else {
            Issue.record("no resend: \(answer)")
            return
        }
        #expect(from == 3 && through == 4)
        let resent = broker.resend(stored: stored, from: from, through: through, now: 2)
        #expect(resent.allSatisfy { $0.isPossibleDuplicate && $0[FIXTag.origSendingTime] != nil })
        var got: [String?] = []
        for message in resent { got += Self.delivered(us.receive(message, now: 2)).map { $0[FIXTag.clOrdID] } }
        #expect(got == ["B", "C"])
        #expect(us.nextTargetSequence == 5 && us.resendingThrough == nil)
        // A duplicate seen again is ignored; a low number without PossDupFlag ends the session.
        #expect(Self.delivered(us.receive(resent[0], now: 3)).isEmpty)
        let low = us.receive(outgoing[0], now: 3)
        #expect(
            Self.disconnects(low).first?.contains("MsgSeqNum too low, expecting 5 but received 2") == true, "\(low)")
    }

    /// Messages that keep arriving above the gap while a resend is under way are dropped
    /// without asking again: the one request (EndSeqNo 0) covers them.
    @Test func oneResendRequestCoversAGapWhateverFollows() throws {
        var (us, broker) = Self.loggedOn()
        var stored: [Int: FIXMessage] = [:]
        var sent: [FIXMessage] = []
        for id in ["A", "B", "C", "D"] {
            let message = try broker.send(Self.order(id), now: 1)
            stored[message.sequenceNumber!] = message
            sent.append(message)
        }
        // A is lost; B, C and D arrive.
        let requests = [sent[1], sent[2], sent[3]].flatMap { Self.sent(us.receive($0, now: 1)) }
        #expect(requests.map(\.type) == [FIXMessageType.resendRequest], "\(requests.map(\.readable))")
        let resent = broker.resend(stored: stored, from: 2, through: 5, now: 2)
        let delivered = resent.flatMap { Self.delivered(us.receive($0, now: 2)) }.map { $0[FIXTag.clOrdID] }
        #expect(delivered == ["A", "B", "C", "D"])
        #expect(us.resendingThrough == nil && us.nextTargetSequence == 6)
    }

    @Test func administrativeMessagesAreGapFilledNotResent() {
        let broker = FIXSession(role: .acceptor, senderCompID: "BROKER", targetCompID: "SCRYPTEX")
        var stored: [Int: FIXMessage] = [:]
        stored[1] = FIXMessage(type: FIXMessageType.logon)
        stored[2] = FIXMessage(type: FIXMessageType.heartbeat)
        stored[3] = Self.order("X")
        stored[3]!.fields += [FIXField(FIXTag.msgSeqNum, "3"), FIXField(FIXTag.sendingTime, "20261206-12:00:00.000")]
        stored[4] = FIXMessage(type: FIXMessageType.heartbeat)
        let resent = broker.resend(stored: stored, from: 1, through: 4, now: 10)
        #expect(resent.map(\.type) == ["4", "D", "4"])
        #expect(
            resent[0][FIXTag.gapFillFlag] == "Y" && resent[0][FIXTag.newSeqNo] == "3" && resent[0].sequenceNumber == 1)
        #expect(resent[1][FIXTag.origSendingTime] == "20261206-12:00:00.000" && resent[1].sequenceNumber == 3)
        #expect(resent[2][FIXTag.newSeqNo] == "5" && resent[2].sequenceNumber == 4)
    }

    @Test func aMessageBreakingTheDictionaryIsRejectedAndCounted() throws {
        var (us, broker) = Self.loggedOn()
        var bad = try broker.send(Self.order("Q"), now: 1)
        bad.remove(FIXTag.symbol)
        let actions = us.receive(bad, now: 1)
        let reject = try #require(Self.sent(actions).first)
        #expect(reject.type == FIXMessageType.reject && reject[FIXTag.refSeqNum] == "2")
        #expect(reject[FIXTag.refTagID] == "55" && reject[FIXTag.sessionRejectReason] == "1")
        #expect(us.nextTargetSequence == 3, "a rejected message is counted")
        // A garbled one is not; a TestRequest goes out at once (one at a time), and the Heartbeat
        // answering it shows the message lost as a gap, asked for at once.
        let probe = Self.sent(us.receiveGarbled(FIXGarbled("CheckSum"), now: 1))
        #expect(us.nextTargetSequence == 3)
        #expect(probe.map(\.type) == [FIXMessageType.testRequest])
        #expect(Self.sent(us.receiveGarbled(FIXGarbled("CheckSum"), now: 1)).isEmpty)
        _ = try broker.send(Self.order("LOST"), now: 1)
        let answer = try broker.send(
            FIXMessage(
                type: FIXMessageType.heartbeat, fields: [FIXField(FIXTag.testReqID, probe[0][FIXTag.testReqID] ?? "")]),
            now: 2)
        let asked = Self.sent(us.receive(answer, now: 2))
        #expect(asked.map(\.type) == [FIXMessageType.resendRequest])
        #expect(asked.first?[FIXTag.beginSeqNo] == "3")
    }

    @Test func silenceBringsHeartbeatsThenATestRequestThenADisconnect() throws {
        var (us, _) = Self.loggedOn()
        #expect(Self.sent(us.tick(now: 10)).isEmpty)
        let heartbeat = Self.sent(us.tick(now: 30))
        #expect(heartbeat.map(\.type) == [FIXMessageType.heartbeat])
        let test = Self.sent(us.tick(now: 37))
        #expect(test.map(\.type) == [FIXMessageType.testRequest])
        #expect(Self.disconnects(us.tick(now: 80)).first?.contains("no answer to TestRequest") == true)
    }

    @Test func aTestRequestIsAnsweredWithItsID() throws {
        var (us, broker) = Self.loggedOn()
        let test = try broker.send(
            FIXMessage(type: FIXMessageType.testRequest, fields: [FIXField(FIXTag.testReqID, "PING")]), now: 1)
        let answer = Self.sent(us.receive(test, now: 1))
        #expect(answer.first?.type == FIXMessageType.heartbeat && answer.first?[FIXTag.testReqID] == "PING")
    }

    @Test func sequenceResetMovesTheExpectedNumberButNeverBack() throws {
        var (us, broker) = Self.loggedOn()
        var reset = FIXMessage(type: FIXMessageType.sequenceReset, fields: [FIXField(FIXTag.newSeqNo, "20")])
        reset = broker.stamp(reset, now: 1)
        _ = us.receive(reset, now: 1)
        #expect(us.nextTargetSequence == 20)
        var back = FIXMessage(type: FIXMessageType.sequenceReset, fields: [FIXField(FIXTag.newSeqNo, "5")])
        back = broker.stamp(back, now: 1)
        let refused = Self.sent(us.receive(back, now: 1))
        #expect(refused.first?.type == FIXMessageType.reject && us.nextTargetSequence == 20)
    }

    /// A counterparty's number near Int.max never reaches the counter (it would trap on +1).
    @Test func sequenceNumbersBeyondTheLargestEndTheSessionOrAreRejected() throws {
        var (us, broker) = Self.loggedOn()
        var reset = broker.stamp(
            FIXMessage(type: FIXMessageType.sequenceReset, fields: [FIXField(FIXTag.newSeqNo, String(Int.max))]), now: 1
        )
        #expect(Self.sent(us.receive(reset, now: 1)).first?.type == FIXMessageType.reject)
        #expect(us.nextTargetSequence == 2)
        reset.set(FIXTag.msgSeqNum, String(Int.max))
        reset.set(FIXTag.newSeqNo, "3")
        let outcome = us.receive(reset, now: 1)
        #expect(Self.disconnects(outcome).first?.contains("MsgSeqNum (34)") == true, "\(outcome)")
    }

    @Test func logoutIsAnsweredAndWrongCompIDsEndTheSession() throws {
        var (us, broker) = Self.loggedOn()
        let bye = Self.sent(broker.logout(text: "end of day", now: 5))
        let answer = us.receive(bye[0], now: 5)
        #expect(Self.sent(answer).first?.type == FIXMessageType.logout)
        #expect(Self.disconnects(answer).first?.contains("end of day") == true)
        #expect(Self.disconnects(broker.receive(Self.sent(answer)[0], now: 5)) == ["logged out"])

        var (other, _) = Self.loggedOn()
        var stranger = FIXSession(role: .acceptor, senderCompID: "MALLORY", targetCompID: "SCRYPTEX")
        _ = stranger.connected(now: 0)
        let spoofed = stranger.stamp(FIXMessage(type: FIXMessageType.heartbeat), now: 1)
        let outcome = other.receive(spoofed, now: 1)
        #expect(Self.sent(outcome).first?[FIXTag.sessionRejectReason] == "9")
        #expect(!Self.disconnects(outcome).isEmpty && other.phase == .disconnected)
    }
}
