#if canImport(Glibc)
import Glibc
#endif

/// A formula in one variable x, such as `2*x+1`, `x**2` or `sin(x)/2`, parsed without any shell or eval.
///
/// Grammar (usual precedence, `^` and `**` right-associative):
///
///     expr   := term (('+' | '-') term)*
///     term   := unary (('*' | '/' | '%') unary)*
///     unary  := ('-' | '+') unary | power
///     power  := atom (('^' | '**') unary)?
///     atom   := number | 'x' | 'pi' | 'e' | name '(' expr ')' | '(' expr ')'
///
/// Functions: sin cos tan exp log sqrt abs tanh.
public struct Formula: Sendable, CustomStringConvertible {
    indirect enum Node: Sendable {
        case number(Double), x
        case unary(Character, Node)
        case binary(Character, Node, Node)
        case call(String, Node)
    }

    private let root: Node
    /// The source text.
    public let description: String

    static let functions = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh"]
    static let maxDepth = 64

    /// Parses `text`, or throws a message pointing at the offending character.
    public init(_ text: String) throws(DataError) {
        var p = Parser(chars: Array(text), text: text)
        root = try p.parseExpression(depth: 0)
        p.skipSpace()
        guard p.i == p.chars.count else { throw p.fail("unexpected '\(p.chars[p.i])'") }
        description = text
    }

    /// The value at x.
    public func evaluate(_ x: Double) -> Double { Self.eval(root, x) }

    private static func eval(_ n: Node, _ x: Double) -> Double {
        switch n {
        case let .number(v): return v
        case .x: return x
        case let .unary(_, a): return -eval(a, x)
        case let .binary(op, a, b):
            let l = eval(a, x), r = eval(b, x)
            switch op {
            case "+": return l + r
            case "-": return l - r
            case "*": return l * r
            case "/": return l / r
            case "%": return fmod(l, r)
            default: return pow(l, r)
            }
        case let .call(f, a):
            let v = eval(a, x)
            switch f {
            case "sin": return sin(v)
            case "cos": return cos(v)
            case "tan": return tan(v)
            case "exp": return exp(v)
            case "log": return log(v)
            case "sqrt": return sqrt(v)
            case "abs": return abs(v)
            default: return tanh(v)
            }
        }
    }

    private struct Parser {
        let chars: [Character]
        let text: String
        var i = 0

        func fail(_ m: String) -> DataError { DataError("formula '\(text)': \(m) at position \(i + 1)") }

        mutating func skipSpace() { while i < chars.count, chars[i] == " " { i += 1 } }

        mutating func peek(_ s: String) -> Bool {
            skipSpace()
            let c = Array(s)
            return i + c.count <= chars.count && Array(chars[i..<i + c.count]) == c
        }

        mutating func parseExpression(depth: Int) throws(DataError) -> Node {
            guard depth < Formula.maxDepth else { throw fail("nested too deeply") }
            var lhs = try parseTerm(depth: depth)
            while true {
                if peek("+") {
                    i += 1; lhs = .binary("+", lhs, try parseTerm(depth: depth))
                } else if peek("-") {
                    i += 1; lhs = .binary("-", lhs, try parseTerm(depth: depth))
                } else {
                    return lhs
                }
            }
        }

        mutating func parseTerm(depth: Int) throws(DataError) -> Node {
            var lhs = try parseUnary(depth: depth)
            while true {
                if peek("**") { return lhs }
                if peek("*") {
                    i += 1; lhs = .binary("*", lhs, try parseUnary(depth: depth))
                } else if peek("/") {
                    i += 1; lhs = .binary("/", lhs, try parseUnary(depth: depth))
                } else if peek("%") {
                    i += 1; lhs = .binary("%", lhs, try parseUnary(depth: depth))
                } else {
                    return lhs
                }
            }
        }

        mutating func parseUnary(depth: Int) throws(DataError) -> Node {
            guard depth < Formula.maxDepth else { throw fail("nested too deeply") }
            if peek("-") { i += 1; return .unary("-", try parseUnary(depth: depth + 1)) }
            if peek("+") { i += 1; return try parseUnary(depth: depth + 1) }
            let base = try parseAtom(depth: depth)
            if peek("**") { i += 2; return .binary("^", base, try parseUnary(depth: depth + 1)) }
            if peek("^") { i += 1; return .binary("^", base, try parseUnary(depth: depth + 1)) }
            return base
        }

        mutating func parseAtom(depth: Int) throws(DataError) -> Node {
            skipSpace()
            guard i < chars.count else { throw fail("expression ends too soon") }
            let c = chars[i]
            if c == "(" {
                i += 1
                let e = try parseExpression(depth: depth + 1)
                guard peek(")") else { throw fail("missing ')'") }
                i += 1
                return e
            }
            if c.isNumber || c == "." {
                let start = i
                while i < chars.count, chars[i].isNumber || chars[i] == "." { i += 1 }
                if i < chars.count, chars[i] == "e" || chars[i] == "E",
                    i + 1 < chars.count,
                    chars[i + 1].isNumber
                        || ((chars[i + 1] == "-" || chars[i + 1] == "+") && i + 2 < chars.count
                            && chars[i + 2].isNumber)
                {
                    i += 2
                    while i < chars.count, chars[i].isNumber { i += 1 }
                }
                guard let v = Double(String(chars[start..<i])) else { i = start; throw fail("bad number") }
                return .number(v)
            }
            if c.isLetter {
                let start = i
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                let name = String(chars[start..<i])
                switch name {
                case "x": return .x
                case "pi": return .number(Double.pi)
                case "e": return .number(M_E)
                default:
                    guard Formula.functions.contains(name) else {
                        i = start
                        throw fail(
                            "unknown name '\(name)' (use x, pi, e, \(Formula.functions.joined(separator: ", ")))")
                    }
                    guard peek("(") else { throw fail("'\(name)' needs parentheses") }
                    i += 1
                    let arg = try parseExpression(depth: depth + 1)
                    guard peek(")") else { throw fail("missing ')'") }
                    i += 1
                    return .call(name, arg)
                }
            }
            throw fail("unexpected '\(c)'")
        }
    }
}
