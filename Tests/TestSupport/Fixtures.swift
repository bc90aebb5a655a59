import Foundation

/// Paths of the repository's example data and test fixtures.
public enum Fixtures {
    /// The repository's top folder.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `examples/data/NAME`.
    public static func example(_ name: String) -> String {
        repository.appendingPathComponent("examples/data/\(name)").path
    }

    /// `Tests/Fixtures/PATH`.
    public static func path(_ relative: String) -> String {
        repository.appendingPathComponent("Tests/Fixtures/\(relative)").path
    }
}
