public import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexInstitutional
public import ScryptexPostgres

/// Where a statement comes from, and what it is matched against.
public enum ReconciliationSource: String, Sendable, Codable, CaseIterable {
    /// A prime broker's position statement (CSV: the account, the instrument, the net quantity)
    /// against the account's positions from its trades.
    case brokerCSV = "broker_csv"
    /// A custodian's holdings statement (CSV: the custodian's account number, the asset, the
    /// quantity held) against the custody account's balances from its completed movements.
    case custodianCSV = "custodian_csv"
    /// The positions a broker reported over FIX (PositionReport) against the session's account.
    case fixPositions = "fix_positions"
}

/// One holding a statement reports.
public struct StatementPosition: Sendable, Equatable {
    public var line: Int
    public var account: String
    public var asset: String
    public var quantity: ExactDecimal

    public init(line: Int, account: String, asset: String, quantity: ExactDecimal) {
        self.line = line
        self.account = account
        self.asset = asset
        self.quantity = quantity
    }
}

public struct Reconciliation: Sendable, Codable, Equatable {
    public var id: UUID
    public var source: ReconciliationSource
    public var sourceName: String
    /// The statement's SHA-256, so the file reconciled can be proven later.
    public var statementDigest: String
    public var asOf: String
    public var rowsRead: Int
    public var matched: Int
    public var breakCount: Int
    public var createdBy: String
    public var createdAt: Date
    public var breaks: [ReconciliationBreak]?
}

public struct ReconciliationBreak: Sendable, Codable, Equatable {
    public enum Cause: String, Sendable, Codable {
        /// Both hold the asset, in different quantities.
        case quantityMismatch = "quantity_mismatch"
        /// The statement holds it; the book does not.
        case missingInternally = "missing_internally"
        /// The book holds it; the statement does not.
        case missingExternally = "missing_externally"
        /// The statement names a holder the book does not know.
        case unknownAccount = "unknown_account"
    }

    public var id: UUID
    public var reconciliationId: UUID
    public var externalAccount: String
    public var accountId: UUID?
    public var asset: String
    public var internalQuantity: ExactDecimal?
    public var externalQuantity: ExactDecimal?
    /// External less internal.
    public var difference: ExactDecimal?
    public var cause: Cause
    public var detail: String
    /// When the break was first seen (an earlier statement's break carried over).
    public var firstSeenAt: Date
    /// Whole days since it was first seen.
    public var ageDays: Int
    /// `open`, `resolved`, or `superseded` by a later statement of the same holder.
    public var status: String
    public var resolution: String?
    public var resolvedBy: String?
    public var resolvedAt: Date?
}

/// Cross-platform position reconciliation: a statement matched holder by holder and asset by
/// asset against the book as of the statement's date; what does not match is a break with its
/// cause, carried from statement to statement with its age until resolved by a person (with an
/// audit record) or matched by a later statement.
public struct ReconciliationService: Sendable {
    public init() {}

