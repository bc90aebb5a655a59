#!/usr/bin/env bash
# Installs what is missing and runs every test: unit, PyTorch fixtures, fuzzing, and
# end-to-end runs of the binary alone and under mpirun with 1–4 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install-deps.sh
# mpirun refuses root without these; the tests run it as the current user either way.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build --build-tests
log=$(mktemp)
# Every test is a Swift Testing test; XCTest would only report an empty run.
swift test --skip-build --disable-xctest "$@" 2>&1 | tee "$log"
# One closing line with the counts (swift test has already failed this script otherwise).
passed=$(grep -oE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' "$log" | grep -oE '[0-9]+' | head -1 || true)
echo "tests: ${passed:-0} passed, 0 failed"
