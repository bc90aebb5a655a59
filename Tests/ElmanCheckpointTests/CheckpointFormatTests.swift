@testable import ElmanCheckpoint
import ElmanCore
import Foundation
import TestSupport
import Testing

@Suite("Checkpoint format")
struct CheckpointFormatTests {
    @Test("CRC-32C matches the standard check value")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("a checkpoint survives a round trip exactly")
    func roundTrip() throws {
        let c = Samples.checkpoint()
        let back = try Checkpoint(bytes: c.serialized())
        #expect(back == c)
        #expect(back.optimizerState.step == 7)
    }

    @Test("model tensors carry PyTorch's names and shapes; optimiser state sits under optimizer.")
    func names() throws {
        let file = try SafeTensorsFile(bytes: Samples.checkpoint().serialized())
        let names = Set(file.tensors.map(\.name))
        #expect(names.contains("rnn.weight_ih_l1") && names.contains("fc.bias"))
        #expect(file.info("rnn.weight_ih_l0")?.shape == [3, 2])
        #expect(
            names.contains("optimizer.exp_avg.rnn.weight_hh_l1") && names.contains("optimizer.exp_avg_sq.fc.weight"))
        #expect(file.metadata["format"] == "elman-dist-checkpoint" && file.metadata["format_version"] == "2")
    }

    @Test("the version-1 checkpoint kept in the tests still loads")
    func versionOneFile() throws {
        let url = URL(fileURLWithPath: Fixtures.path("checkpoints/v1.safetensors"))
        let c = try Checkpoint.load(path: url.path)
        #expect(c == Samples.checkpoint())
    }

    @Test("a newer format version is refused with a clear message")
    func newerVersion() throws {
        let file = try SafeTensorsFile(bytes: Samples.checkpoint().serialized())
        var w = SafeTensorsWriter()
        for t in file.tensors { w.add(t.name, shape: t.shape, values: try file.floats(t.name)) }
        var meta = file.metadata
        meta["format_version"] = "3"
        w.metadata = meta
        #expect(
            throws: CheckpointError(
                "checkpoint format version 3 is newer than this elman-dist reads (up to 2); upgrade elman-dist")
        ) {
            try Checkpoint(bytes: w.serialized())
        }
    }

    @Test(
        "hostile and damaged files each get a one-line error",
        arguments: [
            ([UInt8](), "not a valid safetensors file: file is empty"),
            ([1, 2, 3], "not a valid safetensors file: file is 3 bytes, too short for a safetensors header"),
            (
                Array("PK\u{3}\u{4}not-a-safetensors-file".utf8),
                "not a valid safetensors file: header length 3275365347309603664 is larger than the 100000000-byte limit (not a safetensors file?)"
            ),
            (
                [UInt8](repeating: 0, count: 8).withHeaderLength(4096),
                "not a valid safetensors file: header length 4096 runs past the end of the 8-byte file (truncated?)"
            ),
            (
                [UInt8].safetensors(header: "[1,2]"),
                "not a valid safetensors file: header does not start with '{' (not a safetensors file?)"
            ),
            (
                [UInt8].safetensors(header: "{\"a\":"),
                "not a valid safetensors file: header is not valid JSON: invalid JSON at byte 5: unexpected end"
            ),
            (
                [UInt8].safetensors(
                    header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: [0, 0, 0, 0]),
                "not a valid safetensors file: tensor 'a' data ends at byte 8, past the 4-byte buffer (truncated?)"
            ),
            (
                [UInt8].safetensors(
                    header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                    data: [UInt8](repeating: 0, count: 8)),
                "not a valid safetensors file: tensor 'a' holds 8 bytes but F32 [3] needs 12"
            ),
            (
                [UInt8].safetensors(
                    header: "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]),
                "not a valid safetensors file: tensor 'a' has unknown dtype 'Q7'"
            ),
            (
                [UInt8].safetensors(
                    header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}",
                    data: [0, 0, 0, 0]),
                "not a valid safetensors file: tensor 'a' shape [4294967296, 4294967296] is larger than the file"
            ),
            (
                [UInt8].safetensors(
                    header:
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                    data: [0, 0, 0, 0]),
                "not a valid safetensors file: tensor 'b' data overlaps another tensor at byte 0"
            ),
            (
                [UInt8].safetensors(
                    header: String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40)),
                "not a valid safetensors file: header is not valid JSON: invalid JSON at byte 160: nested too deeply"
            ),
            (
                [UInt8].safetensors(
                    header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]),
                "not an elman-dist checkpoint (no format metadata; use `init` for plain model weights)"
            ),
        ] as [([UInt8], String)])
    func hostile(_ bytes: [UInt8], _ message: String) {
        #expect(throws: CheckpointError(message)) { try Checkpoint(bytes: bytes) }
    }

    /// The sample checkpoint rewritten: `edit` changes its tensors and metadata, then the
    /// metadata checksum is recomputed (when `reseal`), so the checks behind it are reached.
    func rewritten(
        reseal: Bool = true,
        _ edit: (inout [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])], inout [String: String]) throws ->
            Void
    )
        throws -> [UInt8]
    {
        let file = try SafeTensorsFile(bytes: Samples.checkpoint().serialized())
        var tensors = try file.tensors.map {
            (name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: Array(try file.rawBytes($0.name)))
        }
        var meta = file.metadata
        try edit(&tensors, &meta)
        if reseal { meta["metadata_crc32c"] = Checkpoint.metadataChecksum(meta) }
        var w = SafeTensorsWriter()
        for t in tensors { w.add(t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes) }
        w.metadata = meta
        return w.serialized()
    }

    @Test("edited metadata without its checksum is refused as corrupted")
    func editedMetadata() throws {
        let bytes = try rewritten(reseal: false) { _, meta in
            meta["model"] = meta["model"]?.replacingOccurrences(of: "\"hiddenSize\":3", with: "\"hiddenSize\":4")
        }
        #expect(throws: CheckpointError("checkpoint metadata checksum does not match (file corrupted)")) {
            try Checkpoint(bytes: bytes)
        }
    }

    @Test("a tensor whose shape does not fit the model is named, with both shapes")
    func wrongShape() throws {
        let bytes = try rewritten { _, meta in
            meta["model"] = meta["model"]?.replacingOccurrences(of: "\"hiddenSize\":3", with: "\"hiddenSize\":4")
        }
        #expect(throws: CheckpointError("tensor 'rnn.weight_ih_l0' has shape [3, 2], the model needs [4, 2]")) {
            try Checkpoint(bytes: bytes)
        }
    }

    @Test("a tensor of another dtype is named")
    func wrongDtype() throws {
        // I32 has F32's width, so the file stays well-formed and only the dtype check can object.
        let bytes = try rewritten { tensors, _ in
            if let k = tensors.firstIndex(where: { $0.name == "fc.bias" }) { tensors[k].dtype = .i32 }
        }
        #expect(throws: CheckpointError("tensor 'fc.bias' is I32, expected F32")) { try Checkpoint(bytes: bytes) }
    }

    @Test("a tensor without a checksum is refused")
    func missingChecksum() throws {
        let bytes = try rewritten { tensors, _ in tensors.append(("extra", .f32, [1], [0, 0, 128, 63])) }
        #expect(throws: CheckpointError("tensor 'extra' has no checksum")) { try Checkpoint(bytes: bytes) }
    }

    @Test("a tensor whose bytes fail their checksum is refused")
    func tensorChecksum() throws {
        let bytes = try rewritten { tensors, _ in
            if let k = tensors.firstIndex(where: { $0.name == "fc.bias" }) { tensors[k].bytes[0] ^= 1 }
        }
        #expect(throws: CheckpointError("tensor 'fc.bias' fails its checksum (file corrupted)")) {
            try Checkpoint(bytes: bytes)
        }
    }

    @Test("every single-bit flip anywhere in the file is detected")
    func bitFlips() throws {
        let bytes = try Samples.checkpoint().serialized()
        // The undamaged file loads: a reader that refused everything would pass the loop below.
        #expect(try Checkpoint(bytes: bytes) == Samples.checkpoint())
        var rng = SeededGenerator(seed: 3)
        let data = bytes.count - 400..<bytes.count
        // Every byte of the header length and the last 400 bytes of tensor data, and a sample of header bytes.
        var positions = Array(0..<8) + Array(data)
        positions += (0..<600).map { _ in rng.nextInt(below: bytes.count) }
        var detected = 0
        for position in positions {
            var damaged = bytes
            damaged[position] ^= UInt8(1 << rng.nextInt(below: 8))
            guard let c = try? Checkpoint(bytes: damaged) else {
                detected += 1
                continue
            }
            // JSON white-space padding can absorb some flips harmlessly (a space becoming '!'
            // is not one of them: it breaks the JSON), so a successful parse must equal the original,
            // and no flip in the header length or the tensor data may go unnoticed.
            #expect(c == Samples.checkpoint(), "flip at byte \(position) changed the checkpoint undetected")
            #expect(position >= 8 && !data.contains(position), "flip at byte \(position) was not detected")
        }
        #expect(detected >= 8 + data.count)
    }

    @Test("seeded random mutations: a rejected file gets a one-line error of the reader's own, an accepted one loads as the original")
    func mutationFuzz() throws {
        let seed = try Samples.checkpoint().serialized()
        var rng = SeededGenerator(seed: 2026)
        let original = try Checkpoint(bytes: seed)
        var rejected = 0
        for _ in 0..<fuzzIterations(3000) {
            var b = seed
            for _ in 0..<1 + rng.nextInt(below: 8) {
                switch rng.nextInt(below: 5) {
                case 0: b[rng.nextInt(below: b.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.removeSubrange(rng.nextInt(below: b.count)..<b.count)
                case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: rng.nextInt(below: b.count + 1))
                case 3: let i = rng.nextInt(below: b.count); b.insert(contentsOf: b[i..<min(b.count, i + 64)], at: i)
                default: if b.count >= 8 { b = b.withHeaderLength(UInt64(rng.nextInt(below: 1 << 20))) }
                }
                if b.isEmpty { break }
            }
            do {
                // Accepted: every tensor and the metadata are checksummed, so what loads must be
                // the original checkpoint (a mutation of nothing that matters, such as JSON spacing).
                let loaded = try Checkpoint(bytes: b)
                #expect(loaded.parameters == original.parameters && loaded.model == original.model)
                #expect(loaded.optimizerState == original.optimizerState && loaded.sections == original.sections)
            } catch {
                // Rejected (a CheckpointError, by the reader's typed throws): one line a user can read.
                rejected += 1
                let message = "\(error)"
                #expect(!message.isEmpty && !message.contains("\n") && message.count < 400, "\(message)")
            }
        }
        #expect(rejected > 0, "no mutation was rejected: the mutations are broken")
    }
}
