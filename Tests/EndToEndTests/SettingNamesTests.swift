import ElmanRun
import Foundation
import Testing

/// The names libraries write in backticks inside their messages are settings the tool renders
/// as flags; a misspelt one would reach the user as code.
@Suite("Setting names in messages")
struct SettingNamesTests {
    @Test("every name a library message writes in backticks is a row of the option table or a known setting")
    func namesAreSettings() throws {
        let sources = Harness.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasPrefix("elman-dist/") } ?? []
        #expect(files.count > 20)
        let literal = try Regex(#""(?:[^"\\]|\\.)*""#), name = try Regex("`([A-Za-z]+)`")
        var unknown: [String] = []
        var seen = 0
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for string in line.matches(of: literal) {
                    for match in string.output[0].substring?.matches(of: name) ?? [] {
                        let n = String(match.output[1].substring ?? "")
                        seen += 1
                        if OptionTable.field(n) == nil && !OptionTable.otherSettings.contains(n) { unknown.append("\(file): \(n)") }
                    }
                }
            }
        }
        #expect(seen > 30, "found only \(seen) setting names: the scan is broken")
        #expect(unknown.isEmpty, "names that are no setting: \(unknown)")
    }
}
