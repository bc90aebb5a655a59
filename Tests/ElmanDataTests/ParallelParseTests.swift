import Foundation
import TestSupport
import Testing

@testable import ElmanData

/// A large file is parsed in stretches on every core: the same table and the same messages as
/// one pass, which a quote in the file forces (a quoted field may span lines).
@Suite("Parallel CSV parse", .serialized)
struct ParallelParseTests {
    /// 20,000 rows of a long panel (CRLF line ends), with `tail` appended; the first value
    /// quoted or not (a quote anywhere makes the reader take one pass).
    func file(quoted: Bool, tail: String = "") throws -> String {
        var text = "id,v,w\r\n"
        for r in 0..<20_000 {
            let v = r == 0 && quoted ? "\"0.0\"" : String(Double(r) * 0.5)
            text += "s\(r % 7 == 0 ? 1 : r / 3000),\(v),\(r % 11)\r\n"
        }
        let path = try Scratch.directory() + "/\(quoted ? "q" : "p").csv"
        try (text + tail).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func read(_ path: String, missing: MissingPolicy = .error) throws -> Table {
        var reader = CSVReader(columns: ["v", "w"], missing: missing, key: "id")
        reader.stretchCount = 5
        return try reader.read(path: path)
    }

    func message(_ body: () throws -> Table) -> String {
        do {
            _ = try body()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test("5 stretches give the table one pass gives: values, series identities in order of first appearance, keys")
    func sameTable() throws {
        Stretch.minimumStretch = 1 << 12
        defer { Stretch.minimumStretch = 8 << 20 }
        let plain = try read(try file(quoted: false)), single = try read(try file(quoted: true))
        #expect(plain.columns[0].count == 20_000)
        let same = plain == single  // compared apart: a failure would print 20,000 rows
        #expect(same)
        #expect(plain.keys == single.keys && plain.keyValues == single.keyValues)
        #expect(plain.keyValues.first == "s1" && plain.keyValues.count == 7)
    }

    @Test("a bad cell, a short record and the drop counts late in the file: the same messages, the same line numbers")
    func sameMessages() throws {
        Stretch.minimumStretch = 1 << 12
        defer { Stretch.minimumStretch = 8 << 20 }
        for tail in ["s9,x,1\r\ns9,1,2\r\n", "s9,1\r\n", "s9,,3\r\ns9,1,2\r\ns9,2,\r\n"] {
            // The messages less the file names (p.csv, q.csv).
            let a = message { try read(try file(quoted: false, tail: tail)) }.split(separator: ":").dropFirst()
            let b = message { try read(try file(quoted: true, tail: tail)) }.split(separator: ":").dropFirst()
            #expect(a == b)
            #expect(a.first == "20002", "\(a)")
        }
        let dropped = try read(try file(quoted: false, tail: "s9,,3\r\ns9,1,2\r\n"), missing: .drop)
        #expect(dropped.columns[0].count == 20_001 && dropped.keyValues.last == "s9")
    }
}
