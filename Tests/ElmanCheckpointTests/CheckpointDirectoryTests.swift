import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

@Suite("Checkpoint directory")
struct CheckpointDirectoryTests {
    @Test("latest names the newest file; the newest K are kept")
    func latestAndKeep() throws {
        let dir = CheckpointDirectory(path: try Scratch.directory() + "/run")
        try dir.prepare()
        let bytes = try Samples.checkpoint().serialized()
        for step in [10, 20, 30, 40] { try dir.write(bytes, step: step, keep: 2) }
        #expect(dir.stepFiles() == ["step-00000030.safetensors", "step-00000040.safetensors"])
        #expect(try dir.latest() == dir.path + "/step-00000040.safetensors")
        #expect(try resolveCheckpoint(dir.path) == dir.path + "/step-00000040.safetensors")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("missing parents are created; an unusable directory is found before training")
    func unusable() throws {
        let base = try Scratch.directory()
        try CheckpointDirectory(path: base + "/missing/parents/run").prepare()
        #expect(FileManager.default.fileExists(atPath: base + "/missing/parents/run/"))
        _ = FileManager.default.createFile(atPath: base + "/file", contents: Data())
        #expect(
            throws: CheckpointError(
                "checkpoint directory \(base)/file/run: cannot create directory \(base)/file: Not a directory")
        ) {
            try CheckpointDirectory(path: base + "/file/run").prepare()
        }
        #expect(throws: CheckpointError("checkpoint directory \(base)/file is a file")) {
            try CheckpointDirectory(path: base + "/file").prepare()
        }
    }

    @Test("an empty directory has no latest")
    func noLatest() throws {
        let base = try Scratch.directory()
        #expect(throws: CheckpointError("no checkpoint in \(base) (no 'latest' file)")) {
            try CheckpointDirectory(path: base).latest()
        }
    }

    @Test("a failed write says whether an earlier checkpoint is intact, and never claims one that does not exist")
    func failedWriteMessage() throws {
        let base = try Scratch.directory()
        // The directory was never prepared: the first write fails, with nothing before it.
        let missing = CheckpointDirectory(path: base + "/never-made")
        #expect(throws: CheckpointError.self) { try missing.write([1, 2, 3], step: 1, keep: 3) }
        do {
            try missing.write([1, 2, 3], step: 1, keep: 3)
        } catch {
            #expect(error.message.hasSuffix("; no earlier checkpoint exists"), "\(error.message)")
        }
        // With a checkpoint on disk, a later failure says it is intact.
        let dir = CheckpointDirectory(path: base + "/run")
        try dir.prepare()
        try dir.write([1, 2, 3], step: 1, keep: 3)
        try FileManager.default.createDirectory(
            atPath: base + "/run/" + CheckpointDirectory.fileName(step: 2), withIntermediateDirectories: true)
        do {
            try dir.write([4, 5, 6], step: 2, keep: 3)
            Issue.record("writing over a directory succeeded")
        } catch {
            #expect(error.message.hasSuffix("; the previous checkpoint is intact"), "\(error.message)")
        }
        #expect(try dir.latest() == base + "/run/" + CheckpointDirectory.fileName(step: 1))
    }
}
