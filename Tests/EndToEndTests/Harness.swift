import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `elman-dist` binary the way a user does, alone or under mpirun.
enum Harness {
    static let root = Fixtures.repository

    /// The binary next to this test bundle (debug or release, whichever built the tests).
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["ELMAN_DIST_BIN"] { return override }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "elman-dist"
        ).path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return root.appendingPathComponent(".build/debug/elman-dist").path
    }()

    static func example(_ name: String) -> String { Fixtures.example(name) }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Standard error without mpirun's own banner lines.
        var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("error:") } }
    }

    /// A started process whose output goes to files.
    final class Running {
        let process = Process()
        let out: String
        let err: String
        init(
            _ executable: String, _ arguments: [String], environment: [String: String] = [:],
            directory: String? = nil
        ) throws {
            let dir = try Scratch.directory()
            out = dir + "/stdout"
            err = dir + "/stderr"
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            _ = FileManager.default.createFile(atPath: err, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = directory.map { URL(fileURLWithPath: $0) } ?? Harness.root
            var env = ProcessInfo.processInfo.environment
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
            env["OPENBLAS_NUM_THREADS"] = "1"
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardOutput = FileHandle(forWritingAtPath: out)
            process.standardError = FileHandle(forWritingAtPath: err)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        /// Waits up to `timeout` seconds; a process still running then is killed and the test fails.
        func wait(timeout: Double = 120, sourceLocation: SourceLocation = #_sourceLocation) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("timed out after \(timeout) s", sourceLocation: sourceLocation)
                process.waitUntilExit()
            }
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus,
                stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }
    }

    /// Runs `elman-dist ARGS` to completion.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], timeout: Double = 120,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        try Running(binary, arguments, environment: environment).wait(timeout: timeout, sourceLocation: sourceLocation)
    }

    /// Runs a shell command quietly; returns its exit status.
    static func shell(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command + " >/dev/null 2>&1"]
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    static let mpirun: String = {
        for p in ["/usr/bin/mpirun", "/usr/local/bin/mpirun"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return "mpirun"
    }()

    /// `mpirun -n N [MCA] elman-dist ARGS`.
    static func mpiArguments(_ ranks: Int, _ arguments: [String], mca: [String] = []) -> [String] {
        ["--oversubscribe", "-n", String(ranks)] + mca + [binary] + arguments
    }

    static func mpi(
        _ ranks: Int, _ arguments: [String], mca: [String] = [], environment: [String: String] = [:],
        timeout: Double = 180, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        try Running(mpirun, mpiArguments(ranks, arguments, mca: mca), environment: environment).wait(
            timeout: timeout, sourceLocation: sourceLocation)
    }

    /// Parameters of a checkpoint file or directory.
    static func parameters(_ path: String) throws -> [Float] {
        try Checkpoint.load(path: try resolveCheckpoint(path)).parameters
    }
}
