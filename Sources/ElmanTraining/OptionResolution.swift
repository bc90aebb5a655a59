import Foundation

/// One setting the user gave explicitly (a flag or a config-file key) and how it changes options.
public struct OptionSetting: Sendable {
    /// The flag as the user wrote it, e.g. `--hidden 64`.
    public var flag: String
    public var apply: @Sendable (inout TrainingOptions) -> Void

    public init(flag: String, apply: @escaping @Sendable (inout TrainingOptions) -> Void) {
        self.flag = flag
        self.apply = apply
    }
}

/// Applies explicit settings on top of a base: defaults for a new run, the checkpoint's for a resume.
///
/// When resuming, a setting that changes a field defining the trajectory (model size, batch
/// size, seed, ...) is an error naming the checkpoint's value; any other change is applied
/// and reported in the returned notes.
public func resolveOptions(
    base: TrainingOptions, settings: [OptionSetting], resuming: Bool
) throws(TrainingError) -> (options: TrainingOptions, notes: [String]) {
    var options = base
    var notes: [String] = []
    for setting in settings {
        var next = options
        setting.apply(&next)
        if resuming && next.fixed != options.fixed {
            throw TrainingError("\(setting.flag) contradicts the checkpoint, which was trained with \(describeFixedDifference(options.fixed, next.fixed))")
        }
        if resuming && next != options { notes.append("resuming with \(setting.flag)") }
        options = next
    }
    return (options, notes)
}

private func describeFixedDifference(_ a: TrainingOptions.Fixed, _ b: TrainingOptions.Fixed) -> String {
    let encoder = JSONEncoder()
    guard let da = try? JSONSerialization.jsonObject(with: encoder.encode(a)) as? [String: Any],
          let db = try? JSONSerialization.jsonObject(with: encoder.encode(b)) as? [String: Any] else { return "other settings" }
    let keys = da.keys.sorted().filter { "\(da[$0] ?? "")" != "\(db[$0] ?? "")" }
    return keys.map { "\($0) = \(da[$0] ?? "")" }.joined(separator: ", ")
}
