import ScryptexCore
import Testing

@testable import ScryptexMarketMaking

@Suite("Inventory and P&L")
struct PositionBookTests {
    static func fill(
        _ side: Fill.Side, _ quantity: String, _ price: String, fee: String = "0.1", mid: String? = nil
    )
        -> Fill
    {
        Fill(
            id: "f", market: "ETH/USDC@demo", side: side, price: ExactDecimal(price)!,
            quantity: ExactDecimal(quantity)!,
            fee: ExactDecimal(fee)!, mid: mid.flatMap { ExactDecimal($0) }, time: 0)
    }

    /// Buy 1 @ 100 and 1 @ 110 (average 105); sell 1.5 @ 120 (+22.5); sell 1 @ 90 closes 0.5
    /// (−7.5) and opens a 0.5 short at 90; buy 0.5 @ 80 closes it (+5). Fees 5 × 0.1.
    @Test func averageCostByHand() throws {
        var book = PositionBook()
        try book.apply(Self.fill(.buy, "1", "100"))
        try book.apply(Self.fill(.buy, "1", "110"))
        #expect(book.position == ExactDecimal(2) && book.averageCost == ExactDecimal(105))
        try book.apply(Self.fill(.sell, "1.5", "120"))
        #expect(book.realised == ExactDecimal("22.2")!, "22.5 less three fees")
        try book.apply(Self.fill(.sell, "1", "90"))
        #expect(book.position == ExactDecimal("-0.5")! && book.costBasis == ExactDecimal("-45")!)
        #expect(book.unrealised(at: ExactDecimal(100)) == ExactDecimal(-5))
        try book.apply(Self.fill(.buy, "0.5", "80", mid: "81"))
        #expect(book.position.isZero && book.costBasis.isZero)
        #expect(book.realised == ExactDecimal("19.5")!)
        #expect(book.fees == ExactDecimal("0.5")! && book.fills == 5)
        #expect(book.spreadCaptured == ExactDecimal("0.5")!, "bought 0.5 one below the mid")
    }

    /// Random fills, with quantities whose basis shares need rounding: realised P&L minus the
    /// basis still held is always exactly the cash paid and received, fees included.
    @Test func realisedAndBasisAlwaysAccountForEveryCashFlow() throws {
        var random = SeededRandom(seed: 12)
        var book = PositionBook()
        var cash = ExactDecimal.zero
        for _ in 0..<2_000 {
            let side: Fill.Side = random.next() % 2 == 0 ? .buy : .sell
            let quantity = ExactDecimal(significand: Int128(1 + random.next() % 3_000), scale: 3)
            let price = ExactDecimal(significand: Int128(190_000 + random.next() % 20_000), scale: 2)
            let fee = ExactDecimal(significand: Int128(random.next() % 50), scale: 4)
            try book.apply(
                Fill(id: "x", market: "m", side: side, price: price, quantity: quantity, fee: fee, mid: nil, time: 0))
            cash += (side == .buy ? ExactDecimal.zero - quantity * price : quantity * price) - fee
            #expect(book.realised - book.costBasis == cash)
        }
    }

    /// Amounts whose product would not fit exact arithmetic are refused, never trapped on, and
    /// the book is left as it was.
    @Test func amountsOutOfRangeAreRefusedAndChangeNothing() throws {
        var book = PositionBook()
        try book.apply(Self.fill(.buy, "1", "100"))
        let before = book
        let huge = "99999999999999999999.999999999999999999"
        #expect(throws: ServiceError.self) { try book.apply(Self.fill(.buy, huge, huge)) }
        #expect(book == before)
    }
}
