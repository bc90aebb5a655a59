import Numerics

/// The largest |a[i] − b[i]| of two arrays of the same length.
public func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxDifference: \(a.count) and \(b.count) values")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Whether every element of `a` is approximately `b`'s: |a − b| ≤ absolute + relative·max(|a|, |b|)
/// (swift-numerics' `isApproximatelyEqual`).
public func allApproximatelyEqual(_ a: [Float], _ b: [Float], absolute: Float, relative: Float) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy {
        $0.isApproximatelyEqual(to: $1, absoluteTolerance: absolute, relativeTolerance: relative)
    }
}
