import Foundation

/// One FIX field: a tag and its value as sent (FIX values are text, sent as bytes).
public struct FIXField: Sendable, Equatable {
    public var tag: Int
    public var value: String

    public init(_ tag: Int, _ value: String) {
        self.tag = tag
        self.value = value
    }
}

/// A FIX 4.4 message: its fields in order, without the framing ones (BeginString 8,
/// BodyLength 9 and CheckSum 10), which `encoded()` writes and `FIXMessage.parse` checks.
public struct FIXMessage: Sendable, Equatable {
    public static let beginString = "FIX.4.4"
    public static let delimiter: UInt8 = 0x01

    /// MsgType (35) first, then the rest of the header and the body, in order.
    public var fields: [FIXField]

    public init(type: String, fields: [FIXField] = []) {
        self.fields = [FIXField(FIXTag.msgType, type)] + fields
    }

    init(parsedFields: [FIXField]) {
        fields = parsedFields
    }

    public var type: String { self[FIXTag.msgType] ?? "" }

    /// The first value of `tag`, or nil.
    public subscript(tag: Int) -> String? {
        fields.first { $0.tag == tag }?.value
    }

    /// Every value of `tag`, in order (repeating groups).
    public func values(of tag: Int) -> [String] {
        fields.filter { $0.tag == tag }.map(\.value)
    }

    /// Sets `tag` (the first occurrence, else appended).
    public mutating func set(_ tag: Int, _ value: String) {
        if let index = fields.firstIndex(where: { $0.tag == tag }) {
            fields[index].value = value
        } else {
            fields.append(FIXField(tag, value))
        }
    }

    public mutating func remove(_ tag: Int) {
        fields.removeAll { $0.tag == tag }
    }

    public var sequenceNumber: Int? { self[FIXTag.msgSeqNum].flatMap { Int($0) } }
    public var isPossibleDuplicate: Bool { self[FIXTag.possDupFlag] == "Y" }

    /// The message on the wire: `8=FIX.4.4␁9=<length>␁` + the fields + `10=<checksum>␁`, with
    /// the body length counted from after BodyLength's delimiter up to CheckSum's tag, and the
    /// checksum the sum of every byte before it, modulo 256, in three digits.
    public func encoded() -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(fields.count * 16)
        for field in fields {
            body += Array(String(field.tag).utf8)
            body.append(UInt8(ascii: "="))
            body += Array(field.value.utf8)
            body.append(Self.delimiter)
        }
        var message = Array("8=\(Self.beginString)\u{1}9=\(body.count)\u{1}".utf8) + body
        message += Array("10=\(Self.checksumText(of: message[...]))\u{1}".utf8)
        return message
    }

    static func checksum(of bytes: ArraySlice<UInt8>) -> Int {
        var sum = 0
        for byte in bytes { sum &+= Int(byte) }
        return sum % 256
    }

    static func checksumText(of bytes: ArraySlice<UInt8>) -> String {
        let value = checksum(of: bytes)
        return value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)"
    }

    /// The message written with `|` for the delimiter (logs and tests).
    public var readable: String {
        String(decoding: encoded().map { $0 == Self.delimiter ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
    }

    /// Parses one whole framed message (`FIXFramer` cuts them from the stream), checking its
    /// framing: BeginString first and FIX.4.4, BodyLength second and equal to the body's bytes,
    /// CheckSum last and equal to the sum of the bytes before it, every field `tag=value` with a
    /// numeric tag. A message that fails is garbled: a session drops it without a reject and
    /// without counting its sequence number (FIX session layer).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(FIXGarbled) -> FIXMessage {
        var fields: [FIXField] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        var bodyStart: Int?
        var checksumStart: Int?
        while index < bytes.endIndex {
            if bytes[index] == delimiter {
                let field = bytes[start..<index]
                guard let equals = field.firstIndex(of: UInt8(ascii: "=")), equals > field.startIndex,
                    let tag = Int(String(decoding: field[field.startIndex..<equals], as: UTF8.self)), tag > 0,
                    field[field.startIndex..<equals].allSatisfy({ (0x30...0x39).contains($0) })
                else {
                    throw FIXGarbled("field \(fields.count + 1) is not tag=value")
                }
                let value = String(decoding: field[(equals + 1)...], as: UTF8.self)
                if tag == FIXTag.checkSum { checksumStart = start }
                fields.append(FIXField(tag, value))
                start = index + 1
                if fields.count == 2 { bodyStart = start }
            }
            index += 1
        }
        guard start == bytes.endIndex else { throw FIXGarbled("the message does not end with the delimiter") }
        guard fields.count >= 4, fields[0].tag == FIXTag.beginString else {
            throw FIXGarbled("BeginString (8) is not the first field")
        }
        guard fields[0].value == beginString else {
            throw FIXGarbled("BeginString (8) is \(fields[0].value.prefix(20)), not \(beginString)")
        }
        guard fields[1].tag == FIXTag.bodyLength, let length = Int(fields[1].value), length >= 0 else {
            throw FIXGarbled("BodyLength (9) is not the second field or not a number")
        }
        guard let last = fields.last, last.tag == FIXTag.checkSum, let checksumStart, let bodyStart else {
            throw FIXGarbled("CheckSum (10) is not the last field")
        }
        guard checksumStart - bodyStart == length else {
            throw FIXGarbled("BodyLength (9) is \(length) but the body has \(checksumStart - bodyStart) bytes")
        }
        let expected = checksumText(of: bytes[bytes.startIndex..<checksumStart])
        guard last.value == expected else {
            throw FIXGarbled("CheckSum (10) is \(last.value.prefix(5)) but the bytes sum to \(expected)")
        }
        guard fields[2].tag == FIXTag.msgType else { throw FIXGarbled("MsgType (35) is not the third field") }
        return FIXMessage(parsedFields: Array(fields[2..<(fields.count - 1)]))
    }
}

