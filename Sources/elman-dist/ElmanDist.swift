import ArgumentParser
import CProcess
import ElmanCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `elman-dist` command.
@main
struct ElmanDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elman-dist",
        abstract: "Train Elman recurrent networks, alone or data-parallel over MPI.",
        discussion: """
            Same numbers as torch.nn.RNN + torch.nn.Linear; checkpoints are safetensors files \
            with PyTorch's parameter names.

            Quick start:
              elman-dist train --data examples/data/seattle-temps.csv \\
                  --target temp --checkpoint-dir runs/temps
              elman-dist eval --checkpoint runs/temps
              elman-dist predict --checkpoint runs/temps --horizon 24
              mpirun -n 4 elman-dist train ...      (data-parallel, same result)
            """,
        version: "0.1.0",
        subcommands: [
            Train.self, Predict.self, Eval.self, Generate.self, Inspect.self, Export.self, Plot.self, Bench.self,
        ])

    /// Expands `--config FILE` before parsing, and maps every failure to a one-line message.
    static func main() {
        // The numerical core uses AVX2 and FMA on x86_64 (see Package.swift): refuse an older
        // CPU here, before any of its code runs, instead of dying of an illegal instruction.
        guard elman_cpu_supports_core() != 0 else {
            printError(
                "error: this build of elman-dist needs a CPU with AVX2 and FMA; rebuild it with ELMAN_DIST_PORTABLE=1 swift build"
            )
            Glibc.exit(1)
        }
        BLASKernels.restartWithKnownKernels()
        BLASThreads.stopIdlePool()
        // Signals are honoured from here on: before training's loop they end the process at once.
        StopSignal.install()
        do {
            let given = Array(CommandLine.arguments.dropFirst())
            try refuseRepeatedOptions(given)
            let arguments = try ConfigFile.expand(given)
            var command = try parseAsRoot(arguments)
            try command.run()
            try checkStandardOutput()
            // A warning that could not be shown is a failure too: the user never saw it.
            if standardErrorFailed { Glibc.exit(1) }
        } catch let reported as Reported {
            Glibc.exit(reported.code)
        } catch where !isParserError(error) {
            printError("error: " + Diagnostics.message(error))
            Glibc.exit(Diagnostics.exitCode(error))
        } catch {
            // ArgumentParser's own errors: help and version print as usual; usage errors become
            // one line and exit 64 (EX_USAGE); anything else is a one-line failure.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            if code == .validationFailure {
                let first = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                printError("error: " + (first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first))
                Glibc.exit(code.rawValue)
            }
            printError("error: " + Diagnostics.message(error))
            Glibc.exit(1)
        }
    }

    /// Refuses an option given twice on the command line: ArgumentParser keeps the last one
    /// without a word (`--where a=1 --where b=2` would filter on b alone). A `--config` file's
    /// settings may still be overridden by the command line: they are added after this check.
    static func refuseRepeatedOptions(_ arguments: [String]) throws {
        var seen: Set<String> = []
        for token in arguments {
            if token == "--" { break }
            guard token.hasPrefix("--"), token.count > 2 else { continue }
            let name = String(token.split(separator: "=", maxSplits: 1)[0])
            // The options that take one value a time, and may be given once per value.
            guard !repeatable.contains(name) else { continue }
            guard seen.insert(name).inserted else {
                throw ValidationError("\(name) is given twice; give it once (each option takes one value)")
            }
        }
    }

    /// Options that may be given several times (`predict --input x=… --input y=…`).
    static let repeatable: Set<String> = ["--input"]

    /// Whether `error` is ArgumentParser's own (usage, help, version, exit codes), which it renders best.
    private static func isParserError(_ error: Error) -> Bool {
        error is ValidationError || error is CleanExit || error is ExitCode
            || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}
