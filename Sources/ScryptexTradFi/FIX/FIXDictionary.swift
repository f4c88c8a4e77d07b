/// The part of the FIX 4.4 data dictionary this engine uses: the messages, their required
/// fields, and each field's type and allowed values. A message that breaks it is rejected at the
/// session level (35=3) with the reason FIX defines and the tag at fault.
public enum FIXDictionary {
    public enum FieldType: Sendable {
        case string
        case int
        /// A decimal amount: price, quantity.
        case decimal
        case character
        case boolean
        /// `YYYYMMDD-HH:MM:SS` with optional `.sss`.
        case utcTimestamp
    }

    /// SessionRejectReason (373) values used.
    public enum RejectReason: Int, Sendable {
        case invalidTagNumber = 0
        case requiredTagMissing = 1
        case undefinedTag = 3
        case tagWithoutValue = 4
        case valueIncorrect = 5
        case incorrectDataFormat = 6
        case compIDProblem = 9
        case sendingTimeAccuracy = 10
        case invalidMsgType = 11
        case other = 99
    }

    /// A problem a received message has: what to answer.
    public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: RejectReason
        public var tag: Int?
        public var text: String
        public var description: String { text }
    }

    public static let headerRequired = [FIXTag.senderCompID, FIXTag.targetCompID, FIXTag.msgSeqNum, FIXTag.sendingTime]

    /// Required body fields per message type.
    public static let messages: [String: (name: String, required: [Int])] = [
        FIXMessageType.heartbeat: ("Heartbeat", []),
        FIXMessageType.testRequest: ("TestRequest", [FIXTag.testReqID]),
        FIXMessageType.resendRequest: ("ResendRequest", [FIXTag.beginSeqNo, FIXTag.endSeqNo]),
        FIXMessageType.reject: ("Reject", [FIXTag.refSeqNum]),
        FIXMessageType.sequenceReset: ("SequenceReset", [FIXTag.newSeqNo]),
        FIXMessageType.logout: ("Logout", []),
        FIXMessageType.logon: ("Logon", [FIXTag.encryptMethod, FIXTag.heartBtInt]),
        FIXMessageType.newOrderSingle: (
            "NewOrderSingle",
            [FIXTag.clOrdID, FIXTag.symbol, FIXTag.side, FIXTag.transactTime, FIXTag.orderQty, FIXTag.ordType]
        ),
        FIXMessageType.orderCancelRequest: (
            "OrderCancelRequest",
            [FIXTag.origClOrdID, FIXTag.clOrdID, FIXTag.symbol, FIXTag.side, FIXTag.transactTime]
        ),
        FIXMessageType.orderCancelReplaceRequest: (
            "OrderCancelReplaceRequest",
            [
                FIXTag.origClOrdID, FIXTag.clOrdID, FIXTag.symbol, FIXTag.side, FIXTag.transactTime, FIXTag.orderQty,
                FIXTag.ordType,
            ]
        ),
        FIXMessageType.executionReport: (
            "ExecutionReport",
            [
                FIXTag.orderID, FIXTag.execID, FIXTag.execType, FIXTag.ordStatus, FIXTag.symbol, FIXTag.side,
                FIXTag.leavesQty, FIXTag.cumQty, FIXTag.avgPx,
            ]
        ),
        FIXMessageType.orderCancelReject: (
            "OrderCancelReject",
            [FIXTag.orderID, FIXTag.clOrdID, FIXTag.origClOrdID, FIXTag.ordStatus, FIXTag.cxlRejResponseTo]
        ),
        FIXMessageType.businessMessageReject: (
            "BusinessMessageReject", [FIXTag.refMsgType, FIXTag.businessRejectReason]
        ),
        FIXMessageType.positionReport: ("PositionReport", [FIXTag.positionReportID]),
        FIXMessageType.collateralReport: ("CollateralReport", [FIXTag.collRptID, FIXTag.collStatus]),
        FIXMessageType.collateralInquiry: ("CollateralInquiry", []),
        FIXMessageType.requestForPositions: ("RequestForPositions", []),
    ]

    public static let types: [Int: FieldType] = [
        FIXTag.avgPx: .decimal, FIXTag.beginSeqNo: .int, FIXTag.cumQty: .decimal, FIXTag.endSeqNo: .int,
        FIXTag.lastPx: .decimal, FIXTag.lastQty: .decimal, FIXTag.msgSeqNum: .int, FIXTag.newSeqNo: .int,
        FIXTag.orderQty: .decimal, FIXTag.ordStatus: .character, FIXTag.ordType: .character,
        FIXTag.possDupFlag: .boolean, FIXTag.price: .decimal, FIXTag.refSeqNum: .int,
        FIXTag.sendingTime: .utcTimestamp, FIXTag.side: .character, FIXTag.transactTime: .utcTimestamp,
        FIXTag.origSendingTime: .utcTimestamp, FIXTag.gapFillFlag: .boolean, FIXTag.resetSeqNumFlag: .boolean,
        FIXTag.encryptMethod: .int, FIXTag.heartBtInt: .int, FIXTag.execType: .character,
        FIXTag.leavesQty: .decimal, FIXTag.cxlRejResponseTo: .character, FIXTag.refTagID: .int,
        FIXTag.sessionRejectReason: .int, FIXTag.longQty: .decimal, FIXTag.shortQty: .decimal,
        FIXTag.totalNetValue: .decimal,
    ]

    public static let allowed: [Int: Set<String>] = [
        FIXTag.side: ["1", "2"],
        FIXTag.ordType: ["1", "2"],
        FIXTag.encryptMethod: ["0"],
        FIXTag.execType: ["0", "3", "4", "5", "6", "8", "A", "C", "D", "E", "F", "H", "I"],
        FIXTag.ordStatus: ["0", "1", "2", "4", "5", "6", "8", "A", "C", "E"],
        FIXTag.cxlRejResponseTo: ["1", "2"],
    ]

    /// Checks a received message against the dictionary.
    public static func validate(_ message: FIXMessage) throws(Violation) {
        guard let spec = messages[message.type] else {
            throw Violation(
                reason: .invalidMsgType, tag: FIXTag.msgType,
                text: "MsgType (35) '\(message.type.prefix(8))' is not one this engine takes")
        }
        for tag in headerRequired + spec.required where message[tag] == nil {
            throw Violation(reason: .requiredTagMissing, tag: tag, text: "required tag \(tag) is missing")
        }
        for field in message.fields {
            if field.value.isEmpty {
                throw Violation(reason: .tagWithoutValue, tag: field.tag, text: "tag \(field.tag) has no value")
            }
            if let type = types[field.tag], !matches(field.value, type) {
                throw Violation(
                    reason: .incorrectDataFormat, tag: field.tag,
                    text: "tag \(field.tag) is not \(describe(type)): '\(field.value.prefix(40))'")
            }
            if let values = allowed[field.tag], !values.contains(field.value) {
                throw Violation(
                    reason: .valueIncorrect, tag: field.tag,
                    text: "tag \(field.tag) has a value this engine does not take: '\(field.value.prefix(40))'")
            }
        }
    }

    static func describe(_ type: FieldType) -> String {
        switch type {
        case .string: "text"
        case .int: "an integer"
        case .decimal: "a decimal number"
        case .character: "one character"
        case .boolean: "Y or N"
        case .utcTimestamp: "a UTC timestamp YYYYMMDD-HH:MM:SS[.sss]"
        }
    }

    static func matches(_ value: String, _ type: FieldType) -> Bool {
        let bytes = Array(value.utf8)
        func digits(_ slice: ArraySlice<UInt8>) -> Bool {
            !slice.isEmpty && slice.allSatisfy { (0x30...0x39).contains($0) }
        }
        switch type {
        case .string:
            return true
        case .int:
            return digits(bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]) && bytes.count <= 18
        case .decimal:
            let unsigned = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
            let parts = unsigned.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            return (parts.count == 1 || parts.count == 2) && parts.allSatisfy(digits) && bytes.count <= 40
        case .character:
            return bytes.count == 1
        case .boolean:
            return value == "Y" || value == "N"
        case .utcTimestamp:
            return FIXTime.parse(value) != nil
        }
    }
}
