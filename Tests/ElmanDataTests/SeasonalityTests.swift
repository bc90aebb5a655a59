import ElmanData
import Foundation
import Testing

@Suite("Seasonality")
struct SeasonalityTests {
    @Test("the dominant period of a daily cycle in hourly values is 24; a walk without one has a weak one; short series have none")
    func dominantPeriod() throws {
        var state: UInt64 = 7
        func noise() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
        let daily = (0..<2000).map { 10 * sin(2 * Double.pi * Double($0) / 24) + noise() }
        let found = try #require(Seasonality.dominantPeriod(daily[...]))
        #expect(found.period == 24 && found.autocorrelation > 0.5, "\(found)")
        var level = 0.0
        let walk = (0..<2000).map { _ in
            level += noise()
            return level
        }
        let weak = try #require(Seasonality.dominantPeriod(walk[...]))
        #expect(weak.autocorrelation < 0.2, "\(weak)")
        // Too few changes for a lag of 2 (n / 3 < 2): nil, not a trap.
        for n in 0..<13 { #expect(Seasonality.dominantPeriod((0..<n).map(Double.init)[...]) == nil) }
        #expect(Seasonality.dominantPeriod(Array(repeating: 5.0, count: 100)[...]) == nil)  // no variance
    }
}
