import Foundation

/// `--config FILE.toml`: a flat TOML file whose keys are the long flag names of `train`.
///
///     data = "examples/data/seattle-temps.csv"
///     target = "temp"
///     hidden = 64
///     shuffle = false        # booleans become --flag / --no-flag
///
/// The file's settings are placed before the command line's, so flags override the file.
enum ConfigFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Replaces `--config FILE` in `arguments` by the file's settings, put right after the subcommand.
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let i = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return arguments }
        var args = arguments
        let path: String
        if args[i].hasPrefix("--config=") {
            path = String(args[i].dropFirst("--config=".count))
            args.remove(at: i)
        } else {
            guard i + 1 < args.count else { throw Failure(description: "--config needs a file") }
            path = args[i + 1]
            args.removeSubrange(i ... i + 1)
        }
        let settings = try parse(path: path)
        let insertAt = args.first == "train" ? 1 : 0
        args.insert(contentsOf: settings, at: insertAt)
        return args
    }

    /// The file's settings as command-line arguments.
    static func parse(path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read config file") }
        guard let text = String(data: data, encoding: .utf8) else { throw Failure(description: "\(path): not UTF-8 text") }
        return try parse(text, name: path)
    }

    static func parse(_ text: String, name: String) throws -> [String] {
        var out: [String] = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            func fail(_ m: String) -> Failure { Failure(description: "\(name):\(n + 1): \(m)") }
            if line.hasPrefix("[") { throw fail("tables are not supported; keys are train's flag names at the top level") }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected 'key = value'") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "-")
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw fail("invalid key '\(key)'") }
            if key == "config" { throw fail("a config file cannot name another") }
            switch value {
            case "true": out.append("--" + key)
            case "false": out.append("--no-" + key)
            default:
                if value.hasPrefix("\"") {
                    guard value.count >= 2, value.hasSuffix("\"") else { throw fail("unterminated string") }
                    let inner = String(value.dropFirst().dropLast())
                    out += ["--" + key, inner.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")]
                } else if value.hasPrefix("'") {
                    guard value.count >= 2, value.hasSuffix("'") else { throw fail("unterminated string") }
                    out += ["--" + key, String(value.dropFirst().dropLast())]
                } else if value.hasPrefix("[") {
                    guard value.hasSuffix("]") else { throw fail("unterminated array") }
                    let items = value.dropFirst().dropLast().split(separator: ",").map {
                        $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                    }
                    out += ["--" + key, items.joined(separator: ",")]
                } else {
                    guard Double(value.replacingOccurrences(of: "_", with: "")) != nil else { throw fail("value '\(value)' is not a number, boolean or quoted string") }
                    out += ["--" + key, value.replacingOccurrences(of: "_", with: "")]
                }
            }
        }
        return out
    }

    /// Drops a `#` comment that is not inside a string.
    private static func stripComment(_ line: String) -> String {
        var quote: Character? = nil
        for (i, c) in zip(line.indices, line) {
            if let q = quote { if c == q { quote = nil } } else if c == "\"" || c == "'" { quote = c } else if c == "#" { return String(line[..<i]) }
        }
        return line
    }
}
