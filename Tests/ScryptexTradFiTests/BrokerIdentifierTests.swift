import Testing

@testable import ScryptexTradFi

@Suite("Broker identifiers as stored")
struct BrokerIdentifierTests {
    /// An ExecID of any length is stored under one key that fits the column: as sent up to 128
    /// characters, else its SHA-256 — the same key each time it is resent, different for another.
    @Test func anIdentifierOfAnyLengthHasOneKeyThatFits() {
        #expect(BrokerExecutionDesk.key("EXE-1") == "EXE-1")
        let short = String(repeating: "a", count: 128)
        #expect(BrokerExecutionDesk.key(short) == short)
        let long = String(repeating: "a", count: 129)
        let key = BrokerExecutionDesk.key(long)
        #expect(key.hasPrefix("sha256:") && key.count == 71)
        #expect(BrokerExecutionDesk.key(long) == key)
        #expect(BrokerExecutionDesk.key(long + "b") != key)
        #expect(BrokerExecutionDesk.key("").hasPrefix("sha256:"))
    }
}
