import Foundation

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64: a fast generator whose whole
/// sequence follows from one seed, for simulations and models that must be reproducible (a
/// synthetic market, a random forest's bootstrap samples). Not for secrets.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second normal deviate from the last Box–Muller draw.
    var spareNormal: Double?

    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var value = mixer
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// Uniform in [0, 1), with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal deviate (Box–Muller, both deviates used).
    public mutating func nextNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u = nextUniform()
        while u <= .leastNormalMagnitude { u = nextUniform() }
        let v = nextUniform()
        let radius = (-2 * log(u)).squareRoot()
        spareNormal = radius * sin(2 * .pi * v)
        return radius * cos(2 * .pi * v)
    }

    /// A Poisson deviate with mean `mean` (Knuth's product method; for the small means of
    /// per-step jump counts).
    public mutating func nextPoisson(mean: Double) -> Int {
        let limit = exp(-mean)
        var count = 0
        var product = nextUniform()
        while product > limit {
            count += 1
            product *= nextUniform()
        }
        return count
    }
}
