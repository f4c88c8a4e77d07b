import Foundation
import ScryptexCore

/// An uploaded table of numbers: a header naming the columns, then one row per line, comma
/// separated (CRLF or LF; a value may be in double quotes). One column is the target, the
/// others are the features, in file order.
public enum NumericCSV {
    public static let maximumRows = 2_000_000

    public static func dataset(_ bytes: [UInt8], target: String) throws -> LabelledData {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ServiceError(.invalidInput, "the CSV is not UTF-8 text")
        }
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
            .filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { throw ServiceError(.invalidInput, "the CSV is empty") }
        let header = cells(lines.removeFirst())
        guard Set(header).count == header.count else {
            throw ServiceError(.invalidInput, "the CSV header names a column twice")
        }
        guard let targetColumn = header.firstIndex(of: target) else {
            throw ServiceError(
                .invalidInput,
                "field 'dataset.target': the CSV has no column '\(target.prefix(60))' (columns: \(header.prefix(20).joined(separator: ", ")))"
            )
        }
        guard header.count >= 2 else {
            throw ServiceError(.invalidInput, "the CSV needs at least one feature column beside the target")
        }
        guard lines.count <= maximumRows else {
            throw ServiceError(.invalidInput, "the CSV has \(lines.count) rows; at most \(maximumRows)")
        }
        var values: [Double] = []
        values.reserveCapacity(lines.count * (header.count - 1))
        var targets: [Double] = []
        for (number, line) in lines.enumerated() {
            let row = cells(line)
            guard row.count == header.count else {
                throw ServiceError(
                    .invalidInput, "CSV line \(number + 2): \(row.count) values where the header has \(header.count)")
            }
            for (column, cell) in row.enumerated() {
                guard let value = Double(cell.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                    throw ServiceError(
                        .invalidInput,
                        "CSV line \(number + 2), column '\(header[column].prefix(60))': '\(cell.prefix(40))' is not a finite number"
                    )
                }
                if column == targetColumn { targets.append(value) } else { values.append(value) }
            }
        }
        var names = header
        names.remove(at: targetColumn)
        return LabelledData(
            features: FeatureMatrix(names: names, values: values), targets: targets,
            times: targets.indices.map(Int64.init))
    }

    /// Rows to predict: the same columns as the features (a target column, if present, ignored).
    public static func features(_ bytes: [UInt8], names: [String]) throws -> FeatureMatrix {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ServiceError(.invalidInput, "the CSV is not UTF-8 text")
        }
        var lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
            .filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { throw ServiceError(.invalidInput, "the CSV is empty") }
        let header = cells(lines.removeFirst())
        let positions = try names.map { name in
            guard let position = header.firstIndex(of: name) else {
                throw ServiceError(.invalidInput, "the CSV has no column '\(name.prefix(60))', which the model needs")
            }
            return position
        }
        var values: [Double] = []
        for (number, line) in lines.enumerated() {
            let row = cells(line)
            guard row.count == header.count else {
                throw ServiceError(
                    .invalidInput, "CSV line \(number + 2): \(row.count) values where the header has \(header.count)")
            }
            for position in positions {
                guard let value = Double(row[position].trimmingCharacters(in: .whitespaces)), value.isFinite else {
                    throw ServiceError(
                        .invalidInput,
                        "CSV line \(number + 2), column '\(header[position].prefix(60))': '\(row[position].prefix(40))' is not a finite number"
                    )
                }
                values.append(value)
            }
        }
        guard !values.isEmpty else { throw ServiceError(.invalidInput, "the CSV has no rows") }
        return FeatureMatrix(names: names, values: values)
    }

    static func cells(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { cell in
            let trimmed = cell.trimmingCharacters(in: .whitespaces)
            return trimmed.count >= 2 && trimmed.hasPrefix("\"") && trimmed.hasSuffix("\"")
                ? String(trimmed.dropFirst().dropLast()) : trimmed
        }
    }
}
