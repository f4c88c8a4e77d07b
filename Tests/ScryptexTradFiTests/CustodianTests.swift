import Foundation
import ScryptexCore
import Testing

@testable import ScryptexTradFi

@Suite("The simulated custodian")
struct CustodianTests {
    static func instruction(_ address: String, id: UUID = UUID()) -> CustodyInstruction {
        CustodyInstruction(id: id, custodianAccount: "SIM-1", asset: "BTC", quantity: ExactDecimal(2), address: address)
    }

    /// An instruction sent again (a retry) gets the first receipt and is carried out once; an
    /// address it was told to refuse is refused with a reason.
    @Test func aRetryGetsTheFirstReceiptAndARefusedAddressIsRefused() async throws {
        let custodian = SimulatedCustodian(refusing: ["bc1-refused"])
        let first = Self.instruction("bc1-good")
        let receipt = try await custodian.withdraw(first)
        #expect(receipt.refusal == nil && receipt.reference.hasPrefix("SIM-"))
        #expect(try await custodian.withdraw(first) == receipt)
        let refused = try await custodian.withdraw(Self.instruction("bc1-refused"))
        #expect(refused.refusal?.contains("refuses") == true)
        #expect(custodian.instructions.count == 2)
    }

    @Test func custodiansAreFoundByNameAndAnUnknownOneIsNamed() throws {
        let custodians = Custodians([SimulatedCustodian()])
        #expect(try custodians.named("simulated").name == "simulated")
        #expect(throws: ServiceError.self) { try custodians.named("acme") }
        do {
            _ = try custodians.named("acme")
        } catch {
            #expect(error.message.contains("field 'custodian': one of simulated"))
        }
    }
}