/// A message whose framing is wrong: what is wrong with it.
public struct FIXGarbled: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "garbled FIX message: " + reason }
}

/// The tags this engine reads and writes (FIX 4.4).
public enum FIXTag {
    public static let account = 1
    public static let avgPx = 6
    public static let beginSeqNo = 7
    public static let beginString = 8
    public static let bodyLength = 9
    public static let checkSum = 10
    public static let clOrdID = 11
    public static let cumQty = 14
    public static let currency = 15
    public static let endSeqNo = 16
    public static let execID = 17
    public static let lastPx = 31
    public static let lastQty = 32
    public static let msgSeqNum = 34
    public static let msgType = 35
    public static let newSeqNo = 36
    public static let orderID = 37
    public static let orderQty = 38
    public static let ordStatus = 39
    public static let ordType = 40
    public static let origClOrdID = 41
    public static let possDupFlag = 43
    public static let price = 44
    public static let refSeqNum = 45
    public static let senderCompID = 49
    public static let sendingTime = 52
    public static let side = 54
    public static let symbol = 55
    public static let targetCompID = 56
    public static let text = 58
    public static let timeInForce = 59
    public static let transactTime = 60
    public static let origSendingTime = 122
    public static let gapFillFlag = 123
    public static let resetSeqNumFlag = 141
    public static let encryptMethod = 98
    public static let heartBtInt = 108
    public static let testReqID = 112
    public static let execType = 150
    public static let leavesQty = 151
    public static let cxlRejResponseTo = 434
    public static let cxlRejReason = 102
    public static let ordRejReason = 103
    public static let execRefID = 19
    public static let businessRejectRefID = 379
    public static let posReqID = 710
    public static let posReqType = 724
    public static let clearingBusinessDate = 715
    public static let totalNumPosReports = 727
    public static let posReqResult = 728
    public static let accountType = 581
    public static let refTagID = 371
    public static let refMsgType = 372
    public static let sessionRejectReason = 373
    public static let businessRejectReason = 380
    public static let positionReportID = 721
    public static let noPositions = 702
    public static let posType = 703
    public static let longQty = 704
    public static let shortQty = 705
    public static let subscriptionRequestType = 263
    public static let totalNetValue = 900
    public static let collRptID = 908
    public static let collInquiryID = 909
    public static let collStatus = 910
}

/// The message types this engine speaks (FIX 4.4).
public enum FIXMessageType {
    public static let heartbeat = "0"
    public static let testRequest = "1"
    public static let resendRequest = "2"
    public static let reject = "3"
    public static let sequenceReset = "4"
    public static let logout = "5"
    public static let executionReport = "8"
    public static let orderCancelReject = "9"
    public static let logon = "A"
    public static let newOrderSingle = "D"
    public static let orderCancelRequest = "F"
    public static let orderCancelReplaceRequest = "G"
    public static let businessMessageReject = "j"
    public static let requestForPositions = "AN"
    public static let positionReport = "AP"
    public static let collateralReport = "BA"
    public static let collateralInquiry = "BB"

    /// The messages that enter, change or cancel an order (each carries its own ClOrdID).
    public static let orderEntry: Set<String> = [newOrderSingle, orderCancelRequest, orderCancelReplaceRequest]

    /// Session-level messages (administrative): gap-filled, never resent.
    public static let administrative: Set<String> = [
        heartbeat, testRequest, resendRequest, reject, sequenceReset, logout, logon,
    ]
}
