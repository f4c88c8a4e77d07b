/// One listed party of a sanctions list.
public struct SanctionsEntry: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case individual, entity, vessel, aircraft
    }

    /// The list's own identifier (`ent_num` for OFAC, `DATAID` for the UN).
    public var identifier: String
    public var name: String
    public var kind: Kind
    public var programs: [String]
    public var aliases: [String]
    public var addresses: [String]
    /// Digital-currency addresses from the remarks: currency code and address.
    public var digitalCurrencyAddresses: [DigitalCurrencyAddress]
    public var remarks: String?

    public init(
        identifier: String, name: String, kind: Kind, programs: [String] = [], aliases: [String] = [],
        addresses: [String] = [], digitalCurrencyAddresses: [DigitalCurrencyAddress] = [], remarks: String? = nil
    ) {
        self.identifier = identifier
        self.name = name
        self.kind = kind
        self.programs = programs
        self.aliases = aliases
        self.addresses = addresses
        self.digitalCurrencyAddresses = digitalCurrencyAddresses
        self.remarks = remarks
    }
}

public struct DigitalCurrencyAddress: Sendable, Codable, Equatable, Hashable {
    public var currency: String
    public var address: String

    public init(currency: String, address: String) {
        self.currency = currency
        self.address = address
    }
}

/// Which list a file set is.
public enum SanctionsSource: String, Sendable, Codable, CaseIterable {
    case ofacSDN = "ofac_sdn"
    case ofacConsolidated = "ofac_consolidated"
    case unConsolidated = "un_consolidated"
}

/// A list file that cannot be read as a whole; the previous list stays active.
public struct SanctionsFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var problem: String

    public init(file: String, line: Int?, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String {
        line.map { "\(file) line \($0): \(problem)" } ?? "\(file): \(problem)"
    }
}
