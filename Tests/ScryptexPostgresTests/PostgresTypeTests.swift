import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("Value encoding and decoding against PostgreSQL")
struct PostgresTypeTests {
    @Test func scalarsRoundTrip() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let now = Date(timeIntervalSince1970: 1_764_085_678.123456)
            let id = UUID()
            let bytes = Data([0, 1, 2, 0xfe, 0xff])
            let amount = ExactDecimal("123456789012345678901234.56789")!
            let rows = try await connection.query(
                """
                SELECT \("héllo ✓")::text AS text, \(Int16(-7))::int2 AS small, \(Int32(2_000_000_000))::int4 AS medium,
                       \(Int.max)::int8 AS large, \(amount)::numeric AS amount, \(true) AS yes, \(false) AS no,
                       \(now) AS stamp, \(PostgresDate(year: 2024, month: 2, day: 29)!) AS day, \(id) AS id,
                       \(bytes) AS bytes, \(2.5) AS ratio, '{"b":1,"a":[true,null]}'::jsonb AS document,
                       NULL::text AS missing
                """
            )
            let row = try #require(rows.first)
            #expect(try row.decode("text", as: String.self) == "héllo ✓")
            #expect(try row.decode("small", as: Int16.self) == -7)
            #expect(try row.decode("medium", as: Int32.self) == 2_000_000_000)
            #expect(try row.decode("large", as: Int.self) == Int.max)
            #expect(try row.decode("amount", as: ExactDecimal.self) == amount)
            #expect(try row.decode("amount", as: ExactDecimal.self).description == "123456789012345678901234.56789")
            #expect(try row.decode("yes", as: Bool.self))
            #expect(try !row.decode("no", as: Bool.self))
            let stamp = try row.decode("stamp", as: Date.self)
            #expect(abs(stamp.timeIntervalSince1970 - now.timeIntervalSince1970) < 0.000_001)
            #expect(try row.decode("day", as: PostgresDate.self).description == "2024-02-29")
            #expect(try row.decode("id", as: UUID.self) == id)
            #expect(try row.decode("bytes", as: Data.self) == bytes)
            #expect(try row.decode("ratio", as: Double.self) == 2.5)
            struct Document: Decodable, Equatable {
                var a: [Bool?]
                var b: Int
            }
            #expect(
                try row.decode("document", as: PostgresJSON.self).decode(Document.self)
                    == Document(a: [true, nil], b: 1))
            #expect(try row.decode("missing", as: String?.self) == nil)
            #expect(row.isNull("missing"))
        }
    }

    @Test func arraysRoundTrip() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let words = ["plain", "with space", "quote\"d", "back\\slash", "comma,here", "{brace}", "NULL", ""]
            let numbers = [1, -2, 3_000_000_000]
            let optionals: [String?] = ["a", nil, "c"]
            let amounts = [ExactDecimal("1.10")!, ExactDecimal("-0.005")!]
            let rows = try await connection.query(
                "SELECT \(words) AS words, \(numbers) AS numbers, \(optionals)::text[] AS optionals, \(amounts) AS amounts, '{}'::int4[] AS empty"
            )
            let row = try #require(rows.first)
            #expect(try row.decode("words", as: [String].self) == words)
            #expect(try row.decode("numbers", as: [Int].self) == numbers)
            #expect(try row.decode("optionals", as: [String?].self) == optionals)
            #expect(try row.decode("amounts", as: [ExactDecimal].self) == amounts)
            #expect(try row.decode("empty", as: [Int32].self) == [])
        }
    }

    @Test func timestampsWithOffsetsAndFractions() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let rows = try await connection.query(
                """
                SELECT '2026-11-25 16:34:38.5+05:30'::timestamptz AS shifted, '1969-12-31 23:59:59.999999+00'::timestamptz AS before_epoch,
                       '2026-01-02 03:04:05'::timestamp AS naive
                """
            )
            let row = try #require(rows.first)
            #expect(try row.decode("shifted", as: Date.self).timeIntervalSince1970 == 1_795_604_678.5)
            // Date keeps seconds since 2001 as a Double: about 0.1 µs of precision at this distance.
            #expect(abs(try row.decode("before_epoch", as: Date.self).timeIntervalSince1970 - -0.000_001) < 5e-7)
            #expect(try row.decode("naive", as: Date.self).timeIntervalSince1970 == 1_767_323_045)
        }
    }

    @Test func decodingErrorsNameTheColumn() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let row = try #require(
                try await connection.query("SELECT 'abc'::text AS label, NULL::int AS nothing, 'NaN'::numeric AS odd")
                    .first)
            let wrongType = #expect(throws: PostgresError.self) { try row.decode("label", as: Int.self) }
            #expect(wrongType?.code == .decoding)
            #expect(wrongType?.message.contains("column 'label'") == true)
            let null = #expect(throws: PostgresError.self) { try row.decode("nothing", as: Int.self) }
            #expect(null?.message.contains("NULL") == true)
            let missing = #expect(throws: PostgresError.self) { try row.decode("nope", as: Int.self) }
            #expect(missing?.message.contains("no column 'nope'") == true)
            let nan = #expect(throws: PostgresError.self) { try row.decode("odd", as: ExactDecimal.self) }
            #expect(nan?.message.contains("no exact decimal") == true)
        }
    }

    @Test func valuesNeverBecomeSQL() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await connection.executeScript("CREATE TABLE notes (body text NOT NULL)")
            let hostile = "x'); DROP TABLE notes; --"
            try await connection.execute("INSERT INTO notes (body) VALUES (\(hostile))")
            let rows = try await connection.query("SELECT body FROM notes")
            #expect(try rows.map { try $0.decode("body", as: String.self) } == [hostile])
        }
    }
}
