import Foundation
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Traditional finance over the API", .serialized)
struct TradFiRoutesTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// Broker sessions defined, listed and shown with their numbers; every bad field named; a
    /// role without tradfi.manage refused.
    @Test func brokerSessionsAreDefinedListedAndShown() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let trader = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["trader"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"Prime","accountType":"hedge_fund","legalName":"Prime Fund LP"}"#)
                )["id"] as? String)
            let path = "/api/enterprise/tradfi/broker-sessions"
            let body =
                #"{"name":"Prime broker A","accountId":"\#(account)","host":"fix.broker.example","port":9443,"senderCompID":"SCRYPTEX","targetCompID":"BROKERA","heartbeatSeconds":20}"#
            let refused = await harness.send(.post, path, headers: trader, json: body)
            #expect(refused.status == .forbidden)
            let created = await harness.send(.post, path, headers: owner, json: body)
            #expect(created.status == .created, "\(Self.text(created))")
            let session = Self.json(created)
            let id = try #require(session["id"] as? String)
            #expect(session["tls"] as? Bool == true && session["status"] as? String == "disconnected")
            #expect(session["nextSenderSequence"] as? Int == 1 && session["nextTargetSequence"] as? Int == 1)
            #expect(session["heartbeatSeconds"] as? Int == 20 && session["messagesStored"] as? Int == 0)
            let listed = Self.json(await harness.send(.get, path, headers: trader))
            #expect((listed["sessions"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let shown = await harness.send(.get, path + "/" + id, headers: trader)
            #expect(Self.json(shown)["targetCompID"] as? String == "BROKERA")
            let unknown = await harness.send(.get, path + "/" + UUID().uuidString, headers: owner)
            #expect(unknown.status == .notFound)

            for (json, status, message) in [
                (body, 409, "exists"),
                (body.replacingOccurrences(of: #""port":9443"#, with: #""port":70000"#), 400, "field 'port'"),
                (body.replacingOccurrences(of: "BROKERA", with: "BRO=KER"), 400, "field 'targetCompID'"),
                (
                    body.replacingOccurrences(of: #""heartbeatSeconds":20"#, with: #""heartbeatSeconds":1"#), 400,
                    "field 'heartbeatSeconds'"
                ),
                (
                    body.replacingOccurrences(of: #""name":"Prime broker A","#, with: #""name":"B","colour":"red","#),
                    400,
                    "field 'colour'"
                ),
                (
                    body.replacingOccurrences(of: account, with: UUID().uuidString.lowercased())
                        .replacingOccurrences(of: "Prime broker A", with: "Other"), 404, "account"
                ),
                (
                    body.replacingOccurrences(
                        of: #","heartbeatSeconds":20"#, with: #","tls":false,"trustedCertificates":"x""#
                    )
                    .replacingOccurrences(of: "Prime broker A", with: "Other"), 400, "field 'trustedCertificates'"
                ),
            ] {
                let answer = await harness.send(.post, path, headers: owner, json: json)
                #expect(
                    answer.status.code == status && Self.text(answer).contains(message),
                    "\(json): \(answer.status) \(Self.text(answer))")
            }
        }
    }
}
