import ScryptexCore
import ScryptexPostgres
import ScryptexTestSupport
import Synchronization
import Testing

@Suite("Statements, errors, transactions, bulk insert")
struct PostgresConnectionTests {
    @Test func serverErrorsCarryTheirFields() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript(
                "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL CONSTRAINT name_not_blank CHECK (name <> ''))"
            )
            try await connection.execute("INSERT INTO accounts VALUES (1, 'a')")

            let duplicate = await #expect(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO accounts VALUES (1, 'b')")
            }
            #expect(duplicate?.code == .server)
            #expect(duplicate?.sqlState == .uniqueViolation)
            #expect(duplicate?.constraintName == "accounts_pkey")
            #expect(duplicate?.tableName == "accounts")
            #expect(duplicate?.detail?.contains("(id)=(1)") == true)

            let check = await #expect(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO accounts VALUES (2, '')")
            }
            #expect(check?.sqlState == .checkViolation)
            #expect(check?.constraintName == "name_not_blank")

            let syntax = await #expect(throws: PostgresError.self) { try await connection.query("SELEC 1") }
            #expect(syntax?.sqlState == .syntaxError)
            #expect(syntax?.sqlState != .uniqueViolation)
            #expect(syntax?.constraintName == nil)

            let missing = await #expect(throws: PostgresError.self) {
                try await connection.query("SELECT * FROM nowhere")
            }
            #expect(missing?.sqlState == .undefinedTable)
            // The description carries neither SQL text nor values.
            #expect(missing?.description.contains("SELECT") == false)

            // The connection is still usable after errors.
            #expect(
                try await connection.query("SELECT count(*) AS n FROM accounts").first?.decode("n", as: Int.self) == 1)
        }
    }

    @Test func affectedRowCounts() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE items (n int)")
            #expect(try await connection.execute("INSERT INTO items SELECT generate_series(1, 5)") == 5)
            #expect(try await connection.execute("UPDATE items SET n = n + 1 WHERE n > \(2)") == 3)
            #expect(try await connection.execute("DELETE FROM items") == 5)
        }
    }

    @Test func aMissingFirstRowIsAnErrorNotACrash() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE items (n int)")
            let inserted = try await connection.query("INSERT INTO items VALUES (\(7)) RETURNING n")
            #expect(try inserted.firstRow.decode("n", as: Int.self) == 7)
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("UPDATE items SET n = 8 WHERE n = \(0) RETURNING n").firstRow
            }
            #expect(error.code == .decoding)
            #expect(error.message.contains("returned no row") && error.message.contains("UPDATE 0"), "\(error)")
        }
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        struct Abort: Error {}
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE ledger (amount numeric NOT NULL)")
            try await connection.withTransaction { transaction in
                try await transaction.execute("INSERT INTO ledger VALUES (\(ExactDecimal("10.00")!))")
            }
            await #expect(throws: Abort.self) {
                try await connection.withTransaction { transaction in
                    try await transaction.execute("INSERT INTO ledger VALUES (\(ExactDecimal("99.99")!))")
                    throw Abort()
                }
            }
            let total = try await connection.query("SELECT coalesce(sum(amount), 0) AS total FROM ledger")
            #expect(try total.first?.decode("total", as: ExactDecimal.self) == ExactDecimal("10.00")!)
            #expect(connection.isHealthy)
        }
    }

    @Test func aTransactionsOpeningStatementsGoWithBegin() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE notes (body text); CREATE SCHEMA side")
            let seen = Mutex<String?>(nil)
            let opening = PostgresTransactionOpening(
                statements: ["SELECT set_config('search_path', 'side, public', true) AS search_path"]
            ) { rows in seen.withLock { $0 = try? rows.first?.decode("search_path", as: String.self) } }
            try await connection.withTransaction(statementTimeout: .seconds(5), opening: opening) { transaction in
                try await transaction.execute("INSERT INTO notes VALUES ('inside')")
                let timeout = try await transaction.query("SELECT current_setting('statement_timeout') AS t")
                #expect(try timeout.first?.decode("t", as: String.self) == "5s")
            }
            #expect(seen.withLock { $0 } == "side, public")
            // The settings were local to the transaction; the row committed.
            let after = try await connection.query("SHOW search_path").first?.decode("search_path", as: String.self)
            #expect(after != "side, public")
            #expect(try await connection.query("SELECT body FROM notes").count == 1)

            // An opening statement that fails leaves no transaction behind, and nothing of the body runs.
            let error = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction(
                    opening: PostgresTransactionOpening(statements: ["SELECT set_config('role', 'no_such_role', true)"])
                ) { transaction in
                    try await transaction.execute("INSERT INTO notes VALUES ('never')")
                }
            }
            #expect(error?.message.contains("no_such_role") == true)
            #expect(connection.isHealthy)
            #expect(try await connection.query("SELECT body FROM notes").count == 1)

            // A failing check of the opening's rows fails the transaction: the body's write is rolled back.
            struct WrongPlace: Error {}
            await #expect(throws: WrongPlace.self) {
                try await connection.withTransaction(
                    opening: PostgresTransactionOpening(statements: ["SELECT 1 AS one"]) { _ in throw WrongPlace() }
                ) { transaction in
                    try await transaction.execute("INSERT INTO notes VALUES ('never either')")
                }
            }
            #expect(try await connection.query("SELECT body FROM notes").count == 1)
        }
    }

    @Test func aReadOnlyTransactionRunsAsFlightsThatEachCarryTheOpening() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE notes (body text); CREATE SCHEMA side")
            try await connection.executeScript(
                "CREATE TABLE side.marks (body text); INSERT INTO side.marks VALUES ('x')")
            let opening = PostgresTransactionOpening(
                statements: [
                    "SELECT set_config('search_path', 'side', true) AS path", "SELECT current_schema() AS name",
                ]
            ) { rows in
                guard try rows.first?.decode("name", as: String.self) == "side" else {
                    throw PostgresError(code: .invalidArgument, message: "wrong schema")
                }
            }
            let counts = try await connection.withTransaction(readOnly: true, opening: opening) { transaction in
                // Each statement is its own flight, and each sees the opening's path.
                let first = try await transaction.query("SELECT count(*) AS n FROM marks")
                let second = try await transaction.query("SELECT current_setting('transaction_read_only') AS ro")
                return (try first.first!.decode("n", as: Int.self), try second.first!.decode("ro", as: String.self))
            }
            #expect(counts.0 == 1 && counts.1 == "on")
            // Writes are refused by the server, scripts by the client; nothing stays behind.
            let write = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction(readOnly: true, opening: opening) { transaction in
                    try await transaction.execute("INSERT INTO marks VALUES ('y')")
                }
            }
            #expect(write?.sqlState == SQLState(rawValue: "25006"))
            let script = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction(readOnly: true) { transaction in
                    try await transaction.executeScript("SELECT 1")
                }
            }
            #expect(script?.code == .invalidArgument)
            #expect(
                try await connection.query("SELECT count(*) AS n FROM side.marks").first?.decode("n", as: Int.self) == 1
            )
            #expect(
                try await connection.query("SHOW search_path").first?.decode("search_path", as: String.self) != "side")
            #expect(connection.isHealthy)
        }
    }

    @Test func savepointRollsBackOnlyItsPart() async throws {
        struct Abort: Error {}
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE steps (name text)")
            try await connection.withTransaction { transaction in
                try await transaction.execute("INSERT INTO steps VALUES ('outer')")
                await #expect(throws: Abort.self) {
                    try await transaction.withSavepoint { inner in
                        try await inner.execute("INSERT INTO steps VALUES ('inner')")
                        throw Abort()
                    }
                }
                // A failed statement inside a savepoint leaves the outer transaction usable.
                await #expect(throws: PostgresError.self) {
                    try await transaction.withSavepoint { inner in
                        try await inner.execute("INSERT INTO missing_table VALUES (1)")
                    }
                }
                try await transaction.withSavepoint { inner in
                    try await inner.execute("INSERT INTO steps VALUES ('kept')")
                }
            }
            let names = try await connection.query("SELECT name FROM steps ORDER BY name").map {
                try $0.decode("name", as: String.self)
            }
            #expect(names == ["kept", "outer"])
        }
    }

    @Test func statementTimeoutCancelsOnTheServer() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let started = ContinuousClock.now
            let error = await #expect(throws: PostgresError.self) {
                try await connection.query("SELECT pg_sleep(10)", timeout: .milliseconds(200))
            }
            #expect(error?.code == .statementTimeout)
            #expect(error?.sqlState == .queryCanceled)
            // The retry window ends it (not a latency measure: a loaded two-core machine took 5.7 s).
            #expect(ContinuousClock.now - started < .seconds(30))
            let one = try await connection.query("SELECT 1 AS one").first?.decode("one", as: Int.self)
            #expect(one == 1)
        }
    }

    @Test func transactionStatementTimeout() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let error = await #expect(throws: PostgresError.self) {
                try await connection.withTransaction(statementTimeout: .milliseconds(150)) { transaction in
                    try await transaction.query("SELECT pg_sleep(10)")
                }
            }
            #expect(error?.sqlState == .queryCanceled)
            #expect(connection.isHealthy)
        }
    }

    @Test func cancellingTheTaskCancelsTheStatement() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let started = ContinuousClock.now
            let task = Task { try await connection.query("SELECT pg_sleep(10)") }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let result = await task.result
            #expect(throws: PostgresError.self) { try result.get() }
            if case .failure(let error as PostgresError) = result {
                #expect(error.code == .cancelled)
            }
            // The retry window ends it (not a latency measure: a loaded two-core machine took 5.7 s).
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(await connection.ping())
        }
    }

    @Test func copyInsertsRowsWithAwkwardValues() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE events (id int8 PRIMARY KEY, label text, amount numeric)")
            let awkward = ["tab\there", "new\nline", "back\\slash", "\\N", "plain", "carriage\rreturn"]
            var rows: [[any PostgresEncodable]] = []
            for index in 0..<10_000 {
                let label: String? = index % 7 == 0 ? nil : awkward[index % awkward.count]
                rows.append([index, label, ExactDecimal(significand: Int128(index), scale: 2)])
            }
            let copied = try await connection.copy(
                into: SQLIdentifier(static: "events"),
                columns: [
                    SQLIdentifier(static: "id"), SQLIdentifier(static: "label"), SQLIdentifier(static: "amount"),
                ],
                rows: rows
            )
            #expect(copied == 10_000)
            let check = try await connection.query(
                "SELECT count(*) AS n, count(label) AS labelled, sum(amount) AS total FROM events"
            )
            let row = try #require(check.first)
            #expect(try row.decode("n", as: Int.self) == 10_000)
            #expect(try row.decode("labelled", as: Int.self) == 10_000 - 1_429)
            #expect(try row.decode("total", as: ExactDecimal.self) == ExactDecimal("499950.00")!)
            for index in [1, 2, 3, 4, 5, 6] {
                let label = try await connection.query("SELECT label FROM events WHERE id = \(index)").first?.decode(
                    "label", as: String?.self)
                #expect(label == awkward[index % awkward.count])
            }
        }
    }

    @Test func copyFailureInsertsNothing() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE small (n int2)")
            let error = await #expect(throws: PostgresError.self) {
                try await connection.copy(
                    into: SQLIdentifier(static: "small"), columns: [SQLIdentifier(static: "n")],
                    rows: [[1], [2], [100_000]])
            }
            #expect(error?.sqlState == .numericValueOutOfRange)
            #expect(try await connection.query("SELECT count(*) AS n FROM small").first?.decode("n", as: Int.self) == 0)
            await #expect(throws: PostgresError.self) {
                try await connection.copy(
                    into: SQLIdentifier(static: "small"), columns: [SQLIdentifier(static: "n")], rows: [[1, 2]])
            }
        }
    }

    @Test func connectingToNothingFailsClearly() async throws {
        let configuration = PostgresConfiguration(
            host: "/tmp/no-such-socket-folder", port: 5999, user: "x", database: "x", connectTimeoutSeconds: 2)
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        }
        #expect(error?.code == .connectionFailed)
        let started = ContinuousClock.now
        await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(
                configuration: configuration, retryingFor: .milliseconds(800), logger: TestDatabase.logger)
        }
        // The retry window ends it (not a latency measure: a loaded two-core machine took 5.7 s).
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
