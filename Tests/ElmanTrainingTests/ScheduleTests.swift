import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import TestSupport
import Foundation
import Testing

@Suite("Learning-rate schedule")
struct ScheduleTests {
    @Test("warm-up, cosine and step decay give hand-computed rates")
    func rates() {
        let warm = LearningRateSchedule(warmupSteps: 4)
        #expect(
            (0..<6).map { warm.rate(base: 0.8, step: $0, total: 10) } == [0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8])
        // Cosine over 10 steps after 0 warm-up, floor 10%: halfway is the mean of base and floor.
        let cosine = LearningRateSchedule(decay: .cosine, minFraction: 0.1)
        #expect(cosine.rate(base: 1, step: 0, total: 10) == 1)
        #expect(abs(cosine.rate(base: 1, step: 5, total: 10) - 0.55) < 1e-12)
        #expect(abs(cosine.rate(base: 1, step: 10, total: 10) - 0.1) < 1e-12)
        // Step decay: ×0.5 every 3 steps after 2 warm-up steps.
        let step = LearningRateSchedule(warmupSteps: 2, decay: .step, stepSize: 3, gamma: 0.5)
        #expect((2..<10).map { step.rate(base: 1, step: $0, total: 100) } == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    }
}
