// swift-tools-version:6.0
import PackageDescription

/// elman-dist: Elman recurrent networks trained data-parallel over MPI.
///
/// Targets, bottom to top:
/// - `CBLAS`, `CMPI`: system libraries found by pkg-config (OpenBLAS, OpenMPI).
/// - `ElmanCore`: the numerical core (model, BPTT, losses, optimisers). Knows nothing of MPI or files.
/// - `ElmanData`: data sources, normalisation, windows and the global batch order.
/// - `ElmanCheckpoint`: the safetensors format and versioned checkpoints.
/// - `ElmanDistributed`: the `Communicator` abstraction and its MPI implementation.
/// - `ElmanTraining`: the training loop that joins the above.
/// - `elman-dist`: the command-line tool.
let package = Package(
    name: "elman-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "elman-dist", targets: ["elman-dist"]),
        .library(name: "ElmanCore", targets: ["ElmanCore"]),
        .library(name: "ElmanTraining", targets: ["ElmanTraining"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),

        // MARK: Libraries
        .target(name: "ElmanCore", dependencies: ["CBLAS"], swiftSettings: optimised),
        .target(name: "ElmanData", dependencies: ["ElmanCore"], swiftSettings: optimised),
        .target(name: "ElmanCheckpoint", dependencies: ["ElmanCore", "ElmanData"]),
        .target(name: "ElmanDistributed", dependencies: ["CMPI"]),
        .target(
            name: "ElmanTraining",
            dependencies: ["ElmanCore", "ElmanData", "ElmanCheckpoint", "ElmanDistributed"],
            swiftSettings: optimised
        ),

        // MARK: Command-line tool
        .executableTarget(
            name: "elman-dist",
            dependencies: [
                "ElmanTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests (one target per library, plus end-to-end runs of the binary)
        .testTarget(name: "ElmanCoreTests", dependencies: ["ElmanCore", "ElmanCheckpoint"]),
        .testTarget(name: "ElmanDataTests", dependencies: ["ElmanData"]),
        .testTarget(name: "ElmanCheckpointTests", dependencies: ["ElmanCheckpoint"]),
        .testTarget(name: "ElmanTrainingTests", dependencies: ["ElmanTraining"]),
        .testTarget(name: "EndToEndTests", dependencies: ["elman-dist", "ElmanCheckpoint"]),
    ]
)

/// The numerical targets are compiled with optimisation even in debug builds:
/// an unoptimised SIMD activation is a hundred times slower and would make the
/// test suite's training runs crawl.
var optimised: [SwiftSetting] { [.unsafeFlags(["-O"], .when(configuration: .debug))] }
