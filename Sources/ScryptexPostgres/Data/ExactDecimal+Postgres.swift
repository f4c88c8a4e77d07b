public import ScryptexCore

extension ExactDecimal: PostgresArrayElement {
    public static var postgresDataType: PostgresDataType { .numeric }
    public static var postgresArrayDataType: PostgresDataType { .numericArray }
    public var postgresText: String? { description }

    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        do {
            self = try ExactDecimal(parsing: text)
        } catch {
            if text == "NaN" || text.hasSuffix("Infinity") {
                throw PostgresDecodingFailure("numeric '\(text)' has no exact decimal value")
            }
            throw PostgresDecodingFailure(error.description)
        }
    }
}
