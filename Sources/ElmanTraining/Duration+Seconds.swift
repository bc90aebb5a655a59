extension Duration {
    /// The duration in seconds, as the loop's timings and the tool's benchmarks report it.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
