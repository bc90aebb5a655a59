import ArgumentParser
import ElmanCheckpoint
import ElmanData
import ElmanDistributed
import ElmanFiles
import ElmanRun

/// The one place where errors become the line a user reads.
///
/// Libraries name settings as the option table does, in backticks (`` `seqLen` ``); here each
/// that is a setting (a row, or one of `OptionTable.otherSettings`) becomes the flag that sets
/// it (`--seq-len`). `SettingNamesTests` checks that every name the libraries write is one.
/// Errors that wrap another keep it, and the wrapped one is rendered the same way.
enum Diagnostics {
    /// The one-line message for `error`, without the "error: " prefix.
    static func message(_ error: any Error) -> String {
        let text: String
        switch error {
        case let e as AgreedFailure: text = message(e.underlying)
        case let e as RunError: text = e.message
        default: text = "\(error)"
        }
        return flags(in: firstLine(text))
    }

    /// The exit status for `error`: 64 (EX_USAGE) when it is about what the user asked for
    /// (a flag's value, a missing or contradictory setting), 1 otherwise.
    static func exitCode(_ error: any Error) -> Int32 {
        switch error {
        case let e as AgreedFailure: exitCode(e.underlying)
        case let e as RunError: e.isUsage ? 64 : 1
        case let e as DataError: e.isUsage ? 64 : 1
        case let e as CommandFailure: e.isUsage ? 64 : 1
        case is ValidationError: 64
        default: 1
        }
    }

    /// Replaces every `` `name` `` by `--kebab-name`.
    static func flags(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "`") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "`") else {
                rest = rest[open...]
                break
            }
            let name = String(after[..<close])
            out += isSetting(name) ? flag(name) : "`\(name)`"
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }

    /// Whether `name` is a setting: a row of the option table or one of the settings messages
    /// may name besides (`OptionTable.otherSettings`). Nothing else is rewritten.
    static func isSetting(_ name: String) -> Bool {
        OptionTable.field(name) != nil || OptionTable.otherSettings.contains(name)
    }

    /// The flag of a setting: `seqLen` → `--seq-len`.
    static func flag(_ name: String) -> String {
        "--"
            + name.reduce(into: "") { out, c in
                if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
            }
    }

    private static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }
}
