public import Foundation
public import ScryptexCore
import Synchronization

/// A withdrawal two people approved, as a custodian is instructed.
public struct CustodyInstruction: Sendable, Equatable {
    /// The movement's id: a custodian treats a second instruction with the same id as the first.
    public var id: UUID
    /// The account's number at the custodian.
    public var custodianAccount: String
    public var asset: String
    public var quantity: ExactDecimal
    public var address: String

    public init(id: UUID, custodianAccount: String, asset: String, quantity: ExactDecimal, address: String) {
        self.id = id
        self.custodianAccount = custodianAccount
        self.asset = asset
        self.quantity = quantity
        self.address = address
    }
}

/// What a custodian answered an instruction.
public struct CustodianReceipt: Sendable, Equatable {
    /// The custodian's reference for the instruction.
    public var reference: String
    /// Nil: carried out; otherwise why the custodian refused it (the funds are released).
    public var refusal: String?

    public init(reference: String, refusal: String? = nil) {
        self.reference = reference
        self.refusal = refusal
    }
}

/// A custodian the host instructs: one adapter per custodian (its API, its authentication).
public protocol Custodian: Sendable {
    /// The name custody accounts give the custodian by.
    var name: String { get }
    /// Instructs a withdrawal. Idempotent on `instruction.id`: a second call (a retry after the
    /// host stopped between approval and answer) returns the first receipt and moves nothing.
    func withdraw(_ instruction: CustodyInstruction) async throws -> CustodianReceipt
}

/// A custodian for development and tests: carries out every instruction at once, except to an
/// address it was told to refuse, and keeps what it was instructed.
public final class SimulatedCustodian: Custodian {
    public let name = "simulated"
    private let refused: Set<String>
    private let receipts = Mutex<[UUID: (CustodyInstruction, CustodianReceipt)]>([:])

    /// - Parameter refusing: Addresses it refuses to send to (as a custodian's own screening would).
    public init(refusing: Set<String> = []) {
        refused = refusing
    }

    public func withdraw(_ instruction: CustodyInstruction) async throws -> CustodianReceipt {
        receipts.withLock { receipts in
            if let (_, receipt) = receipts[instruction.id] { return receipt }
            let reference = "SIM-" + instruction.id.uuidString.prefix(8).uppercased()
            let receipt = CustodianReceipt(
                reference: reference,
                refusal: refused.contains(instruction.address) ? "the custodian refuses this address" : nil)
            receipts[instruction.id] = (instruction, receipt)
            return receipt
        }
    }

    /// Every distinct instruction received (a retry is not counted twice).
    public var instructions: [CustodyInstruction] { receipts.withLock { $0.values.map(\.0) } }
}

/// The custodians this host can instruct, by name.
public struct Custodians: Sendable {
    private let byName: [String: any Custodian]

    public init(_ custodians: [any Custodian]) {
        byName = Dictionary(custodians.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var names: [String] { byName.keys.sorted() }

    /// The simulated custodian alone, one for the whole process (so a retry finds the receipt
    /// of the first instruction): what development and tests run with. A deployment adds the
    /// adapters of the custodians its tenants use.
    public static let development = Custodians([SimulatedCustodian()])

    /// - Throws: `.invalidInput` naming the known ones for a name that is not.
    public func named(_ name: String) throws(ServiceError) -> any Custodian {
        guard let custodian = byName[name] else {
            throw ServiceError(.invalidInput, "field 'custodian': one of \(names.joined(separator: ", "))")
        }
        return custodian
    }
}
