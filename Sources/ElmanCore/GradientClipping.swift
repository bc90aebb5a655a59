/// Global L2 norms and clipping with `torch.nn.utils.clip_grad_norm_` semantics.
public enum GradientClipping {
    /// ‖g‖₂ over all elements, accumulated in Double. NaN or ∞ if any element is.
    public static func norm(_ g: UnsafeBufferPointer<Float>) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        let n = g.count
        while i + 4 <= n {
            s0 += Double(g[i]) * Double(g[i]); s1 += Double(g[i + 1]) * Double(g[i + 1])
            s2 += Double(g[i + 2]) * Double(g[i + 2]); s3 += Double(g[i + 3]) * Double(g[i + 3])
            i += 4
        }
        while i < n { s0 += Double(g[i]) * Double(g[i]); i += 1 }
        return ((s0 + s1) + (s2 + s3)).squareRoot()
    }

    /// Scales `g` so that its norm is at most `maxNorm`: coef = maxNorm / (‖g‖ + 1e-6), g ×= min(coef, 1).
    ///
    /// - Returns: the norm before clipping, as PyTorch returns it.
    @discardableResult
    public static func clip(_ g: UnsafeMutableBufferPointer<Float>, maxNorm: Double) -> Double {
        let total = norm(UnsafeBufferPointer(g))
        let coef = maxNorm / (total + 1e-6)
        if coef < 1 {
            let c = Float(coef)
            for i in g.indices { g[i] *= c }
        }
        return total
    }
}
