import Numerics
import Testing

/// The largest |a[i] − b[i]| of two arrays of the same length.
public func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxDifference: \(a.count) and \(b.count) values")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Expects `actual` to equal `expected` element-wise within swift-numerics' `isApproximatelyEqual`:
/// |a − e| ≤ max(absolute, relative · max(|a|, |e|)). Names the worst element when it does not.
public func expectClose(
    _ actual: [Float], _ expected: [Float], _ what: String, relative: Float = 1e-4, absolute: Float = 1e-5,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
        sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let far = actual.indices.filter {
        !actual[$0].isApproximatelyEqual(to: expected[$0], absoluteTolerance: absolute, relativeTolerance: relative)
    }
    let worst = far.max { abs(actual[$0] - expected[$0]) < abs(actual[$1] - expected[$1]) }
    #expect(
        worst == nil,
        "\(what)[\(worst ?? -1)]: got \(worst.map { actual[$0] } ?? 0), expected \(worst.map { expected[$0] } ?? 0) (\(far.count) elements out of tolerance)",
        sourceLocation: sourceLocation)
}
