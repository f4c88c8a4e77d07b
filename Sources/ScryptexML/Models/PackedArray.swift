import Foundation

/// Numbers as the Base64 of their little-endian bytes: exact and compact, for model files.
enum PackedArray {
    static func encode(_ values: [Double]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values {
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
            }
        }
        return Data(bytes).base64EncodedString()
    }

    static func encode(_ values: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = UInt32(bitPattern: value)
            for shift in stride(from: 0, to: 32, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
            }
        }
        return Data(bytes).base64EncodedString()
    }

    static func bytes(_ text: String, width: Int, key: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text), data.count % width == 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "'\(key)' is not packed numbers"))
        }
        return Array(data)
    }

    static func doubles(_ text: String, key: String) throws -> [Double] {
        let bytes = try bytes(text, width: 8, key: key)
        return stride(from: 0, to: bytes.count, by: 8).map { start in
            var bits: UInt64 = 0
            for offset in 0..<8 { bits |= UInt64(bytes[start + offset]) << UInt64(8 * offset) }
            return Double(bitPattern: bits)
        }
    }

    static func integers(_ text: String, key: String) throws -> [Int32] {
        let bytes = try bytes(text, width: 4, key: key)
        return stride(from: 0, to: bytes.count, by: 4).map { start in
            var bits: UInt32 = 0
            for offset in 0..<4 { bits |= UInt32(bytes[start + offset]) << UInt32(8 * offset) }
            return Int32(bitPattern: bits)
        }
    }
}
