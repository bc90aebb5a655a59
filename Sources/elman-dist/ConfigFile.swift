import ElmanFiles
import TOMLKit

/// `--config FILE.toml`: a TOML file whose keys are `train`'s long flag names.
///
///     data = "examples/data/seattle-temps.csv"
///     target = "temp"
///     hidden = 64
///     features = ["temp", "hour"]   # arrays become comma-separated values
///     shuffle = false               # booleans become --flag / --no-flag
///
/// Keys may use `-` or `_`. The file's settings are placed before the command line's, so
/// flags override the file. Tables, dates and nested arrays are refused: a run's settings
/// are one flat list.
enum ConfigFile {

    /// Replaces `--config FILE` in `arguments` by the file's settings, put right after the subcommand.
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let i = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else {
            return arguments
        }
        var args = arguments
        let path: String
        if args[i].hasPrefix("--config=") {
            path = String(args[i].dropFirst("--config=".count))
            args.remove(at: i)
        } else {
            guard i + 1 < args.count else { throw CommandFailure(usage: "--config needs a file") }
            path = args[i + 1]
            args.removeSubrange(i...i + 1)
        }
        let text: String
        do { text = try Files.readText(path, limit: 1 << 20) } catch {
            throw CommandFailure(usage: "config file \(error)")
        }
        let settings = try parse(text, name: path)
        guard args.first == "train" else { throw CommandFailure(usage: "--config is for train") }
        // The file's settings first (the command line's win), and the file itself, which the
        // run then knows as one of its inputs (no output may replace it).
        args.insert(contentsOf: settings + ["--config=" + path], at: 1)
        return args
    }

    /// The file's settings as command-line arguments (TOML keys are unique, so their order does not matter).
    static func parse(_ text: String, name: String) throws -> [String] {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw CommandFailure(usage: "\(name):\(e.source.begin.line): \(e.description)")
        } catch {
            throw CommandFailure(usage: "\(name): \(error)")
        }
        var out: [String] = []
        for (rawKey, value) in table {
            let key = rawKey.replacingOccurrences(of: "_", with: "-")
            func fail(_ problem: String) -> CommandFailure { CommandFailure(usage: "\(name): key '\(rawKey)' \(problem)") }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw fail("is not a flag name")
            }
            if key == "config" { throw fail("cannot name another config file") }
            switch value.type {
            case .bool: out.append((value.bool ?? false) ? "--" + key : "--no-" + key)
            case .int: out += ["--" + key, String(value.int ?? 0)]
            case .double: out += ["--" + key, String(value.double ?? 0)]
            case .string: out += ["--" + key, value.string ?? ""]
            case .array:
                var items: [String] = []
                for item in value.array ?? TOMLArray() {
                    switch item.type {
                    case .string: items.append(item.string ?? "")
                    case .int: items.append(String(item.int ?? 0))
                    case .double: items.append(String(item.double ?? 0))
                    default: throw fail("holds an array of \(item.type); only strings and numbers are allowed")
                    }
                }
                out += ["--" + key, items.joined(separator: ",")]
            default:
                throw fail("is a \(value.type); settings are strings, numbers, booleans or arrays")
            }
        }
        return out
    }
}
