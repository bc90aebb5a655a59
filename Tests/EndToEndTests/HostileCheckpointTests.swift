import Foundation
import TestSupport
import Testing

@testable import ElmanCheckpoint

/// Checkpoints crafted to make the tool allocate, crash or misbehave: each is refused with one line.
@Suite("Hostile checkpoints")
struct HostileCheckpointTests {
    /// A real checkpoint of a small run, its `key` metadata (a JSON object) edited and resealed.
    func crafted(_ key: String, json edit: (inout [String: Any]) -> Void) throws -> String {
        try crafted(key) { text in
            guard var object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                return text
            }
            edit(&object)
            return (try? JSONSerialization.data(withJSONObject: object)).map { String(decoding: $0, as: UTF8.self) }
                ?? text
        }
    }

    /// A real checkpoint of a small run, its `key` metadata rewritten by `edit` and resealed.
    func crafted(_ key: String, _ edit: (String) -> String) throws -> String {
        let dir = try Scratch.directory()
        #expect(
            try Harness.run(["train", "--data", "sine", "--steps", "3", "--quiet", "--checkpoint-dir", dir]).status == 0
        )
        let file = try SafeTensorsFile(
            bytes: Array(try Data(contentsOf: URL(fileURLWithPath: try resolveCheckpoint(dir)))))
        var meta = file.metadata
        meta[key] = edit(meta[key] ?? "")
        meta["metadata_crc32c"] = Checkpoint.metadataChecksum(meta)
        var w = SafeTensorsWriter()
        for t in file.tensors { w.add(t.name, dtype: t.dtype, shape: t.shape, bytes: Array(try file.rawBytes(t.name))) }
        w.metadata = meta
        let path = dir + "/crafted.safetensors"
        try Data(w.serialized()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs the binary with its address space limited to 2 GB: an allocation of the claimed size would fail.
    func limited(_ arguments: [String]) throws -> Harness.Result {
        let command = ([Harness.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try Harness.Running("/bin/bash", ["-c", "ulimit -v 2000000; exec \(command)"]).wait()
    }

    @Test("an 18 KB checkpoint claiming 46000 hidden units is refused by its shapes, within 2 GB of address space")
    func hugeClaimedModel() throws {
        let path = try crafted("model") {
            $0.replacingOccurrences(of: "\"hiddenSize\":32", with: "\"hiddenSize\":46000")
        }
        for command in [["inspect", path], ["eval", "--checkpoint", path], ["train", "--resume", path]] {
            let r = try limited(command)
            #expect(r.status == 1, "\(command[0]): \(r.stderr)")
            #expect(
                r.stderr.hasSuffix("tensor 'rnn.weight_ih_l0' has shape [32, 1], the model needs [46000, 1]\n"),
                "\(r.stderr)")
        }
    }

    @Test("a checkpoint with a negative step is refused on resume with one line, not a crash")
    func negativeProgress() throws {
        let path = try crafted("progress") { $0.replacingOccurrences(of: "\"step\":3", with: "\"step\":-7") }
        let r = try Harness.run(["train", "--resume", path, "--checkpoint-dir", try Scratch.directory()])
        #expect(r.status == 1)
        #expect(r.stderr == "error: the checkpoint's progress is invalid: step is -7\n")
    }

    @Test("sizes from flags are checked before anything is allocated, naming the bytes needed and the machine's")
    func hugeFlags() throws {
        let big = try limited([
            "train", "--data", "sine", "--points", "100000", "--hidden", "5000", "--seq-len", "1000", "--batch-size",
            "5000",
        ])
        #expect(big.status == 1)
        #expect(
            big.stderr.hasPrefix(
                "error: a 1-layer model of 5000 hidden units with batch 5000 × 1000 steps needs 300560320016 bytes to train, this machine has "
            ))
        let layers = try limited(["train", "--data", "sine", "--layers", "1000000000"])
        #expect(layers.status == 1 && layers.stderr == "error: layers must be at most 1000, got 1000000000\n")
    }

    @Test("a resumed run writes beside the checkpoint, never where the checkpoint's settings point")
    func storedPathsDoNotDecide() throws {
        let elsewhere = try Scratch.directory() + "/elsewhere"
        let path = try crafted("training") { (o: inout [String: Any]) in
            o["checkpointDirectory"] = elsewhere
            o["metricsPath"] = elsewhere + ".jsonl"
        }
        let r = try Harness.run(["train", "--resume", path, "--steps", "5", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let beside = (path as NSString).deletingLastPathComponent
        #expect(FileManager.default.fileExists(atPath: beside + "/" + CheckpointDirectory.fileName(step: 5)))
        #expect(!FileManager.default.fileExists(atPath: elsewhere))
        #expect(!FileManager.default.fileExists(atPath: elsewhere + ".jsonl"))
    }

    @Test("a data path stored in a checkpoint is named before it is read, and errors quote only a short excerpt")
    func storedDataPath() throws {
        let path = try crafted("data") { (o: inout [String: Any]) in
            var options = o["options"] as? [String: Any] ?? [:]
            options["source"] = ["csv": ["path": "/etc/passwd"]]
            options["target"] = "v"
            o["options"] = options
        }
        let r = try Harness.run(["train", "--resume", path, "--steps", "5"])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("data: /etc/passwd (as the checkpoint names it)\n"), "\(r.stdout)")
        #expect(r.errorLines.count == 1 && r.stderr.count < 400, "\(r.stderr)")
    }
}
