import ElmanCore

/// Seeded streams for data order, drawn from the core's reproducible generator.
enum DataOrderRandom {
    static func generator(seed: UInt64, stream: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed, stream: 0x2_0000 &+ stream)
    }
}
