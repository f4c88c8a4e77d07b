import ScryptexPostgres
import Testing

@Suite("Database URLs")
struct PostgresConfigurationTests {
    @Test func tcpURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://app%40ops:p%3Ass@db.example.com:6543/scryptex?sslmode=require&application_name=host-1"
        )
        #expect(configuration.user == "app@ops")
        #expect(configuration.password == "p:ss")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "scryptex")
        #expect(configuration.sslMode == "require")
        #expect(configuration.applicationName == "host-1")
    }

    @Test func unixSocketForms() throws {
        let query = try PostgresConfiguration(url: "postgresql:///scryptex?host=/var/run/postgresql")
        #expect(query.host == "/var/run/postgresql")
        #expect(query.database == "scryptex")
        let encoded = try PostgresConfiguration(url: "postgres://me@%2Fvar%2Frun%2Fpostgresql/app")
        #expect(encoded.host == "/var/run/postgresql")
        #expect(encoded.user == "me")
    }

    @Test func ipv6Host() throws {
        let configuration = try PostgresConfiguration(url: "postgres://[::1]:5433/db")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 5433)
    }

    @Test func statementTimeoutParameter() throws {
        let configuration = try PostgresConfiguration(url: "postgres://h/db?statement_timeout=2500")
        #expect(configuration.statementTimeout == .milliseconds(2500))
    }

    @Test(arguments: [
        ("mysql://h/db", "the URL must start with postgres:// or postgresql://"),
        ("postgres://h:99999/db", "the port '99999' is not a number from 1 to 65535"),
        ("postgres://h:abc/db", "the port 'abc' is not a number from 1 to 65535"),
        (
            "postgres://h/db?sslmode=maybe",
            "sslmode 'maybe' is not one of disable, allow, prefer, require, verify-ca, verify-full"
        ),
        (
            "postgres://h/db?colour=red",
            "unknown URL parameter 'colour'; accepted: host, port, sslmode, application_name, connect_timeout, statement_timeout"
        ),
        ("postgres://u:%zz@h/db", "the password in the URL has a malformed percent-escape"),
        ("postgres://h/db?connect_timeout=0", "connect_timeout '0' must be a whole number of seconds above 0"),
        ("postgres://[::1/db", "the IPv6 address in the URL is missing its closing ']'"),
        ("postgres://h/db#x", "the URL must not contain a fragment ('#')"),
    ])
    func malformedURLsNameTheProblem(url: String, message: String) {
        #expect(throws: PostgresConfigurationError(message)) { try PostgresConfiguration(url: url) }
    }

    @Test func redactionHidesThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://app:s3cret@db:5432/scryptex")
        #expect(configuration.redactedDescription == "postgresql://app:***@db:5432/scryptex")
        #expect(!configuration.redactedDescription.contains("s3cret"))
        #expect(configuration.url() == "postgresql://app:s3cret@db:5432/scryptex")
        let reparsed = try PostgresConfiguration(url: configuration.url())
        #expect(reparsed == configuration)
    }

    @Test func socketURLRoundTrips() throws {
        let configuration = PostgresConfiguration(
            host: "/tmp/my cluster", port: 5432, user: "scryptex", database: "scryptex")
        let reparsed = try PostgresConfiguration(url: configuration.url())
        #expect(reparsed.host == "/tmp/my cluster")
        #expect(reparsed.port == 5432)
        #expect(reparsed.database == "scryptex")
    }
}

@Suite("Queries and identifiers")
struct PostgresQueryTests {
    @Test func interpolationBindsEveryValue() {
        let slug = "acme'; DROP TABLE tenants; --"
        let limit = 10
        let note: String? = nil
        let query: PostgresQuery =
            "SELECT * FROM tenants WHERE slug = \(slug) AND note IS NOT DISTINCT FROM \(note) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM tenants WHERE slug = $1 AND note IS NOT DISTINCT FROM $2 LIMIT $3")
        #expect(query.bindings.values == [slug, nil, "10"])
        #expect(query.bindings.types == [.unspecified, .unspecified, .int8])
    }

    @Test func identifiersAreValidatedAndQuoted() throws {
        let schema = try SQLIdentifier("t_acme")
        let query: PostgresQuery = "SELECT 1 FROM \(identifier: schema, SQLIdentifier(static: "accounts"))"
        #expect(query.sql == #"SELECT 1 FROM "t_acme"."accounts""#)
        for bad in ["", "Acme", "1abc", "a-b", "a b", "a\"b", String(repeating: "a", count: 64), "é"] {
            #expect(throws: PostgresError.self) { try SQLIdentifier(bad) }
        }
    }
}
