import Foundation
import ElmanCore
import ElmanData
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
