import ElmanData
import Foundation
import TestSupport
import Testing

@Suite("Data sources")
struct SourceTests {
    func temp(_ text: String, _ name: String = "t.csv") throws -> String {
        let url = URL(fileURLWithPath: try Scratch.directory()).appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test("stocks.csv: --where keeps one symbol, text columns are skipped, file order kept")
    func longFormat() throws {
        let path = Fixtures.example("stocks.csv")
        let s = try Series.load(DataOptions(source: .csv(path: path), target: "price", filter: "symbol=AAPL"))
        #expect(s.rowCount == 123)
        #expect(s.target.first == 25.94 && s.target.last == 223.02)
    }

    @Test("a file of several read chunks loads whole, and a bad byte past the first chunk is still found")
    func largeFileReadInChunks() throws {
        // 900,000 rows of ~12 bytes: more than one 8 MB checking chunk and many released stretches.
        let n = 900_000
        var text = "k,v\n"
        text.reserveCapacity(n * 14)
        for k in 0..<n { text += "\(k),\(k).5\n" }
        let path = try temp(text)
        let table = try CSVReader(columns: ["v"]).read(path: path)
        let column = try table.column("v")
        #expect(column.count == n)
        #expect(column.first == 0.5 && column.last == Double(n - 1) + 0.5)
        #expect(column.reduce(0, +) == Double(n) * Double(n - 1) / 2 + Double(n) / 2)

        var bytes = Array(text.utf8)
        bytes[bytes.count - 3] = 0xFF  // in the last row, well past the first 8 MB
        let bad = try temp("")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        #expect(throws: DataError("\(bad): not UTF-8 text")) { try CSVReader(columns: ["v"]).read(path: bad) }
    }

    @Test("seattle-temps.csv loads every row")
    func temps() throws {
        let s = try Series.load(DataOptions(source: .csv(path: Fixtures.example("seattle-temps.csv")), target: "temp"))
        #expect(s.rowCount == 8759)  // the README's count; the file ends without a newline
        #expect(s.target[0] == 39.4)
    }

    @Test("missing and non-numeric values name the file, line and column; drop and ffill handle them")
    func missing() throws {
        let path = try temp("date,v\n1,1.5\n2,\n3,abc\n4,4\n")
        #expect(throws: DataError("\(path):3: missing value in column 'v' (`missing` drop would keep 2 of 4 rows; ffill would repeat the previous value)")) {
            try Series.load(DataOptions(source: .csv(path: path), target: "v"))
        }
        #expect(try Series.load(DataOptions(source: .csv(path: path), target: "v", missing: .drop)).target == [1.5, 4])
        #expect(
            try Series.load(DataOptions(source: .csv(path: path), target: "v", missing: .ffill)).target == [
                1.5, 1.5, 1.5, 4,
            ])
        #expect(throws: DataError("\(path): no column 'w' (columns: date, v)")) {
            try Series.load(DataOptions(source: .csv(path: path), target: "w"))
        }
        #expect(throws: DataError("\(path): no rows with date=9 (values seen: 1, 2, 3, 4)")) {
            try Series.load(DataOptions(source: .csv(path: path), target: "v", filter: "date=9", missing: .drop))
        }
    }

    @Test("quoted fields, CRLF and a byte-order mark are read")
    func quoting() throws {
        let path = try temp("\u{FEFF}name,value\r\n\"a, b\",1\r\n\"say \"\"hi\"\"\",2\r\n")
        #expect(try Series.load(DataOptions(source: .csv(path: path), target: "value")).target == [1, 2])
    }

    @Test(
        "formulas evaluate with the usual precedence and reject anything else",
        arguments: [
            ("2*x+1", 3.0, 7.0), ("x**2", 3, 9), ("-x^2", 3, -9), ("2^3^2", 0, 512), ("sin(pi/2)*x", 2, 2),
            ("(x+1)*(x-1)", 4, 15), ("1.5e1 + x % 2", 3, 16), ("sqrt(abs(-x))", 16, 4),
        ])
    func formulas(_ text: String, _ x: Double, _ expected: Double) throws {
        #expect(abs(try Formula(text).evaluate(x) - expected) < 1e-12)
    }

    @Test(
        "bad formulas say where",
        arguments: [
            (
                "2*y",
                "formula '2*y': unknown name 'y' (use x, pi, e, sin, cos, tan, exp, log, sqrt, abs, tanh) at position 3"
            ),
            ("(x+1", "formula '(x+1': missing ')' at position 5"),
            ("x+", "formula 'x+': expression ends too soon at position 3"),
            (
                "system(x)",
                "formula 'system(x)': unknown name 'system' (use x, pi, e, sin, cos, tan, exp, log, sqrt, abs, tanh) at position 1"
            ),
        ])
    func badFormulas(_ text: String, _ message: String) {
        #expect(throws: DataError.usage(message)) { try Formula(text) }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func deepFormula() {
        #expect(throws: DataError.self) { try Formula(String(repeating: "(", count: 100_000) + "x") }
        #expect(throws: DataError.self) { try Formula(String(repeating: "-", count: 100_000) + "x") }
    }

    @Test("text becomes character classes over a sorted vocabulary")
    func text() throws {
        let path = try temp("abca", "t.txt")
        let s = try Series.load(DataOptions(source: try DataSpec(parsing: path)))
        #expect(s.vocabulary == ["a", "b", "c"])
        #expect(s.classes == .narrow([0, 1, 2, 0]) && s.rowCount == 4)
        let d = try WindowedDataset(series: s, seqLen: 2, validationFraction: 0, scaling: .fit(.zscore))
        var x = [Float](repeating: 9, count: 6), y = [Float](repeating: 9, count: 2)
        d.fill(windows: [1], everyStep: true, x: &x, y: &y)
        #expect(x == [0, 1, 0, 0, 0, 1])
        #expect(y == [2, 0])
    }
}
