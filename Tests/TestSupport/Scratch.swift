import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Temporary directories for tests, all below one folder per test process that is removed
/// when the process exits, whatever each test did with its own.
public enum Scratch {
    /// The folder that holds this process's temporary directories.
    public static let root: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("elman-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { _ = try? FileManager.default.removeItem(atPath: Scratch.root) }
        return path
    }()

    /// A new, empty directory that is removed when the test process exits.
    public static func directory(_ label: String = "t") throws -> String {
        let path = root + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
