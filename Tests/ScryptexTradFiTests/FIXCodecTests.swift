import Foundation
import Testing

@testable import ScryptexTradFi

@Suite("FIX codec")
struct FIXCodecTests {
    static func wire(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "|", with: "\u{1}").utf8) }

    /// A message as FIX's own example counts it: body length from 35= to the delimiter before
    /// 10=, checksum the byte sum modulo 256.
    @Test func encodingCountsBodyLengthAndChecksumAsTheSpecificationSays() throws {
        var message = FIXMessage(type: FIXMessageType.heartbeat)
        message.fields += [
            FIXField(FIXTag.senderCompID, "SCRYPTEX"), FIXField(FIXTag.targetCompID, "BROKER"),
            FIXField(FIXTag.msgSeqNum, "2"), FIXField(FIXTag.sendingTime, "20261206-10:00:00.000"),
        ]
        let bytes = message.encoded()
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{1}", with: "|")
        let body = "35=0|49=SCRYPTEX|56=BROKER|34=2|52=20261206-10:00:00.000|"
        #expect(text.hasPrefix("8=FIX.4.4|9=\(body.utf8.count)|" + body))
        let beforeChecksum = Self.wire("8=FIX.4.4|9=\(body.utf8.count)|" + body)
        let sum = beforeChecksum.reduce(0) { $0 + Int($1) } % 256
        #expect(text.hasSuffix(String(format: "10=%03d|", sum)))
        #expect(try FIXMessage.parse(bytes[...]) == message)
    }

    @Test func badFramingIsGarbledWithTheReason() throws {
        let good = FIXMessage(type: FIXMessageType.testRequest, fields: [FIXField(FIXTag.testReqID, "T1")]).encoded()
        let text = String(decoding: good, as: UTF8.self)
        func reason(_ bytes: [UInt8]) -> String? {
            do {
                _ = try FIXMessage.parse(bytes[...])
                return nil
            } catch { return error.reason }
        }
        // A checksum one off.
        let checksum = Int(text.split(separator: "\u{1}").last!.dropFirst(3))!
        let wrongSum = Array(
            (text.dropLast(4) + String(format: "%03d", (checksum + 1) % 256) + "\u{1}").utf8)
        #expect(reason(wrongSum)?.contains("CheckSum (10) is") == true, "\(reason(wrongSum) ?? "parsed")")
        // A body length one off.
        let length = text.split(separator: "\u{1}")[1]
        let wrongLength = Array(
            text.replacingOccurrences(of: String(length), with: "9=\(Int(length.dropFirst(2))! + 1)").utf8)
        #expect(reason(wrongLength)?.contains("BodyLength (9) is") == true)
        #expect(reason(Self.wire("9=5|8=FIX.4.4|35=0|10=000|"))?.contains("BeginString") == true)
        #expect(reason(Self.wire("8=FIX.4.2|9=5|35=0|10=000|"))?.contains("not FIX.4.4") == true)
        #expect(reason(Self.wire("8=FIX.4.4|9=5|35=0|x=1|10=000|"))?.contains("not tag=value") == true)
    }

    @Test func theFramerCutsMessagesFromAStreamAndSkipsNoise() {
        let first = FIXMessage(type: FIXMessageType.testRequest, fields: [FIXField(FIXTag.testReqID, "A")])
        let second = FIXMessage(type: FIXMessageType.heartbeat, fields: [FIXField(FIXTag.testReqID, "A")])
        var corrupted = second.encoded()
        corrupted[corrupted.count - 3] ^= 0x01  // a checksum digit
        let stream = Array("noise".utf8) + first.encoded() + corrupted + second.encoded()
        var framer = FIXFramer()
        var items: [FIXFramer.Item] = []
        // Byte by byte: a message split anywhere is put together.
        for byte in stream {
            framer.append([byte])
            while let item = framer.next() { items.append(item) }
        }
        let messages = items.compactMap { if case .message(let m) = $0 { m } else { nil } }
        let garbled = items.compactMap { if case .garbled(let g) = $0 { g } else { nil } }
        #expect(messages == [first, second], "\(items)")
        #expect(garbled.count == 2 && garbled[1].reason.contains("CheckSum"), "\(garbled)")
    }

    @Test func timestampsReadAndWriteAsFIXDoes() {
        let instant = Date(timeIntervalSince1970: 1_796_558_400.123)
        #expect(FIXTime.format(instant) == "20261206-12:00:00.123")
        #expect(FIXTime.parse("20261206-12:00:00.123") == instant)
        #expect(FIXTime.parse("20261206-12:00:00") == Date(timeIntervalSince1970: 1_796_558_400))
        for bad in ["20261306-12:00:00", "20260230-12:00:00", "20261206 12:00:00", "2026120-12:00:00.000"] {
            #expect(FIXTime.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func theDictionaryNamesTheTagAtFault() {
        var order = FIXMessage(
            type: FIXMessageType.newOrderSingle,
            fields: [
                FIXField(FIXTag.senderCompID, "B"), FIXField(FIXTag.targetCompID, "S"), FIXField(FIXTag.msgSeqNum, "3"),
                FIXField(FIXTag.sendingTime, "20261206-12:00:00"), FIXField(FIXTag.clOrdID, "O-1"),
                FIXField(FIXTag.symbol, "BTC/USD"), FIXField(FIXTag.side, "1"),
                FIXField(FIXTag.transactTime, "20261206-12:00:00"), FIXField(FIXTag.orderQty, "1.5"),
                FIXField(FIXTag.ordType, "2"), FIXField(FIXTag.price, "64000.5"),
            ])
        #expect(throws: Never.self) { try FIXDictionary.validate(order) }
        func violation(_ change: (inout FIXMessage) -> Void) -> FIXDictionary.Violation? {
            var message = order
            change(&message)
            do {
                try FIXDictionary.validate(message)
                return nil
            } catch { return error }
        }
        #expect(
            violation { $0.remove(FIXTag.symbol) }
                == .init(reason: .requiredTagMissing, tag: 55, text: "required tag 55 is missing"))
        #expect(violation { $0.set(FIXTag.side, "7") }?.reason == .valueIncorrect)
        #expect(violation { $0.set(FIXTag.orderQty, "1.5.2") }?.reason == .incorrectDataFormat)
        #expect(violation { $0.set(FIXTag.transactTime, "yesterday") }?.tag == FIXTag.transactTime)
        order.fields[0].value = "ZZ"
        #expect((try? FIXDictionary.validate(order)) == nil)
    }
}
