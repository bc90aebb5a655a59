import Foundation
import TestSupport
import Testing

/// The kept corpus of hostile and odd files (`Tests/Fixtures/corpus`), each run through the
/// binary as a user would, with the exact one-line error it must get.
@Suite("Corpus")
struct CorpusTests {
    static let dir = "Tests/Fixtures/corpus/"

    @Test(
        "every damaged or hostile safetensors file is refused by inspect with its own message",
        arguments: [
            (
                "deep-nesting",
                "not a valid safetensors file: header is not valid JSON: invalid JSON at byte 160: nested too deeply"
            ),
            ("duplicate-name", "not a valid safetensors file: tensor 'a' appears twice in the header"),
            ("empty", "not a valid safetensors file: file is empty"),
            (
                "header-not-object",
                "not a valid safetensors file: header does not start with '{' (not a safetensors file?)"
            ),
            (
                "header-past-end",
                "not a valid safetensors file: header length 4096 runs past the end of the 8-byte file (truncated?)"
            ),
            (
                "header-truncated-json",
                "not a valid safetensors file: header is not valid JSON: invalid JSON at byte 5: unexpected end"
            ),
            (
                "huge-shape",
                "not a valid safetensors file: tensor 'a' shape [4294967296, 4294967296] is larger than the file"
            ),
            (
                "lone-surrogate",
                "not a valid safetensors file: header is not valid JSON: invalid JSON at byte 8: lone surrogate"
            ),
            ("negative-offset", "not a valid safetensors file: tensor 'a' has invalid data_offsets"),
            (
                "offsets-past-end",
                "not a valid safetensors file: tensor 'a' data ends at byte 8, past the 4-byte buffer (truncated?)"
            ),
            ("overlapping", "not a valid safetensors file: tensor 'b' data overlaps another tensor at byte 0"),
            ("plain-weights", "not an elman-dist checkpoint (no format metadata; use --init for plain model weights)"),
            ("shape-mismatch", "not a valid safetensors file: tensor 'a' holds 8 bytes but F32 [3] needs 12"),
            ("short", "not a valid safetensors file: file is 3 bytes, too short for a safetensors header"),
            ("unknown-dtype", "not a valid safetensors file: tensor 'a' has unknown dtype 'Q7'"),
            (
                "zip-magic",
                "not a valid safetensors file: header length 3275365347309603664 is larger than the 100000000-byte limit (not a safetensors file?)"
            ),
        ])
    func safetensors(_ name: String, _ message: String) throws {
        let path = Self.dir + name + ".safetensors"
        let r = try Harness.run(["inspect", path])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(path): \(message)\n")
    }

    @Test(
        "every odd CSV file is refused by train with its own message",
        arguments: [
            ("bom-crlf", "--seq-len 1 needs at least 3 rows (of which 2 changes), the data has 1"),
            ("empty", "@: file is empty"),
            ("header-only", "@: no data rows"),
            ("nan-inf", "@:2: missing value in column 'v' (no row has a number in every used column, so --missing drop or ffill would leave no data)"),
            ("not-utf8", "@: not UTF-8 text"),
            ("quoted-newline", "@:2: non-numeric value '2\\n3' in column 'v' (no row has a number in every used column, so --missing drop or ffill would leave no data)"),
            ("ragged", "@:2: 3 fields, the header has 2"),
            ("unterminated-quote", "@:2: unterminated quoted field"),
            ("nul-byte", "@:3: a NUL byte in column 'v'"),
            ("beyond-float", "@:3: value 1e39 in column 'v' is outside float32's range (±3.4e38)"),
            ("duplicate-header", "@:1: column 3 repeats the name 'a' of column 1"),
        ])
    func csv(_ name: String, _ message: String) throws {
        let path = Self.dir + name + ".csv"
        let r = try Harness.run([
            "train", "--data", path, "--target", "v", "--seq-len", "1", "--batch-size", "1", "--steps", "1", "--quiet",
        ])
        // A window longer than the data is a setting that does not fit it: a usage error.
        #expect(r.status == (message.hasPrefix("--seq-len") ? 64 : 1))
        #expect(r.stderr == "error: " + message.replacingOccurrences(of: "@", with: path) + "\n")
    }

    @Test("a missing column in a very wide header gets a short one-line error listing part of it")
    func wideHeader() throws {
        let path = try Scratch.directory() + "/wide.csv"
        let names = (0..<100_000).map { "column_with_a_long_name_\($0)" }
        try (names.joined(separator: ",") + "\n" + names.map { _ in "1" }.joined(separator: ",") + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Harness.run(["train", "--data", path, "--target", "nope"])
        #expect(r.status == 1 && r.errorLines.count == 1)
        #expect(r.stderr.count < 2_000 && r.stderr.hasSuffix(", … (99980 more))\n"), "\(r.stderr.prefix(300))")
    }
}
