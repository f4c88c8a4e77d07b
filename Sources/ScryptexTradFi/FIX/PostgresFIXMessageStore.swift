public import Foundation
import ScryptexCore
import ScryptexPostgres
public import ScryptexTenancy

/// A broker session's FIX store in the tenant's schema: the messages sent (`tradfi_fix_messages`,
/// as text with `␁` kept) and the next numbers (`tradfi_broker_sessions`), each change committed
/// before the runner goes on — so a host that stops at any point resumes where the broker's side
/// of the session is, and a message is neither lost (the broker resends what was not handled)
/// nor repeated (a message handled is counted in the same commit as what handled it).
public struct PostgresFIXMessageStore: FIXMessageStore {
    let scope: TenantScope
    let sessionID: UUID

    public init(scope: TenantScope, sessionID: UUID) {
        self.scope = scope
        self.sessionID = sessionID
    }

    public func sequenceNumbers() async throws -> (sender: Int, target: Int) {
        let id = sessionID
        let row = try await scope.withTransaction(readOnly: true) { transaction in
            try await transaction.query(
                "SELECT next_sender_seq, next_target_seq FROM tradfi_broker_sessions WHERE id = \(id)")
        }.first
        guard let row else { throw ServiceError(.notFound, "no broker session \(id.uuidString.lowercased())") }
        return (try row.decode("next_sender_seq", as: Int.self), try row.decode("next_target_seq", as: Int.self))
    }

    public func recordSent(_ message: FIXMessage, nextSender: Int) async throws {
        let id = sessionID
        let text = String(decoding: message.encoded(), as: UTF8.self)
        // Orders and cancels are found by their ClOrdID, position requests by their PosReqID: one
        // stored is never sent again.
        let clOrdID =
            FIXMessageType.orderEntry.contains(message.type)
            ? message[FIXTag.clOrdID]
            : message.type == FIXMessageType.requestForPositions
                ? message[FIXTag.posReqID]
                : message.type == FIXMessageType.collateralInquiry ? message[FIXTag.collInquiryID] : nil
        try await scope.withTransaction { transaction in
            if let number = message.sequenceNumber {
                try await transaction.execute(
                    """
                    INSERT INTO tradfi_fix_messages (session_id, sequence, message_type, message, cl_ord_id)
                    VALUES (\(id), \(number), \(message.type), \(text), \(clOrdID))
                    ON CONFLICT (session_id, sequence) DO UPDATE SET message_type = EXCLUDED.message_type,
                        message = EXCLUDED.message, cl_ord_id = EXCLUDED.cl_ord_id, sent_at = now()
                    """)
            }
            try await transaction.execute(
                """
                UPDATE tradfi_broker_sessions SET next_sender_seq = greatest(next_sender_seq, \(nextSender)),
                    updated_at = now()
                WHERE id = \(id)
                """)
        }
    }

    public func recordReceived(nextTarget: Int) async throws {
        let id = sessionID
        try await scope.withTransaction { transaction in
            try await transaction.execute(
                "UPDATE tradfi_broker_sessions SET next_target_seq = \(nextTarget), updated_at = now() WHERE id = \(id)"
            )
        }
    }

    public func sent(from: Int, through: Int) async throws -> [Int: FIXMessage] {
        let id = sessionID
        let rows = try await scope.withTransaction(readOnly: true) { transaction in
            try await transaction.query(
                """
                SELECT sequence, message FROM tradfi_fix_messages
                WHERE session_id = \(id) AND sequence BETWEEN \(from) AND \(through)
                """)
        }
        var messages: [Int: FIXMessage] = [:]
        for row in rows {
            let text = try row.decode("message", as: String.self)
            messages[try row.decode("sequence", as: Int.self)] = try FIXMessage.parse(Array(text.utf8)[...])
        }
        return messages
    }

    public func reset(sender: Int, target: Int) async throws {
        let id = sessionID
        try await scope.withTransaction { transaction in
            try await transaction.execute("DELETE FROM tradfi_fix_messages WHERE session_id = \(id)")
            try await transaction.execute(
                """
                UPDATE tradfi_broker_sessions SET next_sender_seq = \(sender), next_target_seq = \(target),
                    updated_at = now()
                WHERE id = \(id)
                """)
        }
    }
}
