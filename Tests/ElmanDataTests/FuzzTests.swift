import Foundation
import ElmanCore
@testable import ElmanData
import TestSupport
import Testing

/// Seeded random mutations of real inputs: the readers must answer or refuse, never crash or hang.
@Suite("Fuzzing")
struct FuzzTests {
    static let seedCSV = "date,price,symbol\n2010/01/01,\"1,5\",A\n2010/01/02,2.5,A\n2010/01/03,,B\n\"x\"\"y\",3,A\r\n"
    static let alphabet = Array(",\"\n\r0123456789.-eE ab;NA\u{FEFF}é")

    func mutate(_ s: String, _ rng: inout SeededGenerator) -> String {
        var c = Array(s)
        for _ in 0..<1 + rng.nextInt(below: 6) {
            switch rng.nextInt(below: 4) {
            case 0 where !c.isEmpty: c.remove(at: rng.nextInt(below: c.count))
            case 1:
                c.insert(Self.alphabet[rng.nextInt(below: Self.alphabet.count)], at: rng.nextInt(below: c.count + 1))
            case 2 where !c.isEmpty:
                c[rng.nextInt(below: c.count)] = Self.alphabet[rng.nextInt(below: Self.alphabet.count)]
            default:
                let i = rng.nextInt(below: c.count + 1)
                c.insert(contentsOf: c[i...].prefix(12), at: i)
            }
        }
        return String(c)
    }

    @Test("the CSV fast path for plain decimals gives Swift's own parse bit for bit, and declines the rest")
    func plainDecimalsMatchSwift() {
        var rng = SeededGenerator(seed: 21)
        let characters = Array("0123456789")
        var accepted = 0
        for n in 0..<fuzzIterations(200_000) {
            // Mostly plain decimals of 1–17 digits; every tenth gets a character from the edges.
            var text = rng.nextInt(below: 3) == 0 ? "-" : (rng.nextInt(below: 8) == 0 ? "+" : "")
            let digits = 1 + rng.nextInt(below: 17), point = rng.nextInt(below: digits + 2)
            for d in 0..<digits {
                if d == point { text += "." }
                text.append(characters[rng.nextInt(below: 10)])
            }
            if n % 10 == 0 {
                let edge = Array(".eE+- x\u{0}")
                text.insert(
                    edge[rng.nextInt(below: edge.count)],
                    at: text.index(text.startIndex, offsetBy: rng.nextInt(below: text.count + 1)))
            }
            let fast = Array(text.utf8).withUnsafeBufferPointer { CSVReader.plainDecimal($0) }
            guard let fast else { continue }
            accepted += 1
            let swift: Double? = Double(text)
            let same = swift?.bitPattern == fast.bitPattern
            #expect(same, "\(text): fast \(fast), Swift \(String(describing: swift))")
            if !same { return }
        }
        #expect(accepted > fuzzIterations(200_000) / 2, "the fast path took only \(accepted)")
        for declined in ["", "-", ".5", "5.", "1e5", "1.2.3", "0x10", "nan", "1234567890123456", " 1"] {
            #expect(Array(declined.utf8).withUnsafeBufferPointer { CSVReader.plainDecimal($0) } == nil, "\(declined)")
        }
    }

    @Test("CSV: 5000 mutations, each parsed or refused with a message")
    func csv() {
        var rng = SeededGenerator(seed: 42)
        var accepted = 0
        for _ in 0..<fuzzIterations(5000) {
            let text = mutate(Self.seedCSV, &rng)
            for policy in MissingPolicy.allCases {
                let reader = CSVReader(
                    columns: ["price"], filter: rng.nextInt(below: 2) == 0 ? ("symbol", "A") : nil, missing: policy)
                switch Result(catching: { () throws(DataError) -> Table in try reader.parse(text, name: "fuzz.csv") }) {
                case let .success(t):
                    #expect(t.columns[0].allSatisfy { $0.isFinite })
                    accepted += 1
                case let .failure(error):
                    #expect(!error.message.isEmpty && !error.message.contains("\n"))
                }
            }
        }
        #expect(accepted > 0)
    }

    @Test(
        "formulas: 5000 mutations, each parsed (and evaluated the same twice) or refused with a one-line message naming it"
    )
    func formulas() {
        var rng = SeededGenerator(seed: 7)
        let seeds = ["2*x+1", "sin(x)**2 - cos(x/2)", "-(x^2)%3 + exp(-x)", "sqrt(abs(x)) * pi"]
        var parsed = 0, refused = 0
        for k in 0..<fuzzIterations(5000) {
            var s = Array(seeds[k % seeds.count])
            for _ in 0..<1 + rng.nextInt(below: 4) {
                let ops = Array("()+-*/^%x.e 9sincoqrtabp")
                let i = rng.nextInt(below: s.count + 1)
                if rng.nextInt(below: 2) == 0 || s.isEmpty {
                    s.insert(ops[rng.nextInt(below: ops.count)], at: i)
                } else {
                    s.remove(at: min(i, s.count - 1))
                }
            }
            let text = String(s)
            switch Result(catching: { () throws(DataError) -> Formula in try Formula(text) }) {
            case let .success(f):
                parsed += 1
                // A parsed formula is a pure function of x: the same bits every time.
                #expect(f.evaluate(1.5).bitPattern == f.evaluate(1.5).bitPattern || f.evaluate(1.5).isNaN)
            case let .failure(error):
                refused += 1
                #expect(
                    error.message.hasPrefix("formula '\(text)': ") && !error.message.contains("\n"), "\(error.message)")
            }
        }
        // Both outcomes occur, so neither branch above went unchecked.
        #expect(parsed > 0 && refused > 0)
    }
}
