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
    /// One instruction of the compiled formula, run on a stack (postfix order). A program
    /// rather than a tree: a 100,000-term sum would be a tree 100,000 deep, whose recursive
    /// evaluation and release overflow the stack; a program has no depth.
    enum Op: Sendable, Equatable {
        case number(Double), x
        case negate
        case binary(Character)
        case call(String)
    }

    private let program: [Op]
    /// The source text.
    public let description: String

    static let functions = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh"]
    static let maxDepth = 64

    /// Parses `text`, or throws a message pointing at the offending character.
    public init(_ text: String) throws(DataError) {
        var p = Parser(chars: Array(text), text: text)
        try p.parseExpression(depth: 0)
        p.skipSpace()
        guard p.i == p.chars.count else { throw p.fail("unexpected '\(p.chars[p.i])'") }
        program = p.program
        description = text
    }

    /// The value at x.
    public func evaluate(_ x: Double) -> Double {
        var stack: [Double] = []
        stack.reserveCapacity(16)
        for op in program {
            switch op {
            case let .number(v): stack.append(v)
            case .x: stack.append(x)
            case .negate: stack.append(-(stack.popLast() ?? .nan))
            case let .binary(op):
                let r = stack.popLast() ?? .nan, l = stack.popLast() ?? .nan
                switch op {
                case "+": stack.append(l + r)
                case "-": stack.append(l - r)
                case "*": stack.append(l * r)
                case "/": stack.append(l / r)
                case "%": stack.append(fmod(l, r))
                default: stack.append(pow(l, r))
                }
            case let .call(f):
                let v = stack.popLast() ?? .nan
                switch f {
                case "sin": stack.append(sin(v))
                case "cos": stack.append(cos(v))
                case "tan": stack.append(tan(v))
                case "exp": stack.append(exp(v))
                case "log": stack.append(log(v))
                case "sqrt": stack.append(sqrt(v))
                case "abs": stack.append(abs(v))
                default: stack.append(tanh(v))
                }
            }
        }
        return stack.last ?? .nan
    }

    private struct Parser {
        let chars: [Character]
        let text: String
        var i = 0
        /// The instructions parsed so far, in postfix order.
        var program: [Op] = []

        /// The message for a problem at position `i`; a long formula is quoted around it only.
        func fail(_ m: String) -> DataError {
            let quoted =
                chars.count <= 80
                ? text : (i > 30 ? "…" : "") + String(chars[max(0, i - 30)..<min(chars.count, i + 30)])
                    + (i + 30 < chars.count ? "…" : "")
            return DataError.usage("formula '\(quoted)': \(m) at position \(i + 1)")
        }

        mutating func skipSpace() { while i < chars.count, chars[i] == " " { i += 1 } }

        mutating func peek(_ s: String) -> Bool {
            skipSpace()
            let c = Array(s)
            return i + c.count <= chars.count && Array(chars[i..<i + c.count]) == c
        }

        mutating func parseExpression(depth: Int) throws(DataError) {
            guard depth < Formula.maxDepth else { throw fail("nested too deeply") }
            try parseTerm(depth: depth)
            while true {
                if peek("+") {
                    i += 1
                    try parseTerm(depth: depth)
                    program.append(.binary("+"))
                } else if peek("-") {
                    i += 1
                    try parseTerm(depth: depth)
                    program.append(.binary("-"))
                } else {
                    return
                }
            }
        }

        mutating func parseTerm(depth: Int) throws(DataError) {
            try parseUnary(depth: depth)
            while true {
                if peek("**") { return }
                guard let op = ["*", "/", "%"].first(where: { peek($0) }) else { return }
                i += 1
                try parseUnary(depth: depth)
                program.append(.binary(Character(op)))
            }
        }

        mutating func parseUnary(depth: Int) throws(DataError) {
            guard depth < Formula.maxDepth else { throw fail("nested too deeply") }
            if peek("-") {
                i += 1
                try parseUnary(depth: depth + 1)
                return program.append(.negate)
            }
            if peek("+") {
                i += 1
                return try parseUnary(depth: depth + 1)
            }
            try parseAtom(depth: depth)
            if peek("**") || peek("^") {
                i += peek("**") ? 2 : 1
                try parseUnary(depth: depth + 1)
                program.append(.binary("^"))
            }
        }

        mutating func parseAtom(depth: Int) throws(DataError) {
            skipSpace()
            guard i < chars.count else { throw fail("expression ends too soon") }
            let c = chars[i]
            if c == "(" {
                i += 1
                try parseExpression(depth: depth + 1)
                guard peek(")") else { throw fail("missing ')'") }
                i += 1
                return
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
                return program.append(.number(v))
            }
            if c.isLetter {
                let start = i
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                let name = String(chars[start..<i])
                switch name {
                case "x": return program.append(.x)
                case "pi": return program.append(.number(Double.pi))
                case "e": return program.append(.number(M_E))
                default:
                    guard Formula.functions.contains(name) else {
                        i = start
                        throw fail(
                            "unknown name '\(name)' (use x, pi, e, \(Formula.functions.joined(separator: ", ")))")
                    }
                    guard peek("(") else { throw fail("'\(name)' needs parentheses") }
                    i += 1
                    try parseExpression(depth: depth + 1)
                    guard peek(")") else { throw fail("missing ')'") }
                    i += 1
                    return program.append(.call(name))
                }
            }
            throw fail("unexpected '\(c)'")
        }
    }
}