    /// Reads a CSV statement: a header naming `account`, `asset` and `quantity` (in any order,
    /// other columns ignored), one holding per row; rows of the same holder and asset add up.
    /// - Throws: `.invalidInput` naming the line and the problem; nothing is read in part.
    public static func parseStatement(_ text: String) throws(ServiceError) -> [StatementPosition] {
        let records: [[String]]
        do {
            records = try CSVRecords.parse(text)
        } catch {
            throw ServiceError(.invalidInput, "the statement, \(error)")
        }
        guard let header = records.first else { throw ServiceError(.invalidInput, "the statement is empty") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let account = names.firstIndex(of: "account"), let asset = names.firstIndex(of: "asset"),
            let quantity = names.firstIndex(of: "quantity")
        else {
            throw ServiceError(
                .invalidInput, "the statement, line 1: the header must name the columns account, asset and quantity")
        }
        var positions: [StatementPosition] = []
        for (index, record) in records.dropFirst().enumerated() {
            let line = index + 2
            guard record.count == header.count else {
                throw ServiceError(
                    .invalidInput, "the statement, line \(line): \(record.count) fields, the header has \(header.count)"
                )
            }
            let holder = record[account].trimmingCharacters(in: .whitespaces)
            let name = record[asset].trimmingCharacters(in: .whitespaces)
            guard (1...200).contains(holder.count) else {
                throw ServiceError(.invalidInput, "the statement, line \(line): the account is empty")
            }
            guard (1...64).contains(name.count) else {
                throw ServiceError(.invalidInput, "the statement, line \(line): the asset is empty")
            }
            let text = record[quantity].trimmingCharacters(in: .whitespaces)
            guard let value = try? ExactDecimal(parsing: text), DecimalLimits.stored.contains(value) else {
                throw ServiceError(
                    .invalidInput,
                    "the statement, line \(line): quantity '\(text.prefix(40))' is not a decimal that fits numeric(38, 18)"
                )
            }
            positions.append(StatementPosition(line: line, account: holder, asset: name, quantity: value.normalized))
        }
        return positions
    }

    struct Holding: Hashable {
        var account: String
        var asset: String
    }

    /// Matches `statement` against the book as of `asOf` and stores the reconciliation with its
    /// breaks. Open breaks of the same source and holders found by an earlier statement are
    /// superseded; a break seen again keeps its age.
    /// - Parameter custodian: For a custodian's statement: which custodian it is from.
    /// - Parameter session: For FIX positions: the broker session whose reports are the statement.
    public func reconcile(
        source: ReconciliationSource, sourceName: String, statement text: String?, custodian: String? = nil,
        session: UUID? = nil, asOf: PostgresDate, actor: String, audit: any AuditSink,
        in transaction: PostgresTransaction
    ) async throws -> Reconciliation {
        try CustodyService.oneLine(sourceName, field: "name", maximum: 300)
        // Each holder: the statement's name for it, and the book's id (nil: unknown).
        var statement: [StatementPosition]
        var holders: [String: UUID?] = [:]
        var book: [Holding: ExactDecimal] = [:]
        var name = sourceName
        switch source {
        case .brokerCSV, .custodianCSV:
            guard let text else {
                throw ServiceError(.invalidInput, "field 'statement': the CSV statement is required")
            }
            statement = try Self.parseStatement(text)
        case .fixPositions:
            guard let session else {
                throw ServiceError(.invalidInput, "field 'sessionId': required for fix_positions")
            }
            let (sessionName, account, reported) = try await fixStatement(session, in: transaction)
            name = sessionName
            statement = reported
            holders[account.uuidString.lowercased()] = account
        }
        let digest = SHA256.hexDigest(
            text ?? statement.map { "\($0.account),\($0.asset),\($0.quantity)" }.joined(separator: "\n"))
        let nextDay = asOf.adding(days: 1)
        switch source {
        case .brokerCSV, .fixPositions:
            for position in statement where holders[position.account] == nil {
                holders[position.account] = try await account(named: position.account, in: transaction)
            }
            let ids = holders.values.compactMap { $0 }
            let rows = try await transaction.query(
                """
                SELECT account_id, symbol,
                       sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) AS quantity
                FROM trades
                WHERE account_id = ANY(\(ids)::uuid[]) AND cancelled_at IS NULL
                  AND executed_at < \(nextDay)::timestamp AT TIME ZONE 'UTC'
                GROUP BY account_id, symbol
                """
            )
            for row in rows {
                let id = try row.decode("account_id", as: UUID.self)
                let holder = holders.first { $0.value == id }!.key
                book[Holding(account: holder, asset: try row.decode("symbol", as: String.self))] = try row.decode(
                    "quantity", as: ExactDecimal.self
                ).normalized
            }
        case .custodianCSV:
            guard let custodian else {
                throw ServiceError(.invalidInput, "field 'custodian': required for a custodian's statement")
            }
            name = "\(custodian): \(sourceName)"
            for position in statement where holders[position.account] == nil {
                holders[position.account] =
                    try await transaction.query(
                        """
                        SELECT account_id FROM tradfi_custody_accounts
                        WHERE custodian = \(custodian) AND custodian_account = \(position.account)
                        """
                    ).first?.decode("account_id", as: UUID.self)
            }
            let known = holders.filter { $0.value != nil }.map(\.key)
            let rows = try await transaction.query(
                """
                SELECT c.custodian_account, m.asset,
                       sum(CASE m.kind WHEN 'deposit' THEN m.quantity ELSE -m.quantity END) AS quantity
                FROM tradfi_custody_movements m JOIN tradfi_custody_accounts c ON c.id = m.custody_account_id
                WHERE c.custodian = \(custodian) AND c.custodian_account = ANY(\(known)::text[])
                  AND m.status = 'completed' AND m.updated_at < \(nextDay)::timestamp AT TIME ZONE 'UTC'
                GROUP BY c.custodian_account, m.asset
                """
            )
            for row in rows {
                book[
                    Holding(
                        account: try row.decode("custodian_account", as: String.self),
                        asset: try row.decode("asset", as: String.self))] = try row.decode(
                        "quantity", as: ExactDecimal.self
                    ).normalized
            }
        }
        var external: [Holding: ExactDecimal] = [:]
        for position in statement {
            let key = Holding(account: position.account, asset: position.asset)
            external[key] = try (external[key] ?? .zero).adding(position.quantity, figure: "a holding's quantity")
        }

        let id = try await transaction.query(
            """
            INSERT INTO tradfi_reconciliations
                (source, source_name, statement_digest, as_of, rows_read, matched, break_count, created_by)
            VALUES (\(source.rawValue), \(name), \(digest), \(asOf), \(statement.count), 0, 0, \(actor))
            RETURNING id
            """
        ).firstRow.decode("id", as: UUID.self)
        // What earlier statements of these holders left open: superseded now, their age kept.
        let earlier = try await transaction.query(
            """
            UPDATE tradfi_reconciliation_breaks b
            SET status = 'superseded', resolution = \("superseded by reconciliation \(id.uuidString.lowercased())"),
                resolved_at = now()
            FROM tradfi_reconciliations r
            WHERE r.id = b.reconciliation_id AND r.source = \(source.rawValue) AND b.status = 'open'
              AND b.external_account = ANY(\(Array(holders.keys))::text[])
            RETURNING b.external_account, b.asset, b.cause, b.first_seen_at
            """
        )
        var seen: [String: Date] = [:]
        for row in earlier {
            let key =
                "\(try row.decode("external_account", as: String.self))|\(try row.decode("asset", as: String.self))|\(try row.decode("cause", as: String.self))"
            let first = try row.decode("first_seen_at", as: Date.self)
            seen[key] = min(seen[key] ?? first, first)
        }

        var matched = 0
        var breaks = 0
        func record(
            _ holding: Holding, _ cause: ReconciliationBreak.Cause, book bookQuantity: ExactDecimal?,
            statement statementQuantity: ExactDecimal?, detail: String
        ) async throws {
            breaks += 1
            let accountID = holders[holding.account] ?? nil
            try await transaction.execute(
                """
                INSERT INTO tradfi_reconciliation_breaks
                    (reconciliation_id, external_account, account_id, asset, internal_quantity, external_quantity, cause,
                     detail, first_seen_at)
                VALUES (\(id), \(holding.account), \(accountID), \(holding.asset), \(bookQuantity), \(statementQuantity),
                        \(cause.rawValue), \(detail),
                        coalesce(\(seen["\(holding.account)|\(holding.asset)|\(cause.rawValue)"]), now()))
                """
            )
        }
        for holding in Set(external.keys).union(book.keys).sorted(by: {
            ($0.account, $0.asset) < ($1.account, $1.asset)
        }) {
            let theirs = external[holding]
            let ours = book[holding] ?? .zero
            guard holders[holding.account] != nil, holders[holding.account]! != nil else {
                try await record(
                    holding, .unknownAccount, book: nil, statement: theirs,
                    detail:
                        "the statement's holder '\(holding.account.prefix(200))' is no \(source == .custodianCSV ? "custody account of \(custodian ?? "")" : "account") of the tenant"
                )
                continue
            }
            switch (theirs, ours) {
            case (let theirs?, _) where theirs == ours:
                matched += 1
            case (nil, let ours) where ours.isZero:
                continue
            case (nil, let ours):
                try await record(
                    holding, .missingExternally, book: ours, statement: nil,
                    detail: "the book holds \(ours) \(holding.asset); the statement does not list it")
            case (let theirs?, let ours) where ours.isZero && book[holding] == nil:
                try await record(
                    holding, .missingInternally, book: nil, statement: theirs,
                    detail: "the statement lists \(theirs) \(holding.asset); the book holds none")
            case (let theirs?, let ours):
                try await record(
                    holding, .quantityMismatch, book: ours, statement: theirs,
                    detail:
                        "the statement lists \(theirs), the book holds \(ours): \(Self.difference(theirs, ours)?.description ?? "more than 10^20") apart"
                )
            }
        }
        try await transaction.execute(
            "UPDATE tradfi_reconciliations SET matched = \(matched), break_count = \(breaks) WHERE id = \(id)")
        try await audit.record(
            "tradfi.reconciled", objectType: "reconciliation", objectID: id.uuidString.lowercased(), accountID: nil,
            details: [
                "source": source.rawValue, "name": name, "asOf": asOf.description, "rows": String(statement.count),
                "matched": String(matched), "breaks": String(breaks), "sha256": digest,
            ], in: transaction)
        return try await reconciliation(id, in: transaction)
    }

    /// An account named by its id or, failing that, by its exact name (nil: unknown).
    private func account(named holder: String, in transaction: PostgresTransaction) async throws -> UUID? {
        if let id = UUID(uuidString: holder) {
            return try await transaction.query("SELECT id FROM institutional_accounts WHERE id = \(id)").first?.decode(
                "id", as: UUID.self)
        }
        let rows = try await transaction.query(
            "SELECT id FROM institutional_accounts WHERE account_name = \(holder) LIMIT 2")
        return rows.count == 1 ? try rows.firstRow.decode("id", as: UUID.self) : nil
    }

    /// The latest position the session's broker reported per symbol, as a statement of its account.
    private func fixStatement(
        _ session: UUID, in transaction: PostgresTransaction
    ) async throws -> (String, UUID, [StatementPosition]) {
        guard
            let row = try await transaction.query(
                "SELECT name, account_id FROM tradfi_broker_sessions WHERE id = \(session)"
            ).first
        else { throw ServiceError(.notFound, "no broker session with this id") }
        let account = try row.decode("account_id", as: UUID.self)
        let positions = try await BrokerPositionService().positions(session: session, in: transaction)
        guard !positions.isEmpty else {
            throw ServiceError(
                .conflict,
                "the broker has reported no positions on this session: ask for them first (position-requests)")
        }
        return (
            try row.decode("name", as: String.self), account,
            positions.enumerated().map {
                StatementPosition(
                    line: $0.offset + 1, account: account.uuidString.lowercased(), asset: $0.element.symbol,
                    quantity: $0.element.quantity)
            }
        )
    }

    // MARK: Reading and resolving

    static let breakColumns: StaticString = """
        b.id, b.reconciliation_id, b.external_account, b.account_id, b.asset, b.internal_quantity, b.external_quantity,
        b.cause, b.detail, b.first_seen_at, floor(extract(epoch FROM now() - b.first_seen_at) / 86400)::int8 AS age_days,
        b.status, b.resolution, b.resolved_by, b.resolved_at
        """

    /// `statement − book`; nil when it is beyond what a decimal holds.
    static func difference(_ statement: ExactDecimal, _ book: ExactDecimal) -> ExactDecimal? {
        let result = statement.addingReportingOverflow(-book)
        return result.overflow ? nil : result.partialValue.normalized
    }

    static func reconciliationBreak(_ row: PostgresRow) throws -> ReconciliationBreak {
        let ours = try row.decode("internal_quantity", as: ExactDecimal?.self)?.normalized
        let theirs = try row.decode("external_quantity", as: ExactDecimal?.self)?.normalized
        return ReconciliationBreak(
            id: try row.decode("id", as: UUID.self),
            reconciliationId: try row.decode("reconciliation_id", as: UUID.self),
            externalAccount: try row.decode("external_account", as: String.self),
            accountId: try row.decode("account_id", as: UUID?.self), asset: try row.decode("asset", as: String.self),
            internalQuantity: ours, externalQuantity: theirs,
            difference: difference(theirs ?? .zero, ours ?? .zero),
            cause: ReconciliationBreak.Cause(rawValue: try row.decode("cause", as: String.self)) ?? .quantityMismatch,
            detail: try row.decode("detail", as: String.self),
            firstSeenAt: try row.decode("first_seen_at", as: Date.self),
            ageDays: try row.decode("age_days", as: Int.self), status: try row.decode("status", as: String.self),
            resolution: try row.decode("resolution", as: String?.self),
            resolvedBy: try row.decode("resolved_by", as: String?.self),
            resolvedAt: try row.decode("resolved_at", as: Date?.self))
    }

    static let columns: StaticString = """
        r.id, r.source, r.source_name, r.statement_digest, r.as_of, r.rows_read, r.matched, r.break_count,
        r.created_by, r.created_at
        """

    static func reconciliation(_ row: PostgresRow) throws -> Reconciliation {
        Reconciliation(
            id: try row.decode("id", as: UUID.self),
            source: ReconciliationSource(rawValue: try row.decode("source", as: String.self)) ?? .brokerCSV,
            sourceName: try row.decode("source_name", as: String.self),
            statementDigest: try row.decode("statement_digest", as: String.self),
            asOf: try row.decode("as_of", as: PostgresDate.self).description,
            rowsRead: try row.decode("rows_read", as: Int.self), matched: try row.decode("matched", as: Int.self),
            breakCount: try row.decode("break_count", as: Int.self),
            createdBy: try row.decode("created_by", as: String.self),
            createdAt: try row.decode("created_at", as: Date.self))
    }

    public func reconciliation(_ id: UUID, in transaction: PostgresTransaction) async throws -> Reconciliation {
        guard
            let row = try await transaction.query(
                "SELECT \(sql: Self.columns) FROM tradfi_reconciliations r WHERE r.id = \(id)"
            ).first
        else { throw ServiceError(.notFound, "no reconciliation with this id") }
        var reconciliation = try Self.reconciliation(row)
        reconciliation.breaks = try await transaction.query(
            """
            SELECT \(sql: Self.breakColumns) FROM tradfi_reconciliation_breaks b
            WHERE b.reconciliation_id = \(id) ORDER BY b.external_account, b.asset
            """
        ).map(Self.reconciliationBreak)
        return reconciliation
    }

    public func reconciliations(in transaction: PostgresTransaction) async throws -> [Reconciliation] {
        try await transaction.query(
            "SELECT \(sql: Self.columns) FROM tradfi_reconciliations r ORDER BY r.created_at DESC, r.id LIMIT 500"
        ).map(Self.reconciliation)
    }

    /// The breaks report: breaks in `status` (nil: every one), oldest first.
    public func breaks(status: String?, in transaction: PostgresTransaction) async throws -> [ReconciliationBreak] {
        if let status, !["open", "resolved", "superseded"].contains(status) {
            throw ServiceError(.invalidInput, "query 'status': one of open, resolved, superseded")
        }
        return try await transaction.query(
            """
            SELECT \(sql: Self.breakColumns) FROM tradfi_reconciliation_breaks b
            WHERE \(status)::text IS NULL OR b.status = \(status)
            ORDER BY b.first_seen_at, b.id LIMIT 1000
            """
        ).map(Self.reconciliationBreak)
    }

    /// Resolves an open break: what was done about it (booked the missing trade, the broker
    /// corrected its statement…), audited.
    public func resolve(
        _ id: UUID, resolution: String, actor: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws -> ReconciliationBreak {
        guard (3...1000).contains(resolution.count) else {
            throw ServiceError(
                .invalidInput, "field 'resolution': what was done about the break (3 to 1000 characters)")
        }
        let rows = try await transaction.query(
            """
            UPDATE tradfi_reconciliation_breaks b SET status = 'resolved', resolution = \(resolution),
                resolved_by = \(actor), resolved_at = now()
            WHERE b.id = \(id) AND b.status = 'open'
            RETURNING \(sql: Self.breakColumns)
            """
        )
        guard let row = rows.first else { throw ServiceError(.notFound, "no open break with this id") }
        let resolved = try Self.reconciliationBreak(row)
        try await audit.record(
            "tradfi.reconciliation_break_resolved", objectType: "reconciliation_break",
            objectID: id.uuidString.lowercased(), accountID: resolved.accountId,
            details: [
                "asset": resolved.asset, "cause": resolved.cause.rawValue, "resolution": resolution,
                "ageDays": String(resolved.ageDays),
            ], in: transaction)
        return resolved
    }
}
