import ElmanCore
import ElmanDistributed
import ElmanTraining
import Foundation

/// The all-reduce's cost against message size, and the α–β model fitted to it (`bench --allreduce`).
///
/// t(n) = α + β·n for an n-byte all-reduce of floats: α is the latency part (start-up and
/// round trips), β the time per byte (1/β the effective bandwidth). A ring all-reduce over p
/// ranks costs 2(p−1)·a + 2(p−1)/p·n·b for a per-message latency a and a link time per byte b,
/// so at p = 2 the fit gives a = α/2 and b = β; bench/README.md projects larger p from them.
enum AllReduceCost {
    struct Sample {
        var bytes: Int
        /// Median seconds of one all-reduce.
        var seconds: Double
    }

    struct Fit {
        var alpha: Double
        var beta: Double
        /// Coefficient of determination of the least-squares line.
        var r2: Double
    }

    /// Message sizes from 4 KiB to 32 MiB.
    static let sizes = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 32 << 20]

    /// Times `repeats` all-reduces of each size (after one untimed), each started together
    /// after a barrier; the time is rank 0's, which ends when the slowest rank's part arrives.
    static func measure(comm: Communicator, repeats: Int) throws -> [Sample] {
        var samples: [Sample] = []
        let clock = ContinuousClock()
        for bytes in sizes {
            let buffer = FloatBuffer(count: bytes / 4)
            for i in 0..<buffer.count { buffer[i] = Float(i % 13) }
            var times: [Double] = []
            for r in 0...repeats {
                try comm.barrier()
                let start = clock.now
                try comm.allReduceSum(buffer.buffer)
                if r > 0 { times.append((clock.now - start).seconds) }
            }
            times.sort()
            samples.append(Sample(bytes: bytes, seconds: times[times.count / 2]))
        }
        return samples
    }

    /// Least squares of seconds on bytes over the samples of at least `from` bytes, each
    /// weighted by 1/t² (relative error), so 64 KiB and 32 MiB count alike.
    ///
    /// The default leaves out messages under 64 KiB: OpenMPI's TCP transport sends those
    /// eagerly and larger ones after a rendezvous, a step in t(n) that one line cannot follow
    /// (on the emulated hosts the step is ~0.9 ms); gradients of the bench shapes are 70 KiB
    /// and up. The small messages' latency is printed beside the fit. bench/project.py fits
    /// the same way.
    static func fit(_ samples: [Sample], from: Int = 64 << 10) -> Fit {
        let used = samples.filter { $0.bytes >= from }
        var sw = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0
        for s in used {
            let w = 1 / (s.seconds * s.seconds), x = Double(s.bytes), y = s.seconds
            sw += w
            sx += w * x
            sy += w * y
            sxx += w * x * x
            sxy += w * x * y
        }
        let beta = (sw * sxy - sx * sy) / (sw * sxx - sx * sx)
        let alpha = (sy - beta * sx) / sw
        let mean = sy / sw
        var residual = 0.0, total = 0.0
        for s in used {
            let w = 1 / (s.seconds * s.seconds)
            residual += w * pow(s.seconds - alpha - beta * Double(s.bytes), 2)
            total += w * pow(s.seconds - mean, 2)
        }
        return Fit(alpha: alpha, beta: beta, r2: total > 0 ? 1 - residual / total : 1)
    }
}
